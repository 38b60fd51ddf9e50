"""Writing presets: atomic, never overwriting, safe against concurrent exports.

Layout: ``<root>/<model>/<task>/v<version>.json``. A version is claimed with ``os.link``
of a fully written, fsynced temp file onto the final name: the link either creates the
file whole or fails because the version exists, in which case the next one is tried. So
two racing exports produce two versions, a reader never sees a half-written file, and a
published version is never rewritten.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from sra_search.presets.read import PresetFormatError, read_preset
from sra_search.presets.schema import Preset, check_name

# Matched in full (fullmatch): "$" alone also accepts a name ending in a newline.
_VERSION_FILE = re.compile(r"v([1-9][0-9]{0,8})\.json")


class PresetWriteError(OSError):
    """A preset could not be written; nothing was published."""


def preset_dir(root: Path, model: str, task: str) -> Path:
    """``root/model/task``, refusing names that could leave ``root``."""
    check_name("model name", model)
    check_name("task name", task)
    root = Path(root).resolve()
    d = (root / model / task).resolve()
    if root not in d.parents:
        raise ValueError(f"preset path {d} escapes the registry directory {root}")
    return d


def inside(root: Path, path: Path) -> bool:
    """``path`` is really in the registry ``root``: not a symbolic link, and resolving inside it.
    A link (to a file or a directory) could make the registry serve a file from anywhere."""
    try:
        return not path.is_symlink() and path.resolve().is_relative_to(Path(root).resolve())
    except OSError:
        return False


def versions(directory: Path) -> list[int]:
    """Published versions in a ``model/task`` directory, ascending: regular files only, never a
    link (see :func:`inside`)."""
    if not directory.is_dir() or directory.is_symlink():
        return []
    return sorted(
        int(m.group(1)) for p in directory.iterdir()
        if (m := _VERSION_FILE.fullmatch(p.name)) and p.is_file() and inside(directory, p)
    )  # fmt: skip


def dumps(preset: Preset) -> str:
    """The canonical text of a preset: field order of the schema, two-space indent, newline."""
    return json.dumps(preset.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# Fields that differ between two exports of the same measurement: which version it became,
# and when, from which commit and which trial numbers it was made.
_BOOKKEEPING = {"version", "provenance"}


def latest_if_same(preset: Preset, root: Path) -> tuple[Preset, Path] | None:
    """The latest published version of ``preset``'s model and task if it records the same
    measurement (model, task, buckets with their configs, evaluations and metrics, notes),
    else ``None``. Lets a re-run export say "unchanged" instead of adding a copy."""
    directory = preset_dir(root, preset.model.name, preset.task.name)
    found = versions(directory)
    if not found:
        return None
    path = directory / f"v{found[-1]}.json"
    try:
        latest = read_preset(path)
    except PresetFormatError:  # an unreadable latest file is not "the same"; publishing adds a good one
        return None
    if latest.model_dump(mode="json", exclude=_BOOKKEEPING) == preset.model_dump(mode="json", exclude=_BOOKKEEPING):
        return latest, path
    return None


def publish(preset: Preset, root: Path, max_attempts: int = 50) -> tuple[Preset, Path]:
    """Write ``preset`` under the next free version (its own ``version`` field is replaced).

    Returns the preset as published and its path. Raises :class:`PresetWriteError` when the
    directory is not writable or the disk is full; then nothing is left behind.
    """
    directory = preset_dir(root, preset.model.name, preset.task.name)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PresetWriteError(f"cannot create preset directory {directory}: {e.strerror or e}") from e
    for _ in range(max_attempts):
        version = (versions(directory) or [0])[-1] + 1
        candidate = preset.model_copy(update={"version": version})
        candidate = Preset.model_validate(candidate.model_dump())  # re-validate the final object
        final = directory / f"v{version}.json"
        tmp_name = None
        try:
            with tempfile.NamedTemporaryFile(
                "w", dir=directory, prefix=f".v{version}.", suffix=".tmp", delete=False, encoding="utf-8"
            ) as f:
                tmp_name = f.name
                f.write(dumps(candidate))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp_name, 0o444)
            os.link(tmp_name, final)  # atomic claim; fails if the version exists
        except FileExistsError:
            continue  # another export took this version: try the next
        except OSError as e:
            raise PresetWriteError(f"cannot write preset to {directory}: {e.strerror or e}") from e
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass
        _fsync_dir(directory)
        return candidate, final
    raise PresetWriteError(f"could not claim a version in {directory} after {max_attempts} attempts")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
