"""The export attempts of one (model, task): which held-out cases each one looked at.

An export re-scores configs on held-out cases and publishes only what passes the gate. Trying
again with other studies or settings on the *same* cases until something passes would turn the
gate into a search over held-out data. So every attempt is recorded in
``<root>/<model>/<task>/attempts.json`` next to the preset versions, with the held-out case offset
it was given, and a new attempt starts past every case an earlier one used (its own, the unseen
template's, and those of versions published before the ledger existed). The same plan exported
again (same studies, trials, settings) is the same attempt: it gets the same cases, measures the
same thing and, through the store's ``latest_if_same``, writes nothing new.

The file is rewritten whole (temp file, fsync, rename) under an exclusive lock on the directory,
so concurrent exports get distinct attempts and a crash never leaves half a ledger.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sra_search.presets.read import PresetFormatError, read_preset
from sra_search.presets.store import PresetWriteError, versions

LEDGER = "attempts.json"


class Attempt(BaseModel):
    """One export attempt: its number, what it planned, and the held-out cases it may use."""

    model_config = ConfigDict(extra="forbid")

    attempt: int = Field(ge=1, description="1 for the first attempt of this model and task.")
    plan: str = Field(min_length=1, max_length=128, description="Hash of the studies, trials and export settings.")
    holdout_offset: int = Field(ge=0, description="First held-out case index at each length.")
    holdout_span: int = Field(ge=1, description="Held-out cases per length this attempt may use.")
    transfer_offset: int = Field(ge=0, description="First unseen-template case index at each length.")
    transfer_span: int = Field(ge=0)
    started: datetime
    outcome: str = Field(default="started", max_length=2000, description="What the attempt published, or why not.")
    version: int | None = Field(default=None, ge=1, description="The preset version it published or found unchanged.")


class _Ledger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attempts: list[Attempt] = Field(default_factory=list)


class LedgerError(ValueError):
    """The attempts file exists but cannot be read; export refuses rather than re-use cases."""


def read_attempts(directory: Path) -> list[Attempt]:
    """The recorded attempts in a ``model/task`` directory (empty when there is no ledger)."""
    path = Path(directory) / LEDGER
    if not path.exists():
        return []
    try:
        return _Ledger.model_validate_json(path.read_text()).attempts
    except (OSError, ValueError, ValidationError) as e:
        raise LedgerError(
            f"{path}: cannot read the export attempts ({str(e).splitlines()[0]}); restore it from version control "
            f"rather than delete it: without it a new attempt could re-use held-out cases"
        ) from None


def _unrecorded_floor(directory: Path, recorded: list[Attempt]) -> tuple[int, int, int]:
    """Published versions no attempt records (exported before the ledger): their count and the
    first held-out and unseen-template case index past what they used."""
    known = {a.version for a in recorded}
    count, holdout, transfer = 0, 0, 0
    for v in versions(directory):
        try:
            preset = read_preset(directory / f"v{v}.json")
        except PresetFormatError:
            continue
        if v not in known:
            count += 1
        for b in preset.buckets:
            holdout = max(holdout, b.evaluation.offset + b.evaluation.n_cases)
            if b.transfer is not None:
                per = -(-b.transfer.n_cases // max(1, len(b.transfer.lengths)))
                transfer = max(transfer, b.transfer.offset + per)
    return count, holdout, transfer


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write(directory: Path, attempts: list[Attempt]) -> None:
    text = _Ledger(attempts=attempts).model_dump_json(indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".attempts.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; the ledger of a shared registry is read by whoever exports
        # next, so it gets the mode of the preset files beside it (readable by all).
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / LEDGER)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise PresetWriteError(f"cannot record the export attempt in {directory / LEDGER}: {e.strerror or e}") from e


def begin_attempt(directory: Path, plan: str, holdout_span: int, transfer_span: int) -> tuple[Attempt, bool]:
    """The attempt for ``plan``: the recorded one if this plan was exported before (``True``),
    else a new one, recorded before any case is measured, whose cases start past every case an
    earlier attempt or published version used (``False``)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PresetWriteError(f"cannot create preset directory {directory}: {e.strerror or e}") from e
    with _locked(directory):
        recorded = read_attempts(directory)
        for a in recorded:
            if a.plan == plan:
                return a, True
        unrecorded, holdout, transfer = _unrecorded_floor(directory, recorded)
        for a in recorded:
            holdout = max(holdout, a.holdout_offset + a.holdout_span)
            transfer = max(transfer, a.transfer_offset + a.transfer_span)
        new = Attempt(
            attempt=len(recorded) + unrecorded + 1, plan=plan, holdout_offset=holdout, holdout_span=max(1, holdout_span),
            transfer_offset=transfer, transfer_span=max(0, transfer_span),
            started=datetime.now(timezone.utc).replace(microsecond=0),
        )  # fmt: skip
        _write(directory, [*recorded, new])
        return new, False


def finish_attempt(directory: Path, attempt: int, outcome: str, version: int | None = None) -> None:
    """Record what ``attempt`` ended with: the version it published (or found unchanged), or why none."""
    directory = Path(directory)
    with _locked(directory):
        recorded = read_attempts(directory)
        updated = [a.model_copy(update={"outcome": outcome, "version": version}) if a.attempt == attempt else a for a in recorded]
        _write(directory, updated)
