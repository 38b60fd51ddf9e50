"""Study-file validation errors as ``file:LINE: key.path: message``: where in the TOML text a
pydantic error location is, so a typo in a study file is a one-line fix."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sra_search.search.toml_positions import key_lines
from sra_search.validation import error_location


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _find_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """Line of the key at ``loc`` (1-based), or of the nearest table above it that the file has
    (a missing key: its table). Positions come from the document's structure
    (:mod:`~sra_search.search.toml_positions`), so text inside strings is never taken for a key."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def format_validation_error(exc: ValidationError, text: str = "", source: str = "study file") -> str:
    """One line per problem: ``source:LINE: key.path: message``."""
    out = []
    lines = key_lines(text) if text else {}
    for err in exc.errors():
        loc = error_location(tuple(err["loc"]))
        path = _loc_to_path(loc) or "(top level)"
        line = _find_line(lines, loc)
        where = f"{source}:{line}" if line else source
        msg = err["msg"].removeprefix("Value error, ")
        line = f"{where}: {path}: {msg}"
        if line not in out:
            out.append(line)
    return "\n".join(out)
