"""Fixed chunks: every trial gets every search case, chunk by chunk; after each chunk the running
objective is reported at step = reports so far, and one of Optuna's pruners (``median``, the
default, ``percentile``, ``successive_halving``, ``hyperband``, or ``none``) is asked after every
chunk but the last. Trials are ranked by value."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import optuna

from sra_search.search.execution.jobs import Job, task_jobs
from sra_search.search.strategies.base import SearchStrategy

if TYPE_CHECKING:
    from sra_search.config import SRAConfig
    from objectives.outcomes import Outcomes
    from sra_search.search.studyfile.schema import StudyFile
    from sra_search.search.trial import TrialRun


def n_steps(spec: StudyFile) -> int:
    """Intermediate reports per trial: one per chunk of search cases, over all tasks."""
    return sum(-(-t.cases.search // t.chunk) for t in spec.tasks)


class FixedChunks(SearchStrategy):
    """Every search case of every task, in chunks; Optuna's pruner on the running objective."""

    kinds = ("none", "median", "percentile", "successive_halving", "hyperband")

    @classmethod
    def make_pruner(cls, spec: StudyFile) -> optuna.pruners.BasePruner:
        p = spec.pruner
        if p.kind == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps)
        if p.kind == "percentile":
            return optuna.pruners.PercentilePruner(
                p.percentile, n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
            )
        if p.kind == "successive_halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, p.n_warmup_steps))
        if p.kind == "hyperband":
            return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(2, n_steps(spec)))
        return optuna.pruners.NopPruner()

    def first_jobs(self, config: SRAConfig) -> list[Job]:
        return [j for i, t in enumerate(self.keys.tasks) for j in task_jobs(t, i, "search", t.cases.search, config)]

    def after_chunk(self, study: optuna.Study, run: TrialRun, job: Job, outcomes: Outcomes, baselines: dict) -> bool:
        value = run.value(baselines, self.keys, self.spec.objective.target)
        if math.isfinite(value):
            run.trial.report(value, step=run.reports)
        run.reports += 1
        # Pruning after the last chunk would throw away a fully scored trial.
        return run.more_task_chunks() and run.trial.should_prune()
