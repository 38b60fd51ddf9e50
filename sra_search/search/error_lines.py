"""Study-file validation errors as ``file:LINE: key.path: message``: where in the TOML text a
pydantic error location is, so a typo in a study file is a one-line fix."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from sra_search.validation import error_location


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of the key at ``loc`` in the TOML text (1-based)."""
    lines = text.splitlines()
    keys = [p for p in loc if isinstance(p, str)]
    if not keys:
        return None
    start = 0
    found: int | None = None
    for depth, key in enumerate(keys):
        header = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(map(re.escape, keys[: depth + 1])) + r"\s*\]\]?")
        assign = re.compile(r"(^|[{,\s])" + re.escape(key) + r"\s*=")
        hit = None
        for i in range(start, len(lines)):
            if header.search(lines[i]) or assign.search(lines[i].split("#", 1)[0]):
                hit = i
                break
        if hit is None:
            break
        found, start = hit, hit
    return None if found is None else found + 1


def format_validation_error(exc: ValidationError, text: str = "", source: str = "study file") -> str:
    """One line per problem: ``source:LINE: key.path: message``."""
    out = []
    for err in exc.errors():
        loc = error_location(tuple(err["loc"]))
        path = _loc_to_path(loc) or "(top level)"
        line = _find_line(text, loc) if text else None
        where = f"{source}:{line}" if line else source
        msg = err["msg"].removeprefix("Value error, ")
        line = f"{where}: {path}: {msg}"
        if line not in out:
            out.append(line)
    return "\n".join(out)
