"""One trial in flight: its jobs, the chunk results so far, and what they add up to."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna

from sra_search.search.baselines import Baselines, paired_scores
from sra_search.search.execution.jobs import Job
from sra_search.search.objective import band_stop, combine, constraint_values, mean, task_value
from sra_search.search.results import compact_outcomes
from sra_search.search.storage.attrs import BAND_STOP, OUTCOMES, PERPLEXITY_RATIO, SRA_STATS, TASK_SCORES
from sra_search.search.storage.optuna_private import trial_id
from sra_search.search.execution.pool import Slot
from sra_search.search.studyfile.schema import Constraints

if TYPE_CHECKING:
    from sra_search.config import SRAConfig
    from objectives.outcomes import Outcomes
    from sra_search.runtime.stats import SRASummary


@dataclass(frozen=True)
class TrialInFlight:
    """A read-only view of a trial the driver is running (for benchmarks and displays)."""

    number: int
    trial_id: int
    chunks_done: int
    chunks: int
    worker: int
    worker_pid: int | None
    worker_ready: bool


@dataclass
class TrialRun:
    """The driver's record of one trial, from ``ask`` to ``tell``."""

    trial: optuna.Trial
    config: SRAConfig
    """The config the trial runs (it crosses the Ray boundary as itself, inside each ``Job``)."""
    slot: int
    jobs: list[Job]
    step: int = 0
    """Index of the job in flight (jobs run one after another on the trial's worker)."""
    scores: dict[int, list[float]] = field(default_factory=dict)
    """Task index -> per-case scores so far, in case order."""
    case_ids: dict[int, list[str]] = field(default_factory=dict)
    """Task index -> the stable keys of those cases."""
    higher: dict[int, bool] = field(default_factory=dict)
    chunk_stats: list[SRASummary] = field(default_factory=list)
    ppl: float | None = None
    eval_s: float = 0.0
    reports: int = 0
    started: float = field(default_factory=time.monotonic)
    state: Any = None
    """The search strategy's per-trial state (racing: a ``RaceState``; ``None`` for fixed chunks)."""

    @property
    def trial_id(self) -> int:
        return trial_id(self.trial)

    @property
    def stats(self) -> SRASummary:
        """SRA's statistics over the task chunks so far (the perplexity text's are not counted)."""
        from sra_search.runtime.stats import SRASummary  # torch: see objective.py

        return SRASummary.merge(self.chunk_stats)

    @property
    def job(self) -> Job:
        return self.jobs[self.step]

    def in_flight(self, slot: Slot) -> TrialInFlight:
        return TrialInFlight(self.trial.number, self.trial_id, self.step, len(self.jobs), slot.index, slot.pid, slot.ready)

    def more_task_chunks(self) -> bool:
        """Whether a chunk of a task (not the perplexity text) follows the current job."""
        return self.step + 1 < len(self.jobs) and self.jobs[self.step + 1].kind == "main"

    def stop_outside_band(self, constraints: Constraints) -> str | None:
        """If the attention so far is outside the band by more than ``stop_margin``
        (:func:`~sra_search.search.objective.band_stop`): drop the task chunks still queued, so the
        trial completes, infeasible, on the cases it has (the perplexity text still runs: every
        constraint is recorded for the sampler), note why (``band_stop`` attr) and return it."""
        why = band_stop(constraints, self.stats, self.n_cases)
        if why is not None:
            BAND_STOP.set(self.trial, why)
            self.jobs[self.step + 1 :] = [j for j in self.jobs[self.step + 1 :] if j.kind != "main"]
        return why

    def add(self, job: Job, outcomes: Outcomes, baselines: dict[str, dict[str, Any]], keys: Baselines) -> None:
        """Record one job's outcomes (a task chunk, or the perplexity text against its baseline)."""
        self.eval_s += outcomes.eval_s
        if job.kind == "main":
            self.scores.setdefault(job.task_index, []).extend(outcomes.case_scores)
            self.case_ids.setdefault(job.task_index, []).extend(outcomes.case_ids)
            self.higher[job.task_index] = outcomes.higher_is_better
            if outcomes.stats is not None:
                self.chunk_stats.append(outcomes.stats)
        else:
            from objectives.compare import perplexity_ratio

            self.ppl = perplexity_ratio(outcomes.score, baselines[keys.ppl_key()]["score"])

    def value(self, baselines: dict[str, dict[str, Any]], keys: Baselines, target: str) -> float:
        """The objective over the tasks scored so far (weighted; oriented so higher is better)."""
        weighted = []
        for i, scores in self.scores.items():
            task = keys.tasks[i]
            base = paired_scores(baselines[keys.task_key(task, "search")], self.case_ids[i])
            weighted.append((task.weight, task_value(scores, base, target, self.higher[i])))
        return combine(weighted)

    def task_scores(self, keys: Baselines) -> dict[str, float]:
        return {keys.tasks[i].name: mean(s) for i, s in self.scores.items()}

    @property
    def n_cases(self) -> int:
        """Task cases scored so far (over all tasks)."""
        return sum(len(s) for s in self.scores.values())

    def record_results(self, constraints: Constraints, keys: Baselines) -> SRASummary:
        """Set the trial's constraint values (``trial.set_constraint``, ``<= 0`` feasible) and its
        ``task_scores``, ``sra_stats`` and ``perplexity_ratio`` attrs; return its SRA statistics."""
        stats = self.stats
        for name, c in constraint_values(constraints, perplexity_ratio=self.ppl, stats=stats).items():
            self.trial.set_constraint(name, c)
        TASK_SCORES.set(self.trial, self.task_scores(keys))
        SRA_STATS.set(self.trial, stats.to_dict())
        if self.ppl is not None:
            PERPLEXITY_RATIO.set(self.trial, self.ppl)
        return stats

    def record_outcomes(self, keys: Baselines) -> None:
        """Set the ``outcomes`` attr (per-case scores, :meth:`outcomes_attr`)."""
        if self.scores:
            OUTCOMES.set(self.trial, self.outcomes_attr(keys))

    def outcomes_attr(self, keys: Baselines) -> dict[str, dict[str, Any]]:
        """The trial's ``outcomes`` user attr: per task (by name; ``name#i`` for a repeated name) its
        per-case scores in the :func:`~sra_search.search.results.compact_outcomes` form."""
        names = [t.name for t in keys.tasks]
        return {
            (names[i] if names.count(names[i]) == 1 else f"{names[i]}#{i}"): compact_outcomes(self.case_ids[i], s)
            for i, s in sorted(self.scores.items())
        }
