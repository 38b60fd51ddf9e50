"""Small value rules shared by every layer: non-finite numbers as JSON ``null``; integers past
Python's digit limit; command-line values parsed within bounds."""

from __future__ import annotations

import json
import math
import sys
from typing import Any


def finite_or_none(x: Any) -> Any:
    """``x`` unless it is a non-finite float (NaN, inf), which JSON cannot hold: then ``None``."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float inside dicts, lists and tuples replaced by ``None``."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return finite_or_none(obj)


# --- integers past Python's digit limit ---------------------------------------------------------
# `int("9" * 5000)` raises "Exceeds the limit (4300 digits) for integer string conversion ... use
# sys.set_int_max_str_digits()": a hint a user cannot act on, raised by the JSON and TOML readers
# before any key is known. Readers turn such a literal into a LongInt instead, and report it by key
# with the range the field allows (sra_search.validation.long_int_problems).

INT_DIGITS = sys.get_int_max_str_digits() or 4300
"""Longest decimal integer Python converts (0 means unlimited; the readers then keep 4,300)."""


class LongInt:
    """A decimal integer literal longer than :data:`INT_DIGITS`, kept as its sign and length only."""

    __slots__ = ("digits", "negative")

    def __init__(self, digits: int, negative: bool = False) -> None:
        self.digits, self.negative = digits, negative

    def __repr__(self) -> str:
        return f"<integer of {self.digits:,} digits>"


def long_int(text: str) -> "int | LongInt":
    """``int(text)`` for a decimal literal (JSON's ``parse_int`` hook), a :class:`LongInt` past the limit."""
    digits = sum(c.isdigit() for c in text)
    if digits > INT_DIGITS:
        return LongInt(digits, text.lstrip().startswith("-"))
    return int(text)


def long_int_paths(data: Any) -> list[tuple[tuple[Any, ...], LongInt]]:
    """Every :class:`LongInt` in ``data`` (dicts and lists) with its key path, in document order.
    Iterative: a document may be nested as deep as its parser allowed."""
    found: list[tuple[tuple[Any, ...], LongInt]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, LongInt):
            found.append((path, value))
        elif isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(value))))
    return found


def with_values(data: Any, values: dict[tuple[Any, ...], Any]) -> Any:
    """A copy of ``data`` with the value at each path replaced (containers copied along the paths only)."""
    for path, value in values.items():
        if not path:
            data = value
            continue
        data = data.copy()
        node = data
        for key in path[:-1]:
            node[key] = node[key].copy()
            node = node[key]
        node[path[-1]] = value
    return data


def _number(x: Any) -> str:
    """A bound as written in a model: ``1000`` for ``1e3``, ``1e+300`` for huge floats."""
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e16 else f"{x:g}"
    return str(x)


def long_int_message(digits: int, bounds: dict[str, Any] | None = None, other: str | None = None) -> str:
    """The one wording of a too-long integer: its length and what the field allows.

    ``bounds`` holds the field's ``ge``/``gt``/``le``/``lt`` (as pydantic reports them); ``other``
    is what the field wants instead when it is no bounded number ("Input should be a valid string")."""
    said = f"an integer of {digits:,} digits"
    b = bounds or {}
    if "ge" in b and "le" in b:
        return f"{said}; allowed: {_number(b['ge'])} to {_number(b['le'])}"
    if b:
        ops = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        allowed = " and ".join(f"{op} {_number(b[k])}" for k, op in ops if k in b)
        if "le" not in b and "lt" not in b:
            allowed += f", at most {INT_DIGITS:,} digits"
        return f"{said}; allowed: {allowed}"
    if other:
        return f"{said}; {other[:1].lower() + other[1:]}"
    return f"{said}; integers have at most {INT_DIGITS:,} digits"


# --- command-line values -----------------------------------------------------------------------
# `--params s_in=[[[...]]]` 50,000 deep made json.loads raise RecursionError. A value is bounded
# before it is parsed, as the study and preset readers bound their files.

MAX_VALUE_CHARS = 10_000
"""Longest ``key=value`` value; an SRA or task parameter is a number, a word or a short list."""
MAX_VALUE_DEPTH = 16
"""Deepest nesting of ``[`` and ``{`` in a value (a list of lists is 2)."""


def nesting_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, outside JSON strings (no parsing, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
    return deepest


def parse_value(text: str) -> Any:
    """A command-line value: JSON where it parses (numbers, true/false, null, lists), the raw string
    otherwise. Refused with a ``ValueError`` saying the bound when nested deeper than
    :data:`MAX_VALUE_DEPTH` or longer than :data:`MAX_VALUE_CHARS`; an integer past Python's digit
    limit becomes a :class:`LongInt` for the caller to report with its field's range."""
    depth = nesting_depth(text)
    if depth > MAX_VALUE_DEPTH:
        raise ValueError(f"nested {depth:,} deep; at most {MAX_VALUE_DEPTH} levels")
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"{len(text):,} characters long; at most {MAX_VALUE_CHARS:,}")
    try:
        return json.loads(text, parse_int=long_int)
    except json.JSONDecodeError:
        return text
