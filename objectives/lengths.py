"""The shortest task length at which a task's cases can be built.

A prompt needs room for its instructions, key and question before any filler fits, and how many
tokens that takes depends on the task, its parameters and the tokenizer; export spreads a
bucket's held-out lengths from here up, instead of guessing one floor for every task.
"""

from __future__ import annotations

from typing import Any

from objectives.errors import ObjectiveError, PromptTooShortError
from objectives.registry import get


def shortest_length(
    task_name: str, params: dict[str, Any], tokenizer, *, split: str, n_cases: int, at_least: int
) -> int:
    """The smallest ``length >= at_least`` at which cases ``0 .. n_cases - 1`` of ``split`` all build.

    Each try that fails raises the length to what the failing case needed
    (:class:`~objectives.errors.PromptTooShortError`), so this builds the cases a few times at most.
    """
    length = at_least
    for _ in range(n_cases + 1):
        try:
            get(task_name, **{**params, "length": length}).cases(tokenizer, split, n_cases)
            return length
        except PromptTooShortError as exc:
            length = max(length + 1, exc.needed)
    raise ObjectiveError(f"task '{task_name}': no length from {at_least} up builds {n_cases} {split} cases")
