"""Where each key of a TOML document is: ``key path -> line``, read off the document's structure.

``tomllib`` returns values without positions, and a line scan for ``key =`` is fooled by string
contents (a multi-line description holding ``seed = 1``), by a key of the same name in another
table, and by the second ``[[tasks]]`` table. This scanner walks the TOML grammar instead:
table headers (with array-of-tables indices), dotted keys, inline tables, arrays and all four
string kinds, so strings and comments are skipped as TOML skips them. Paths are those pydantic
reports, e.g. ``("tasks", 1, "cases", "search")`` or ``("search_space", "s_in", "choices", 0)``.

It also finds the first key that is set twice, which ``tomllib`` reports as "Cannot overwrite a
value" without naming it, and the integers too long for Python to read (``tomllib`` raises
Python's "Exceeds the limit (4300 digits)" ``ValueError`` without a key or line). It is run on documents ``tomllib`` read (or refused for that reason
only); on anything else it stops quietly with what it found.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any, NamedTuple

from sra_search.values import INT_DIGITS

Path = tuple[Any, ...]
_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DECIMAL = re.compile(r"[+-]?[0-9][0-9_]*")  # hex, octal and binary literals have no digit limit


class LongLiteral(NamedTuple):
    """A decimal integer literal longer than Python reads: where it is and how long."""

    path: Path
    line: int
    start: int
    end: int
    digits: int
    negative: bool


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s, self.i, self.line = text, 0, 1
        self.lines: dict[Path, int] = {}
        self.values: set[Path] = set()  # paths that hold a value (not a table)
        self.tables: set[Path] = set()  # paths that are tables (headers, dotted-key prefixes)
        self.aot: dict[tuple[str, ...], int] = {}  # array-of-tables header -> tables so far
        self.duplicate: tuple[str, int] | None = None
        self.long_ints: list[LongLiteral] = []

    # -- characters ------------------------------------------------------------------------
    def _peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def _advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def _blank(self, newlines: bool) -> None:
        """Skip spaces and tabs, comments, and with ``newlines`` line breaks too."""
        while self.i < len(self.s):
            c = self._peek()
            if c in " \t\r" or (newlines and c == "\n"):
                self._advance()
            elif c == "#":
                end = self.s.find("\n", self.i)
                self._advance((end if end >= 0 else len(self.s)) - self.i)
            else:
                return

    # -- strings and keys ------------------------------------------------------------------
    def _string(self) -> str:
        """Skip one string of any kind; return its source text."""
        start, q = self.i, self._peek()
        if self.s.startswith(q * 3, self.i):
            self._advance(3)
            while self.i < len(self.s):
                if q == '"' and self._peek() == "\\":
                    self._advance(2)
                elif self.s.startswith(q * 3, self.i):
                    run = 3
                    while run < 5 and self._peek(run) == q:  # up to two quotes may end the content
                        run += 1
                    self._advance(run)
                    break
                else:
                    self._advance()
        else:
            self._advance()
            while self.i < len(self.s) and self._peek() not in (q, "\n"):
                self._advance(2 if q == '"' and self._peek() == "\\" else 1)
            self._advance()
        return self.s[start : self.i]

    def _key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self._blank(False)
            c = self._peek()
            if c in ('"', "'"):
                raw = self._string()
                try:
                    parts.append(tomllib.loads(f"k = {raw}")["k"])
                except (tomllib.TOMLDecodeError, KeyError):
                    parts.append(raw.strip("\"'"))
            else:
                start = self.i
                while self._peek() in _BARE and self._peek():
                    self._advance()
                if self.i == start:
                    raise ValueError(f"no key at line {self.line}")
                parts.append(self.s[start : self.i])
            self._blank(False)
            if self._peek() != ".":
                return tuple(parts)
            self._advance()

    # -- structure -------------------------------------------------------------------------
    def _resolve(self, keys: tuple[str, ...]) -> Path:
        """A header's path: each array-of-tables prefix gets the index of its current table."""
        out: list[Any] = []
        for j in range(len(keys)):
            out.append(keys[j])
            if keys[: j + 1] in self.aot:
                out.append(self.aot[keys[: j + 1]] - 1)
        return tuple(out)

    def _assign(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)
        taken = path in self.values or path in self.tables or any(path[:k] in self.values for k in range(1, len(path)))
        if taken and self.duplicate is None:
            self.duplicate = (dotted(path), line)
        self.values.add(path)
        self.tables.update(path[:k] for k in range(1, len(path)))

    def _value(self, path: Path) -> None:
        self._blank(False)
        c = self._peek()
        if c in ('"', "'"):
            self._string()
        elif c == "{":
            self._advance()
            while True:
                self._blank(True)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                line, keys = self.line, self._key()
                self.lines.setdefault(path + keys, line)
                self._blank(False)
                self._advance()  # '='
                self._value(path + keys)
                self._blank(True)
                if self._peek() == ",":
                    self._advance()
        elif c == "[":
            self._advance()
            index = 0
            while True:
                self._blank(True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                self.lines.setdefault(path + (index,), self.line)
                self._value(path + (index,))
                index += 1
                self._blank(True)
                if self._peek() == ",":
                    self._advance()
        else:  # number, boolean, date: up to the next delimiter
            start = self.i
            while self._peek() and self._peek() not in ",]}\n#":
                self._advance()
            if self.i == start:
                raise ValueError(f"no value at line {self.line}")
            literal = self.s[start : self.i].rstrip()
            digits = len(literal) - literal.count("_") - (literal[0] in "+-")
            if digits > INT_DIGITS and _DECIMAL.fullmatch(literal):
                end = start + len(literal)
                self.long_ints.append(LongLiteral(path, self.line, start, end, digits, literal.startswith("-")))

    def scan(self) -> None:
        table: Path = ()
        while True:
            self._blank(True)
            if self.i >= len(self.s):
                return
            line = self.line
            if self.s.startswith("[[", self.i):
                self._advance(2)
                keys = self._key()
                self.aot[keys] = self.aot.get(keys, 0) + 1
                for other in [k for k in self.aot if len(k) > len(keys) and k[: len(keys)] == keys]:
                    del self.aot[other]  # a new parent table restarts its children's numbering
                self._advance(2)
                table = self._resolve(keys)
                self.lines.setdefault(table, line)
            elif self._peek() == "[":
                self._advance()
                keys = self._key()
                self._advance()
                table = self._resolve(keys)
                self.lines.setdefault(table, line)
                self.tables.update(table[:k] for k in range(1, len(table) + 1))
            else:
                keys = self._key()
                self._blank(False)
                if self._peek() != "=":
                    raise ValueError(f"no '=' at line {line}")
                self._advance()
                self._assign(table + keys, line)
                self._value(table + keys)


def dotted(path: Path) -> str:
    """``("tasks", 0, "name")`` -> ``tasks[0].name``, as error messages name keys."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _scan(text: str) -> _Scanner:
    scanner = _Scanner(text)
    try:
        scanner.scan()
    except (ValueError, IndexError, RecursionError):
        pass  # not TOML past this point: keep what was found
    return scanner


def key_lines(text: str) -> dict[Path, int]:
    """``key path -> 1-based line`` of every table, key and array element of ``text``."""
    return _scan(text).lines


def duplicate_key(text: str) -> tuple[str, int] | None:
    """The first key set twice in ``text`` (its full path, e.g. ``tasks[0].name``) and the line of
    its second setting."""
    return _scan(text).duplicate


def long_integers(text: str) -> list[LongLiteral]:
    """The decimal integer literals of ``text`` too long for Python to read, in document order."""
    return _scan(text).long_ints


def toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """``tomllib``'s message, with the key named where it leaves it out (a key set twice)."""
    message = str(exc)
    if message.startswith("Cannot overwrite a value"):
        found = duplicate_key(text)
        if found is not None:
            return f"duplicate key {found[0]!r} at line {found[1]} (a key may be set only once)"
    return message
