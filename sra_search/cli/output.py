"""Shared output helpers: one rich console, JSON printing, user-facing errors without tracebacks."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
"""Human output (progress, tables) goes to stderr so ``--json`` stdout stays machine-readable."""


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def one_line(message: str) -> str:
    """``message`` on one line: the lines of a multi-line error joined by "; "."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def print_error(message: str) -> None:
    """``error: message`` on stderr, on one line.

    The message is user data as much as ours (a study value, a path, a preset name), so it is
    printed as plain text (no rich markup: ``[/]`` in a name must not raise) and never wrapped
    at the console width: one line, whatever the terminal."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no traceback) on one line and exit non-zero."""
    print_error(message)
    raise typer.Exit(code)
