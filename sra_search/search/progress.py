"""How far a study is: the budget rules (may another trial start?), the ETA, and the
:class:`Progress` snapshots the driver hands to progress displays."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from sra_search.search.tuning import space as space_mod
from sra_search.search.results import best_feasible, trial_summary
from sra_search.search.studyfile.schema import StudyFile

MAX_ERRORS_IN_ROW = 3
"""Trials failing in a row with an evaluation error stop the run (a task or model problem)."""
MAX_REPEATS_IN_ROW = 10
"""Proposals of configs the study already ran, in a row, that stop the run: the sampler has
nothing new to offer (a space of a few discrete points, all visited)."""


@dataclass
class Progress:
    """A snapshot for progress displays."""

    study: str
    phase: str
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    budget_trials: int | None = None
    budget_time_s: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    best: dict[str, Any] | None = None
    message: str = ""
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.complete + self.pruned


def state_counts(study: optuna.Study) -> dict[TrialState, int]:
    """Trials of the study by state (every state present, zeros included)."""
    counts = {s: 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state] += 1
    return counts


class Budget:
    """The study's trial and time budget, counted over every run of the study, and the clock."""

    def __init__(self, spec: StudyFile, trials: int | None, time_s: float | None, n_workers: int) -> None:
        """``trials``/``time_s`` override the study file's budget (command line)."""
        self.trials = trials or spec.budget.trials
        self.time_s = time_s or spec.budget.time_s
        if trials and not time_s:
            self.time_s = None  # --trials N on the command line means "N trials", not "N or the clock"
        self.grid = spec.sampler.kind == "grid"
        if self.grid:
            size = space_mod.grid_size(spec.search_space)
            self.trials = min(self.trials or size, size)
        self.n_workers = n_workers
        self.durations: list[float] = []
        """Wall time of each trial this driver finished (COMPLETE or PRUNED)."""
        self.errors_in_row = 0
        self.repeats_in_row = 0
        """Proposals in a row of a config the study already ran (``tuning.repeats``)."""
        self.prior_elapsed = 0.0
        """Time earlier runs of the study spent (the study's ``elapsed_s``)."""
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return self.prior_elapsed + (time.monotonic() - self.t0)

    def _per_trial(self) -> float:
        return sum(self.durations) / len(self.durations) if self.durations else 0.0

    def stopped_by_errors(self) -> bool:
        return self.errors_in_row >= MAX_ERRORS_IN_ROW

    def sampler_exhausted(self) -> bool:
        return self.repeats_in_row >= MAX_REPEATS_IN_ROW

    def may_start(self, study: optuna.Study, counts: dict[TrialState, int], in_flight_here: int) -> bool:
        """Whether another trial fits the budget (``in_flight_here``: this driver's running trials)."""
        done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        # In flight: this driver's trials, or more when other drivers share the study.
        in_flight = max(in_flight_here, counts[TrialState.RUNNING])
        if self.trials is not None and done + in_flight >= self.trials:
            return False
        # Do not start a trial that would end past the time budget (mean duration so far).
        if self.time_s is not None and self.elapsed() + self._per_trial() >= self.time_s:
            return False
        if (
            self.grid
            and counts[TrialState.WAITING] == 0  # a re-enqueued grid point still has to run
            and study.sampler.is_exhausted(study)  # type: ignore[attr-defined]
        ):
            return False
        return not (self.stopped_by_errors() or self.sampler_exhausted())

    def eta(self, counts: dict[TrialState, int], in_flight_here: int) -> float | None:
        """Seconds left, from the mean trial duration so far (``None`` before the first trial)."""
        if not self.durations:
            return None
        per = self._per_trial()
        eta = None
        if self.trials is not None:
            done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
            left = max(0, self.trials - done - in_flight_here)
            eta = (left + 0.5 * in_flight_here) * per / max(1, self.n_workers)
        if self.time_s is not None:
            t_left = max(0.0, self.time_s - self.elapsed()) + (0.5 * per if in_flight_here else 0)
            eta = t_left if eta is None else min(eta, t_left)
        return eta


class Reporter:
    """Builds :class:`Progress` snapshots and hands them to ``on_progress`` (at most every 0.5 s
    unless forced). The phase and message are set by whoever runs the current step."""

    def __init__(
        self, study_name: str, budget: Budget, on_progress: Callable[[Progress], None] | None,
        workers: Callable[[], list[dict[str, Any]]], in_flight: Callable[[], int],
    ) -> None:  # fmt: skip
        self.study_name = study_name
        self.budget = budget
        self.on_progress = on_progress
        self.phase = "starting"
        self.message = ""
        self._workers = workers
        self._in_flight = in_flight
        self._last_emit = 0.0

    def set(self, phase: str, message: str = "") -> None:
        self.phase, self.message = phase, message

    def emit(self, study: optuna.Study | None, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < 0.5:
            return
        self._last_emit = now
        b = self.budget
        p = Progress(study=self.study_name, phase=self.phase, message=self.message)
        p.budget_trials, p.budget_time_s, p.elapsed_s = b.trials, b.time_s, b.elapsed()
        p.workers = self._workers()
        if study is not None:
            counts = state_counts(study)
            p.complete, p.pruned, p.failed = counts[TrialState.COMPLETE], counts[TrialState.PRUNED], counts[TrialState.FAIL]
            p.running, p.waiting = counts[TrialState.RUNNING], counts[TrialState.WAITING]
            p.eta_s = b.eta(counts, self._in_flight())
            best = best_feasible(study)
            if best is not None:
                p.best = trial_summary(best)
        self.on_progress(p)
