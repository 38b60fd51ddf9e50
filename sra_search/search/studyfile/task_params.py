"""The study's task parameters as workers get them: file paths resolved, values checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sra_search.search.studyfile.schema import PerplexityConstraint, StudyFile, StudyFileError, TaskSpec


def resolve_file_params(params: dict[str, Any], base_dir: str | None) -> dict[str, Any]:
    """Make relative file parameters usable by workers.

    A relative path that exists from the current directory is kept as is (workers share
    it locally, and ``ray job submit --working-dir .`` reproduces it on a cluster); one that
    exists only next to the study file becomes absolute.
    """
    out = dict(params)
    for key, value in params.items():
        if not isinstance(value, str) or os.path.isabs(value) or "/" not in value and "." not in value:
            continue
        if Path(value).is_file():
            continue
        if base_dir and (Path(base_dir) / value).is_file():
            out[key] = str((Path(base_dir) / value).resolve())
    return out


def worker_tasks(spec: StudyFile, base_dir: str | None) -> tuple[list[TaskSpec], PerplexityConstraint | None]:
    """The study's tasks and perplexity text with file parameters resolved against ``base_dir``."""
    tasks = [t.model_copy(update={"params": resolve_file_params(t.params, base_dir)}) for t in spec.tasks]
    ppl = spec.constraints.perplexity
    if ppl is not None:
        ppl = ppl.model_copy(update={"params": resolve_file_params(ppl.params, base_dir)})
    return tasks, ppl


def check_task_params(tasks: list[TaskSpec], ppl: PerplexityConstraint | None) -> None:
    """Validate every task's parameters with ``objectives.get`` before any worker starts
    (:class:`StudyFileError` naming the task). Study files are read strictly, as the rest of the
    file is: a parameter of the wrong type (``length = "512"``, ``512.0``, ``seed = true``) is refused
    here, where ``objectives.get`` would coerce it like command-line text."""
    import objectives
    from objectives.params import parse_params

    checks = [(f"tasks[{i}]", t.name, t.params) for i, t in enumerate(tasks)]
    if ppl is not None:
        checks.append(("constraints.perplexity", ppl.task, ppl.params))
    for where, name, params in checks:
        try:
            parse_params(objectives.task_class(name).Params, name, params, strict=True)
            objectives.get(name, **params)
        except Exception as exc:
            raise StudyFileError(f"{where}: {exc}") from None
