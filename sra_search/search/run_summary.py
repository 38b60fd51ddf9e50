"""What one ``Driver.run`` returns: a typed record of the study after the run (``run --json``
prints :meth:`RunSummary.to_dict`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunSummary:
    """A study after one driver run."""

    study: str
    storage: str
    """The storage URL, password redacted."""
    model: str
    objective: str
    """What the value means (``objective.objective_label``)."""
    trials: dict[str, int]
    """Trials by state (``complete``, ``pruned``, ``fail``, ``running``, ``waiting``), all drivers."""
    new_trials_done: int
    """Trials this driver finished (other drivers sharing the study are not counted)."""
    recovered_stale: int
    """Trials left RUNNING by a stopped driver that this run failed and re-enqueued."""
    elapsed_s: float
    best: dict[str, Any] | None
    """The best feasible trial (``results.trial_summary``), single-objective studies."""
    pareto: list[dict[str, Any]] | None
    """The feasible Pareto front, two-objective studies."""
    best_evidence: dict[str, Any] | None
    """The best trial's paired test on the search cases that chose it (optimistic)."""
    holdout: dict[str, Any] | None
    """The best trial re-scored on held-out cases: the verdict to trust."""
    workers: list[dict[str, Any]] = field(default_factory=list)
    storage_outages: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    """Said before the budget was spent (a baseline with no room, ...), repeated here."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``run --json``)."""
        return asdict(self)
