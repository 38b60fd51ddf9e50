"""What an export will measure, decided before any case is scored: the studies as length buckets,
their candidate trials, the settings, and the plan's hash (the attempt's identity in
``presets/attempts.py``: the same plan again is the same attempt, on the same held-out cases)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sra_search.search.results import feasible_ranked
from sra_search.search.storage.attrs import CONFIG
from sra_search.search.studyfile.schema import StudyFile, load_study_file
from sra_search.urls import redact_url


class ExportError(ValueError):
    """The studies cannot make one preset (mixed models or tasks, no feasible trial, ...)."""


@dataclass(frozen=True)
class ExportSettings:
    """The export's options that shape what is measured (``sra-search export --help``)."""

    min_gain: float
    candidates: int
    alpha: float
    holdout_cases: int
    n_lengths: int
    range_cases: int
    transfer_cases: int
    refine: int

    def check(self) -> None:
        if not 0 < self.alpha < 1:
            raise ExportError(f"--alpha must lie strictly between 0 and 1, got {self.alpha}")
        if self.holdout_cases < 1 or self.n_lengths < 1:
            raise ExportError("--holdout-cases and --lengths must be at least 1")
        if self.refine < 0:
            raise ExportError(f"--refine must be 0 or more, got {self.refine}")


@dataclass
class BucketPlan:
    """One study as one length bucket ``[lo, hi]`` and the trials export re-scores for it."""

    spec: StudyFile
    lo: int
    hi: int
    trials: list[Any]  # optuna FrozenTrial, best first
    storage_url: str  # password removed


@dataclass
class ExportPlan:
    model: str
    task: str
    buckets: list[BucketPlan]
    settings: ExportSettings

    def key(self) -> str:
        """The plan's hash: studies (definition and bucket), their candidate trials and configs, settings."""
        doc = {
            "model": self.model, "task": self.task, "settings": self._settings_doc(),
            "buckets": [
                {"study": b.spec.name, "definition": b.spec.definition_hash(), "lo": b.lo, "hi": b.hi,
                 "trials": [[t.number, CONFIG.get(t)] for t in b.trials]}
                for b in self.buckets
            ],
        }  # fmt: skip
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def _settings_doc(self) -> dict:
        # refine joined the settings later: left out at 0 so plans made before it keep their hash
        doc = asdict(self.settings)
        if not doc["refine"]:
            del doc["refine"]
        return doc


def _candidates(study, k: int) -> list:
    """The ``k`` best COMPLETE feasible trials of a single-objective study."""
    if len(study.directions) != 1:
        raise ExportError(f"study {study.study_name} has several objectives; export takes single-objective studies")
    return feasible_ranked(study, need_config=True)[:k]


def plan_export(study_files: list[str | Path], settings: ExportSettings, storage: str | None = None) -> ExportPlan:
    """Read the study files and their stored studies (nothing is scored, no model loads)."""
    import optuna

    from sra_search.search.storage.rdb import open_storage

    settings.check()
    specs = [load_study_file(f) for f in study_files]
    models = {s.model for s in specs}
    tasks = {(s.tasks[0].name) for s in specs}
    if len(models) != 1:
        raise ExportError(f"the studies use different models ({', '.join(sorted(models))}); one preset is one model")
    if any(len(s.tasks) != 1 for s in specs) or len(tasks) != 1:
        raise ExportError("one preset is one task: give studies with exactly one and the same task")
    lengths = []
    for s in specs:
        length = s.tasks[0].params.get("length")
        if not isinstance(length, int):
            raise ExportError(f"study {s.name}: tasks[0].params.length is needed to place its length bucket")
        lengths.append(length)
    if len(set(lengths)) != len(lengths):
        raise ExportError(f"two studies target the same length ({sorted(lengths)}); one study per bucket")
    order = sorted(range(len(specs)), key=lambda i: lengths[i])
    # Every storage is opened (read only: a mistyped SQLite path is refused) before anything is measured.
    storages = {i: open_storage(specs[i].storage_url(storage)) for i in order}
    buckets, lo = [], 0
    for i in order:
        spec, url = specs[i], specs[i].storage_url(storage)
        try:
            study = optuna.load_study(study_name=spec.name, storage=storages[i])
        except KeyError:
            raise ExportError(f"no study named {spec.name!r} in {redact_url(url)}; run `sra-search run` first") from None
        buckets.append(BucketPlan(spec, lo, lengths[i], _candidates(study, settings.candidates), redact_url(url)))
        lo = lengths[i] + 1
    return ExportPlan(specs[0].model, specs[0].tasks[0].name, buckets, settings)
