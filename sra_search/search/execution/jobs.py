"""What the driver sends a worker (a :class:`Job`: one chunk of cases) and what comes back.

Both are plain frozen dataclasses, pickled by Ray with the ``SRAConfig`` itself (validated once,
when the trial is asked); the worker never sees the study file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sra_search.config import SRAConfig
from sra_search.search.studyfile.schema import PerplexityConstraint, TaskSpec

if TYPE_CHECKING:
    from objectives.outcomes import Outcomes

PPL_TASK_INDEX = -1
"""``Job.task_index`` of the perplexity text (not one of the study's tasks)."""


@dataclass(frozen=True)
class Job:
    """One chunk of cases of one task for one worker, with an SRA config or without (baseline)."""

    kind: Literal["main", "ppl"]
    """``main``: a chunk of one of the study's tasks; ``ppl``: the perplexity constraint's text."""
    task_index: int
    task: str
    params: dict[str, Any]
    split: str
    offset: int
    n_cases: int | None
    batch_size: int | None
    sra: SRAConfig | None
    """The trial's SRA config, or ``None`` for the no-SRA baseline."""
    signal: bool = False
    """Also score each free answer's gold log-likelihood signal (racing with ``test = "signal"``)."""


@dataclass(frozen=True)
class ChunkResult:
    """A worker's answer to one :class:`Job`: the outcomes and the worker's pid (which process ran it)."""

    outcomes: Outcomes
    pid: int


def task_jobs(task: TaskSpec, index: int, split: str, n: int, sra: SRAConfig | None, signal: bool = False) -> list[Job]:
    """The first ``n`` cases of ``split`` of ``task`` in chunks of ``task.chunk``."""
    return range_jobs(task, index, split, 0, n, sra, signal)


def range_jobs(
    task: TaskSpec, index: int, split: str, start: int, stop: int, sra: SRAConfig | None, signal: bool = False
) -> list[Job]:
    """Cases ``start .. stop - 1`` of ``split`` of ``task`` in chunks of ``task.chunk`` (racing adds
    a trial's next cases this way)."""
    return [
        Job("main", index, task.name, task.params, split, offset, min(task.chunk, stop - offset), task.batch_size, sra, signal)
        for offset in range(start, stop, task.chunk)
    ]


def perplexity_job(ppl: PerplexityConstraint, sra: SRAConfig | None) -> Job:
    """The perplexity constraint's text (search windows), in one job."""
    return Job("ppl", PPL_TASK_INDEX, ppl.task, ppl.params, "search", 0, ppl.cases, None, sra)
