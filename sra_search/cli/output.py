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


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no traceback) and exit non-zero."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
