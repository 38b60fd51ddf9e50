"""Errors the objectives package raises on bad user input (the CLI prints them without a traceback)."""

from __future__ import annotations


class ObjectiveError(ValueError):
    """Bad task name, bad task parameter, unusable data file or tokenizer."""
