"""Racing over cases (``[pruner] kind = "racing"``): each case's gain over the baseline on the same
case is reported at step = the case's index in the search split, and the racing pruner (Optuna's
``WilcoxonPruner`` paired against the incumbent, :class:`RacingPruner`, or the sign test for 0/1
scores, :class:`SignTestPruner`) is asked after each chunk. At the end of a stage
(``initial_cases``, then twice as many, up to ``max_cases``) a trial still level with or better
than the incumbent on the cases both have seen gets the next stage's cases (``promote = "above"``:
only one strictly better, :func:`keeps_racing`); any other completes with the cases it has.
Until a feasible trial is at or above the baseline, the incumbent is the baseline itself (gain 0
on every case). Trials are ranked by (cases seen, value).

With ``test = "signal"`` (free answers only) the stage's end compares instead each case's gold
log-likelihood signal (:mod:`objectives.signal`, scored beside the answer) with the incumbent's
(or the baseline's) on the same cases, and no pruner acts within a stage: a continuous signal
has no ties where 0/1 answers mostly tie. The ranking stays on the task's score.
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


def _lead(mine: dict[int, float], theirs: dict[int, float]) -> tuple[float, float, int] | None:
    """Means of ``mine`` and ``theirs`` over the cases both have, and how many; ``None`` if none."""
    shared = sorted(set(mine) & set(theirs))
    if not shared:
        return None
    return sum(mine[s] for s in shared) / len(shared), sum(theirs[s] for s in shared) / len(shared), len(shared)


def _where(lead: tuple[float, float, int]) -> str:
    """How a trial that does not earn the next stage stands: ``not above`` (level) or ``below``."""
    return "not above" if keeps_racing(lead[0] - lead[1], "level") else "below"


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
    signals: dict[int, float] = field(default_factory=dict)
    """Case index -> the gold log-likelihood signal (``test = "signal"`` only)."""

    def attr(self) -> dict[str, Any]:
        """The trial's ``racing`` user attr (``signals`` by case index, when the race is on them)."""
        out: dict[str, Any] = {"n_cases": len(self.gains), "stages": list(self.stages), "stop": self.stop}
        if self.signals:
            out["signals"] = {str(k): v for k, v in sorted(self.signals.items())}
        return out


class Racing(SearchStrategy):
    """Per-case reports to the racing pruner and the doubling of a trial that keeps level."""

    kinds = ("racing",)
    ranking = RANK_BY_CASES

    def __init__(self, spec: StudyFile, keys: Baselines) -> None:
        super().__init__(spec, keys)
        plan = spec.race
        assert plan is not None, "a racing strategy needs [pruner] kind = 'racing'"
        self.plan: RacePlan = plan
        self.signal = plan.on_signal
        self.task: TaskSpec = keys.tasks[0]  # the schema allows one task with racing

    @classmethod
    def make_pruner(cls, spec: StudyFile) -> optuna.pruners.BasePruner:
        """``test = "sign"``: :class:`SignTestPruner`; ``"signal"``: none (the stage's end decides);
        otherwise :class:`RacingPruner` (Wilcoxon)."""
        race = spec.race
        assert race is not None
        if race.on_signal:
            return optuna.pruners.NopPruner()
        if race.test == "sign":
            return SignTestPruner(race.p_threshold, looks(race.max_cases, race.chunk))
        return RacingPruner(race.p_threshold, race.n_startup_steps)

    def first_jobs(self, config: SRAConfig) -> list[Job]:
        """The first stage: cases ``0 .. initial_cases - 1`` of the search split."""
        return range_jobs(self.task, 0, "search", 0, self.plan.initial_cases, config, self.signal)

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
        if self.signal:
            race.signals.update(self.case_signals(job, outcomes))
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
        below = self.below_incumbent(study, race, baselines)
        if below:
            race.stop = below
            return False
        race.target = self.plan.next_target(seen)
        more = range_jobs(self.task, 0, "search", seen, race.target, run.config, self.signal)
        run.jobs[run.step + 1 : run.step + 1] = more  # before the perplexity text
        return False

    def stopped(self, run: TrialRun, why: str) -> None:
        """A trial stopped outside the attention band ends its race where it stands."""
        race: RaceState = run.state
        if race.stages[-1:] != [len(race.gains)]:  # not already at a stage's end
            race.stages.append(len(race.gains))
        race.stop = why

    def case_signals(self, job: Job, outcomes: Outcomes) -> dict[int, float]:
        """The chunk's gold log-likelihood signals by case index (the worker scored them: ``Job.signal``)."""
        if len(outcomes.case_signals) != outcomes.n_cases:
            raise RuntimeError(f"racing with test = 'signal': the chunk at case {job.offset} came back without its signals")
        return {job.offset + j: float(s) for j, s in enumerate(outcomes.case_signals)}

    def baseline_signals(self, baselines: dict) -> dict[int, float]:
        """The search baseline's signals by case index (its case keys end with the index)."""
        entry = baselines[self.keys.task_key(self.task, "search")]
        if not entry.get("case_signals"):
            raise RuntimeError("racing with test = 'signal': the stored search baseline has no signals; it was measured "
                               "by a study without them, so start a new study (another name or storage)")  # fmt: skip
        return {int(k.rpartition(":")[2]): float(s) for k, s in zip(entry["case_keys"], entry["case_signals"])}

    def below_incumbent(self, study: optuna.Study, race: RaceState, baselines: dict | None = None) -> str | None:
        """Why the trial does not earn the next stage against the incumbent on the cases both have
        seen (:func:`keeps_racing` under the plan's ``promote``), or ``None`` if it does. While no
        feasible trial is at or above the baseline, the incumbent is the baseline (gain 0 per case).
        With ``test = "signal"``, the trial's signals are held against the incumbent's (or the baseline's)."""
        inc = racing_incumbent(study, race.gains)
        if self.signal:
            assert baselines is not None, "racing on the signal needs the baselines"
            return self._below_on_signals(inc, race, baselines)
        theirs = {int(k): float(v) for k, v in inc.intermediate_values.items()}
        lead = _lead(race.gains, theirs)
        if lead is None or keeps_racing(lead[0] - lead[1], self.plan.promote):
            return None
        (mine, best, n), where = lead, _where(lead)
        if inc.number < 0:
            return f"{where} the baseline (no feasible trial at or above it yet) on its {n} cases: {mine:+.4f} per case"
        return f"{where} the incumbent (trial {inc.number}) on the {n} cases both saw: {mine:+.4f} vs {best:+.4f}"

    def _below_on_signals(self, inc: optuna.trial.FrozenTrial, race: RaceState, baselines: dict) -> str | None:
        """:meth:`below_incumbent` on the gold signal: the incumbent's recorded signals, or the
        baseline's while the incumbent is the baseline (or was raced without signals)."""
        recorded = (RACING.get(inc) or {}).get("signals") if inc.number >= 0 else None
        theirs = {int(k): float(v) for k, v in recorded.items()} if recorded else self.baseline_signals(baselines)
        lead = _lead(race.signals, theirs)
        if lead is None or keeps_racing(lead[0] - lead[1], self.plan.promote):
            return None
        (mine, best, n), where = lead, _where(lead)
        whom = f"the incumbent (trial {inc.number})" if recorded else "the baseline"
        return f"{where} {whom} on the gold signal of the {n} cases both saw: {mine:+.4f} vs {best:+.4f} per case"

    def record(self, run: TrialRun) -> None:
        """The trial's stages and why it stopped: the ``racing`` attr (``storage.attrs.RACING``)."""
        if run.state is not None:
            RACING.set(run.trial, run.state.attr())
