"""Study-file validation errors as ``file:LINE: key.path: message``: where in the TOML text a
pydantic error location is, so a typo in a study file is a one-line fix."""

from __future__ import annotations

import tomllib
from typing import Any, Callable

from pydantic import ValidationError

from sra_search.search.studyfile.toml_positions import dotted, key_lines, long_integers
from sra_search.validation import error_location, long_int_problems
from sra_search.values import LongInt, long_int_message, with_values


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
    (:mod:`~sra_search.search.studyfile.toml_positions`), so text inside strings is never taken for a key."""
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


def long_integer_lines(text: str, validate: Callable[[Any], Any], source: str = "study file") -> str | None:
    """``source:LINE: key.path: an integer of N digits; allowed: A to B`` for each integer of the
    TOML ``text`` too long for Python to read (``tomllib`` refuses the whole document with Python's
    "Exceeds the limit (4300 digits) ... use sys.set_int_max_str_digits()"); ``None`` if none is
    found. The range is the one ``validate`` (the model's validation) enforces at that key."""
    found = long_integers(text)
    if not found:
        return None
    # Each literal read as 0 (its span replaced in place, so lines stay), then set back as a LongInt.
    blanked = text
    for lit in reversed(found):
        blanked = blanked[: lit.start] + "0" + blanked[lit.end :]
    try:
        data = tomllib.loads(blanked)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        data = None
    placed = {lit.path: LongInt(lit.digits, lit.negative) for lit in found}
    problems = dict(long_int_problems(with_values(data, placed), validate)) if data is not None else {}
    return "\n".join(
        f"{source}:{lit.line}: {dotted(lit.path)}: "
        + (problems.get(lit.path) or long_int_message(lit.digits))
        for lit in found
    )
