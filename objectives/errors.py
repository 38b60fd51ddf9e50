"""Errors the objectives package raises on bad user input (the CLI prints them without a traceback)."""

from __future__ import annotations


class ObjectiveError(ValueError):
    """Bad task name, bad task parameter, unusable data file or tokenizer."""


class PromptTooShortError(ObjectiveError):
    """A task ``length`` below what the prompt needs without any filler; ``needed`` is that
    prompt's token count, the smallest length that builds this case."""

    def __init__(self, message: str, *, length: int, needed: int) -> None:
        super().__init__(message)
        self.length = length
        self.needed = needed
