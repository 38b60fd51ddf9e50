"""Objectives: the tasks that score a model with and without SRA.

- :func:`get` / :func:`names` -- the task registry (``@register("name")`` on a task class);
- :func:`evaluate` -- score a task's cases, optionally under an :class:`~sra_search.SRAConfig`;
- :func:`evaluate_pair` -- baseline and SRA on the same cases;
- :func:`aggregate` -- merge case results of chunks evaluated separately.

See ``docs/objectives.md``.
"""

from __future__ import annotations

from objectives.base import Case, DatasetTask, SyntheticTask, Task
from objectives.errors import ObjectiveError
from objectives.evaluate import aggregate, evaluate, evaluate_pair
from objectives.params import SyntheticParams, TaskParams
from objectives.registry import get, names, register, task_class
from objectives.results import CaseResult, EvalResult, PairResult

__all__ = [
    "Case", "CaseResult", "DatasetTask", "EvalResult", "ObjectiveError", "PairResult", "SyntheticParams",
    "SyntheticTask", "Task", "TaskParams", "aggregate", "evaluate", "evaluate_pair", "get", "names",
    "register", "task_class",
]  # fmt: skip
