"""Shared output helpers: one rich console, JSON printing, user-facing errors without tracebacks.

Human output echoes user data (study and preset names, paths, storage URLs, values, error texts),
and rich reads ``[...]`` in a string as a style tag: ``[/]`` raises ``MarkupError`` and
``[bold]x[/bold]`` silently loses its brackets. So the console reads **no markup at all**
(``markup=False``: every string printed, every table cell and title is plain text), and our own
styles are given as styles, never as tags: :func:`say` for a line, :func:`styled` for a table cell.
The two rich widgets that parse markup whatever the console says, a status spinner's message and a
progress column's description, are made by :func:`status` and :func:`description_column`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn, Union

import typer
from rich.console import Console
from rich.text import Text

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160, markup=False)
"""Human output (progress, tables) goes to stderr so ``--json`` stdout stays machine-readable."""

Part = Union[str, tuple[str, str]]
"""A piece of a line: plain text, or ``(text, style)`` such as ``("ok", "green")``."""


def styled(*parts: Part) -> Text:
    """``parts`` as one rich ``Text``: plain strings stay plain (never read as markup)."""
    return Text.assemble(*((str(p[0]), p[1]) if isinstance(p, tuple) else str(p) for p in parts))


def say(*parts: Part) -> None:
    """Print one line of human output that may hold user data: plain text (styles only where a
    part is ``(text, style)``), not highlighted, and never wrapped at the console width, so a long
    path or URL stays on its line whatever the terminal."""
    console.print(styled(*parts), highlight=False, soft_wrap=True)


def status(message: str):
    """``console.status`` with ``message`` as plain text (a spinner reads a string as markup)."""
    return console.status(Text(message))


def description_column():
    """A progress column showing the task description as plain text (it may name a preset or model)."""
    from rich.progress import TextColumn

    return TextColumn("{task.description}", markup=False)


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def one_line(message: str) -> str:
    """``message`` on one line: the lines of a multi-line error joined by "; "."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def print_error(message: str) -> None:
    """``error: message`` on stderr, on one line: the message is user data as much as ours."""
    say(("error:", "bold red"), " ", one_line(message))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no traceback) on one line and exit non-zero."""
    print_error(message)
    raise typer.Exit(code)
