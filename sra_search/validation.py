"""One way to turn a pydantic ``ValidationError`` into words: ``field.path: message``."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError

from sra_search.values import long_int_message, long_int_paths, with_values

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


_BOUNDS = ("ge", "gt", "le", "lt")


def long_int_problems(data: Any, validate: Callable[[Any], Any]) -> list[tuple[tuple[Any, ...], str]]:
    """``(key path, message)`` for every integer in ``data`` too long for Python to read
    (:class:`~sra_search.values.LongInt`), the message saying the range its field allows.

    The range is the model's own: ``validate`` (one that raises ``ValidationError``) is run on
    ``data`` with each such integer replaced by a stand-in of the same size, then of the opposite
    sign, then by the largest floats (a float field refuses a huge int as "not a number"); the
    bounds it reports at that path are the range. Stand-ins never leave this function."""
    found = long_int_paths(data)
    if not found:
        return []
    bounds: dict[tuple[Any, ...], dict[str, Any]] = {path: {} for path, _ in found}
    other: dict[tuple[Any, ...], str] = {}
    probes = [lambda n: 10 ** (n.digits - 1), lambda n: -(10 ** (n.digits - 1)), lambda n: 1.7e308, lambda n: -1.7e308]
    for i, stand_in in enumerate(probes):
        try:
            validate(with_values(data, {path: stand_in(n) for path, n in found}))
        except ValidationError as exc:
            for err in exc.errors():
                loc = error_location(tuple(err.get("loc", ())))
                if loc not in bounds:
                    continue
                ctx = {k: v for k, v in (err.get("ctx") or {}).items() if k in _BOUNDS}
                bounds[loc].update(ctx)
                msg = error_message(err)
                if not ctx and i < 2 and "integer string conversion" not in msg:  # a validator that printed it
                    other.setdefault(loc, msg)
        except Exception:  # noqa: BLE001 - a validator that cannot take a stand-in says nothing about the range
            continue
    return [(path, long_int_message(n.digits, bounds[path], None if bounds[path] else other.get(path))) for path, n in found]
