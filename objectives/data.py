"""Loading records and text from a local file (JSONL, JSON, parquet, text) or a hub data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from objectives.errors import ObjectiveError

SUFFIXES = (".jsonl", ".json", ".parquet", ".txt")


def _read_file(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                data = data["data"]
            if not isinstance(data, list):
                raise ObjectiveError(f"parameter 'data': {path} holds no list of records")
            return data
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
    except (json.JSONDecodeError, OSError, ValueError) as exc:
        if isinstance(exc, ObjectiveError):
            raise
        raise ObjectiveError(f"parameter 'data': cannot read {path}: {exc}") from None
    raise ObjectiveError(f"parameter 'data': unsupported file type '{suffix}' (use one of {', '.join(SUFFIXES)})")


def _looks_like_hub_id(source: str) -> bool:
    return source.count("/") == 1 and not source.startswith((".", "/", "~")) and not Path(source).suffix


def _load_hub(source: str, config: str | None, split: str) -> list[dict[str, Any]]:
    from sra_search.extras import require

    require("tasks", "datasets", what=f"loading the hub data set '{source}'")
    try:
        import datasets

        ds = datasets.load_dataset(source, config, split=split)
    except Exception as exc:  # noqa: BLE001 - any failure (offline, unknown id) is a user-facing error
        raise ObjectiveError(
            f"parameter 'data': cannot load hub data set '{source}' (config={config!r}, split={split!r}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    return [dict(r) for r in ds]


def load_records(source: str, *, subset: str | None = None, hub_split: str = "test") -> list[dict[str, Any]]:
    """Records of ``source``: a file, a directory holding ``<subset>.jsonl``/``.parquet``, or a hub id."""
    path = Path(source).expanduser()
    if path.is_dir():
        if subset is None:
            raise ObjectiveError(f"parameter 'data': {path} is a directory; name a file")
        for suffix in (".jsonl", ".parquet", ".json"):
            if (path / f"{subset}{suffix}").is_file():
                return _read_file(path / f"{subset}{suffix}")
        raise ObjectiveError(f"parameter 'data': no {subset}.jsonl / .parquet / .json in {path}")
    if path.is_file():
        return _read_file(path)
    if _looks_like_hub_id(source):
        return _load_hub(source, subset, hub_split)
    raise ObjectiveError(f"parameter 'data': no such file '{source}' (and it is not a hub id 'owner/name')")


def load_text(source: str, *, field: str = "text", subset: str | None = None, hub_split: str = "test") -> str:
    """One text: a ``.txt`` file as is, else the ``field`` of every record joined by newlines."""
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".txt":
        return path.read_text(encoding="utf-8")
    records = load_records(source, subset=subset, hub_split=hub_split)
    if records and field not in records[0]:
        raise ObjectiveError(
            f"parameter 'text_field': records have no field '{field}' (fields: {', '.join(records[0])})"
        )
    return "\n".join(str(r[field]) for r in records)


def require_fields(records: list[dict[str, Any]], fields: list[str], source: str) -> None:
    """Fail early, naming the missing field, instead of a KeyError mid-evaluation."""
    if not records:
        raise ObjectiveError(f"parameter 'data': '{source}' has no records")
    missing = [f for f in fields if f not in records[0]]
    if missing:
        raise ObjectiveError(
            f"parameter 'data': records of '{source}' lack field(s) {', '.join(missing)} "
            f"(they have: {', '.join(records[0])})"
        )
