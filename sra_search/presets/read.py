"""Reading one preset file: JSON only (nothing is ever unpickled), validated strictly, and
checked to live at the path its own fields name."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sra_search.presets.schema import Preset
from sra_search.validation import error_line


class PresetFormatError(ValueError):
    """A preset file is not a valid preset; the message names the file and the field."""


def read_preset(path: Path) -> Preset:
    """Parse and validate one preset file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PresetFormatError(f"{path}: not readable JSON: {e}") from e
    try:
        # Strict: a file saying `true` where a count belongs is wrong, not the count 1.
        preset = Preset.model_validate(data, strict=True)
    except ValidationError as e:
        raise PresetFormatError(f"{path}: invalid preset: {error_line(e)}") from e
    parts = Path(path).parts
    expected = (preset.model.name, preset.task.name, f"v{preset.version}.json")
    if tuple(parts[-3:]) != expected:
        raise PresetFormatError(
            f"{path}: its model.name, task.name and version say {'/'.join(expected)}; a preset must live at that path"
        )
    return preset
