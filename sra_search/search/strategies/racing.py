"""Racing over cases (``[pruner] kind = "racing"``): each case's gain over the baseline on the same
case is reported at step = the case's index in the search split, and the racing pruner (Optuna's
``WilcoxonPruner`` paired against the incumbent, :class:`RacingPruner`, or the sign test for 0/1
scores, :class:`SignTestPruner`) is asked after each chunk. At the end of a stage
(``initial_cases``, then twice as many, up to ``max_cases``) a trial still level with or better
than the incumbent on the cases both have seen gets the next stage's cases (``promote = "above"``:
only one strictly better, :func:`keeps_racing`); any other completes with the cases it has.
Until a feasible trial is at or above the baseline, the incumbent is the baseline itself (gain 0
on every case). Trials are ranked by (cases seen, value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna

from sra_search.search.baselines import Baselines, paired_scores
from sra_search.search.execution.jobs import Job, range_jobs
from sra_search.search.results import RANK_BY_CASES, racing_incumbent
from sra_search.search.storage.attrs import RACING
from sra_search.search.strategies.base import SearchStrategy
from sra_search.search.strategies.sign_pruner import SignTestPruner, looks
from sra_search.search.strategies.wilcoxon_pruner import RacingPruner
from sra_search.search.studyfile.pruner_spec import RacePlan
from sra_search.search.studyfile.schema import StudyFile, TaskSpec
from sra_search.statistics.gain import gain

if TYPE_CHECKING:
    from sra_search.config import SRAConfig
    from objectives.outcomes import Outcomes
    from sra_search.search.trial import TrialRun

LEVEL_TOLERANCE = 1e-9
"""Mean gains closer than this count as level (0/1 scores make exact ties common)."""


def keeps_racing(lead: Any, promote: str) -> Any:
    """Whether a trial ``lead`` ahead of the incumbent at a stage's end (its mean gain minus the
    incumbent's on the cases both saw; a number or a numpy array) earns the next stage's cases:
    ``level``, at or above the incumbent; ``above``, strictly above it. The one rule the race
    and its simulation (:mod:`~sra_search.search.strategies.race_simulation`) both apply."""
    if promote == "above":
        return lead > LEVEL_TOLERANCE
    if promote == "level":
        return lead >= -LEVEL_TOLERANCE
    raise ValueError(f"promote must be 'level' or 'above', got {promote!r}")


@dataclass
class RaceState:
    """Where a racing trial stands: its current stage's case count and how it ended."""

    target: int
    gains: dict[int, float] = field(default_factory=dict)
    """Case index -> gain over the baseline on that case (what is reported to Optuna)."""
    stages: list[int] = field(default_factory=list)
    """Case counts at which a stage ended (and the trial was compared with the incumbent)."""
    stop: str | None = None
    """Why the trial got no more cases: ``max_cases``, ``below the incumbent ...``, ``pruned``."""

    def attr(self) -> dict[str, Any]:
        """The trial's ``racing`` user attr."""
        return {"n_cases": len(self.gains), "stages": list(self.stages), "stop": self.stop}


class Racing(SearchStrategy):
    """Per-case reports to the racing pruner and the doubling of a trial that keeps level."""

    kinds = ("racing",)
    ranking = RANK_BY_CASES

    def __init__(self, spec: StudyFile, keys: Baselines) -> None:
        super().__init__(spec, keys)
        plan = spec.race
        assert plan is not None, "a racing strategy needs [pruner] kind = 'racing'"
        self.plan: RacePlan = plan
        self.task: TaskSpec = keys.tasks[0]  # the schema allows one task with racing

    @classmethod
    def make_pruner(cls, spec: StudyFile) -> optuna.pruners.BasePruner:
        """``test = "sign"``: :class:`SignTestPruner`; otherwise :class:`RacingPruner` (Wilcoxon)."""
        race = spec.race
        assert race is not None
        if race.test == "sign":
            return SignTestPruner(race.p_threshold, looks(race.max_cases, race.chunk))
        return RacingPruner(race.p_threshold, race.n_startup_steps)

    def first_jobs(self, config: SRAConfig) -> list[Job]:
        """The first stage: cases ``0 .. initial_cases - 1`` of the search split."""
        return range_jobs(self.task, 0, "search", 0, self.plan.initial_cases, config)

    def new_state(self) -> RaceState:
        return RaceState(target=self.plan.initial_cases)

    def case_gains(self, job: Job, outcomes: Outcomes, baselines: dict) -> dict[int, float]:
        """The chunk's per-case gains over the baseline, paired by case key, by case index."""
        base = paired_scores(baselines[self.keys.task_key(self.task, "search")], outcomes.case_ids)
        hib = outcomes.higher_is_better
        return {job.offset + j: float(gain(s, b, hib)) for j, (s, b) in enumerate(zip(outcomes.case_scores, base))}

    def after_chunk(self, study: optuna.Study, run: TrialRun, job: Job, outcomes: Outcomes, baselines: dict) -> bool:
        """Report each case of the chunk; whether the racing pruner stops the trial now. At the end of
        a stage, queue the next stage's cases on ``run.jobs`` or record why the trial stops."""
        race: RaceState = run.state
        for step, g in self.case_gains(job, outcomes, baselines).items():
            race.gains[step] = g
            if math.isfinite(g):
                run.trial.report(g, step=step)
        run.reports += 1
        seen = len(race.gains)
        if seen >= self.plan.max_cases:
            race.stages.append(seen)
            race.stop = "max_cases"
            return False  # fully scored: never pruned
        if run.trial.should_prune():
            race.stop = "pruned"
            return True
        if seen < race.target:
            return False  # the stage's next chunk is queued already
        race.stages.append(seen)
        below = self.below_incumbent(study, race)
        if below:
            race.stop = below
            return False
        race.target = self.plan.next_target(seen)
        more = range_jobs(self.task, 0, "search", seen, race.target, run.config)
        run.jobs[run.step + 1 : run.step + 1] = more  # before the perplexity text
        return False

    def below_incumbent(self, study: optuna.Study, race: RaceState) -> str | None:
        """Why the trial does not earn the next stage against the incumbent on the cases both have
        seen (:func:`keeps_racing` under the plan's ``promote``), or ``None`` if it does. While no
        feasible trial is at or above the baseline, the incumbent is the baseline (gain 0 per case)."""
        inc = racing_incumbent(study, race.gains)
        theirs = {int(k): float(v) for k, v in inc.intermediate_values.items()}
        shared = sorted(set(theirs) & set(race.gains))
        if not shared:
            return None
        mine = sum(race.gains[s] for s in shared) / len(shared)
        best = sum(theirs[s] for s in shared) / len(shared)
        if keeps_racing(mine - best, self.plan.promote):
            return None
        where = "not above" if keeps_racing(mine - best, "level") else "below"
        if inc.number < 0:
            return f"{where} the baseline (no feasible trial at or above it yet) on its {len(shared)} cases: {mine:+.4f} per case"
        return f"{where} the incumbent (trial {inc.number}) on the {len(shared)} cases both saw: {mine:+.4f} vs {best:+.4f}"

    def record(self, run: TrialRun) -> None:
        """The trial's stages and why it stopped: the ``racing`` attr (``storage.attrs.RACING``)."""
        if run.state is not None:
            RACING.set(run.trial, run.state.attr())
