"""One way to turn a pydantic ``ValidationError`` into words: ``field.path: message``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

# pydantic puts validator and union-member tags into error locations (``function-after[...]``,
# ``float``, ``int``); they name no field a user wrote.
_TYPE_TAGS = {"float", "int", "bool", "str"}


def error_location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """An error's location without pydantic's internal tags."""
    return tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in _TYPE_TAGS)))


def error_message(err: dict[str, Any]) -> str:
    """The message of one pydantic error, worded for a user."""
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def error_items(exc: ValidationError) -> list[tuple[str, str, dict[str, Any]]]:
    """``(dotted.path, message, raw error)`` per problem, in pydantic's order, duplicates dropped."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    seen = set()
    for err in exc.errors():
        path = ".".join(str(p) for p in error_location(tuple(err.get("loc", ()))))
        msg = error_message(err)
        if (path, msg) not in seen:
            seen.add((path, msg))
            out.append((path, msg, err))
    return out


def error_line(exc: ValidationError, root: str = "<root>") -> str:
    """Every problem of ``exc`` on one line: ``a.b: message; c: message``."""
    return "; ".join(f"{path or root}: {msg}" for path, msg, _ in error_items(exc))
