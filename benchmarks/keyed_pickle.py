"""The benchmarks' on-disk caches: a pickle holding a key (what its contents depend on, as plain
JSON) beside its payload, refused when read for another key, and written atomically (a
temporary file renamed over the old one), so a run stopped mid-write never leaves half a cache.
``heldout_scores.HeldOut`` (``--heldout-cache``) and ``case_signal.SignalCache`` (``--cache``) keep theirs so."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any


def normalised(key: dict[str, Any]) -> dict[str, Any]:
    """``key`` as it reads back from a file (JSON types: tuples become lists, keys strings)."""
    return json.loads(json.dumps(key))


def read_doc(path: Path) -> dict[str, Any]:
    """The whole document of a cache file: ``{"key": ..., **payload}``."""
    return pickle.loads(path.read_bytes())


def read(path: Path, key: dict[str, Any], option: str, what: str) -> dict[str, Any] | None:
    """The payload cached at ``path`` for ``key`` (``None`` if there is no file); a file for another
    key is refused naming ``option`` (the flag that gave the path) and ``what`` it holds."""
    if not path.is_file():
        return None
    doc = read_doc(path)
    want = normalised(key)
    if doc.get("key") != want:
        raise SystemExit(f"{option} {path}: it holds {what} of {doc.get('key')}, not of this run's {want}; give another file")
    return doc


def write(path: Path, key: dict[str, Any], **payload: Any) -> None:
    """Write ``payload`` under ``key`` to ``path`` atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(pickle.dumps({"key": normalised(key), **payload}))
    tmp.replace(path)
