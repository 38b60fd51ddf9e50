"""The search-strategy interface, declared once (as Optuna declares samplers and pruners).

A strategy decides three things the driver does not: which of a trial's cases are scored first
and which follow (:meth:`~SearchStrategy.first_jobs`, :meth:`~SearchStrategy.after_chunk`, which
may queue more), when a trial stops (the Optuna pruner it builds, asked after each chunk), and
how finished trials are ranked (:attr:`~SearchStrategy.ranking`, recorded on the study so that
``status`` and ``export`` rank a stored study as its search did). The driver holds one strategy,
made by :func:`~sra_search.search.strategies.registry.strategy_for`, and calls only these methods.

Adding a strategy: one module with a subclass, plus its line in ``registry.STRATEGIES`` and its
``[pruner] kind`` in ``studyfile/pruner_spec.py`` (the schema names every kind it accepts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import optuna

from sra_search.search.results import RANK_BY_VALUE

if TYPE_CHECKING:
    from sra_search.config import SRAConfig
    from objectives.outcomes import Outcomes
    from sra_search.search.baselines import Baselines
    from sra_search.search.execution.jobs import Job
    from sra_search.search.studyfile.schema import StudyFile
    from sra_search.search.trial import TrialRun


class SearchStrategy(ABC):
    """How a study spends its cases: scheduling, stopping and ranking of trials."""

    kinds: ClassVar[tuple[str, ...]]
    """The ``[pruner] kind`` values this strategy serves."""
    ranking: ClassVar[str] = RANK_BY_VALUE
    """How its finished trials are ranked (:data:`~sra_search.search.results.RANKINGS`)."""

    def __init__(self, spec: StudyFile, keys: Baselines) -> None:
        self.spec = spec
        self.keys = keys

    @classmethod
    @abstractmethod
    def make_pruner(cls, spec: StudyFile) -> optuna.pruners.BasePruner:
        """The Optuna pruner the driver asks after each chunk (it needs the study file only)."""

    @abstractmethod
    def first_jobs(self, config: SRAConfig) -> list[Job]:
        """The task chunks a new trial starts with (the perplexity text is the driver's)."""

    def new_state(self) -> Any:
        """Per-trial state the strategy keeps on ``TrialRun.state`` (``None``: none)."""
        return None

    @abstractmethod
    def after_chunk(self, study: optuna.Study, run: TrialRun, job: Job, outcomes: Outcomes, baselines: dict) -> bool:
        """Report a scored chunk to the pruner; whether the trial is pruned now. May queue more
        chunks on ``run.jobs`` (after ``run.step``)."""

    def stopped(self, run: TrialRun, why: str) -> None:
        """The driver stopped the trial after this chunk for ``why`` (a constraint it already
        misses, :func:`~sra_search.search.objective.band_stop`); default: nothing to note."""

    def record(self, run: TrialRun) -> None:
        """Set the strategy's own trial attributes when the trial ends (default: none)."""
