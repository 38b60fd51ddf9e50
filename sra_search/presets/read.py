"""Reading one preset file: JSON only (nothing is ever unpickled), validated strictly, and
checked to live at the path its own fields name."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sra_search.presets.schema import Preset
from sra_search.validation import error_line, long_int_problems
from sra_search.values import long_int


class PresetFormatError(ValueError):
    """A preset file is not a valid preset; the message names the file and the field."""


MAX_PRESET_BYTES = 20_000_000
"""A preset with per-case outcomes of a few thousand cases is well under a megabyte."""


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise PresetFormatError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def parse_json(text: str) -> object:
    """JSON with every object's keys unique (a repeated key is an error naming it, not "last wins");
    an integer past Python's 4,300-digit limit is read as a :class:`~sra_search.values.LongInt`,
    which :func:`validate_preset` reports by key instead of Python's ``ValueError``."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=long_int)


def validate_preset(data: object, source: str) -> Preset:
    """A preset from parsed JSON (a file's, or a registry server's answer), validated strictly:
    a file saying `true` or `1.0` where a count belongs is wrong, not the count 1."""
    strict = lambda d: Preset.model_validate(d, strict=True)  # noqa: E731
    try:
        too_long = long_int_problems(data, strict)
        if too_long:
            said = "; ".join(f"{'.'.join(map(str, path)) or '<root>'}: {msg}" for path, msg in too_long)
            raise PresetFormatError(f"{source}: invalid preset: {said}")
        return strict(data)
    except ValidationError as e:
        raise PresetFormatError(f"{source}: invalid preset: {error_line(e)}") from None
    except RecursionError:
        raise PresetFormatError(f"{source}: invalid preset: nested too deeply") from None


def read_preset(path: Path) -> Preset:
    """Parse and validate one preset file: a regular file of bounded size, UTF-8 JSON."""
    path = Path(path)
    try:
        if not path.is_file():
            raise PresetFormatError(f"{path}: not a regular file")
        if path.stat().st_size > MAX_PRESET_BYTES:
            raise PresetFormatError(f"{path}: larger than {MAX_PRESET_BYTES:,} bytes")
        data = parse_json(path.read_bytes().decode("utf-8"))
    except PresetFormatError as e:
        raise PresetFormatError(f"{path}: not readable JSON: {str(e).removeprefix(f'{path}: ')}") from None
    except RecursionError:
        raise PresetFormatError(f"{path}: not readable JSON: nested too deeply") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # ValueError: JSONDecodeError
        raise PresetFormatError(f"{path}: not readable JSON: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    preset = validate_preset(data, str(path))
    parts = Path(path).parts
    expected = (preset.model.name, preset.task.name, f"v{preset.version}.json")
    if tuple(parts[-3:]) != expected:
        raise PresetFormatError(
            f"{path}: its model.name, task.name and version say {'/'.join(expected)}; a preset must live at that path"
        )
    return preset
