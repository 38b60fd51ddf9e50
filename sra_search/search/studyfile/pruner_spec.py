"""The study file's ``[pruner]`` table, and what racing over cases asks of the rest of the file.

``kind``: Optuna's ``median`` (the default), ``percentile``, ``successive_halving``,
``hyperband``, ``none``, or ``racing``: each case's gain over the baseline is reported to
Optuna's ``WilcoxonPruner`` (paired against the incumbent), and a trial still level with the
incumbent at the end of a stage gets twice the cases, up to ``max_cases`` (docs/search.md,
"Racing"). The racing fields are refused with the other kinds and the ranking ones with racing,
so a study file says only what its pruner uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from sra_search.search.studyfile.strict_model import StrictModel

HUGE = 1_000_000
"""Upper bound of counts (cases, trials, chunks): beyond it a value is a typo, not a plan."""

RacingTest = Literal["wilcoxon", "sign", "signal"]
Promote = Literal["level", "above"]
RACING_TESTS: tuple[str, ...] = get_args(RacingTest)
"""``[pruner] test`` values, declared once (the schema and the benchmarks' options read them)."""
PROMOTE_RULES: tuple[str, ...] = get_args(Promote)
"""``[pruner] promote`` values, declared once."""

RACING_FIELDS = ("initial_cases", "max_cases", "p_threshold", "n_startup_steps", "test", "promote")
LATER_RACING_FIELDS = ("test", "promote")
"""Racing fields added after racing studies were run: left unset, they stay out of the definition hash."""
RANKING_FIELDS = ("n_startup_trials", "n_warmup_steps", "percentile")
DEFAULT_INITIAL_CASES = 8
DEFAULT_P_THRESHOLD = 0.1
"""Optuna's ``WilcoxonPruner`` default."""
DEFAULT_STARTUP_STEPS = 2
"""Optuna's ``WilcoxonPruner`` default (it never prunes on fewer than 2 paired cases anyway)."""


class Pruner(StrictModel):
    """``[pruner]``: which pruner stops bad trials early, and its settings."""

    kind: Literal["none", "median", "percentile", "successive_halving", "hyperband", "racing"] = "median"
    n_startup_trials: int = Field(default=4, ge=0, le=HUGE)
    n_warmup_steps: int = Field(default=1, ge=0, le=HUGE)
    percentile: float = Field(default=25.0, gt=0, lt=100)
    initial_cases: int | None = Field(
        default=None, ge=2, le=HUGE, description=f"racing: search cases every trial starts on (default {DEFAULT_INITIAL_CASES})."
    )
    max_cases: int | None = Field(
        default=None, ge=2, le=HUGE, description="racing: most search cases a trial gets (default: the task's cases.search)."
    )
    p_threshold: float | None = Field(
        default=None, gt=0, le=1, description=f"racing: WilcoxonPruner's p_threshold (default {DEFAULT_P_THRESHOLD})."
    )
    n_startup_steps: int | None = Field(
        default=None, ge=0, le=HUGE,
        description=f"racing: WilcoxonPruner's n_startup_steps, paired cases before it may prune (default {DEFAULT_STARTUP_STEPS}).",
    )  # fmt: skip
    test: RacingTest | None = Field(
        default=None,
        description="racing: how a trial is found worse than the incumbent: Optuna's WilcoxonPruner (default); "
        "'sign', an exact sign test on the discordant cases at p_threshold spread over the race's looks "
        "(made for 0/1 scores; search/strategies/sign_pruner.py); or 'signal', free answers only: at a stage's "
        "end, the gold answer's log-likelihood (objectives/signal.py) against the incumbent's on the same cases, "
        "under promote (docs/search.md, 'A continuous signal'). The pick is still ranked on the task's score.",
    )  # fmt: skip

    promote: Promote | None = Field(
        default=None,
        description="racing: what earns a trial the next stage's cases: 'level' (default), at or above the incumbent "
        "on the cases both saw; 'above', strictly above it (a trial that only ties stops; fewer cases per trial, "
        "and a trial whose wins come late is lost: docs/search.md, 'Racing').",
    )  # fmt: skip

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "Pruner":
        if self.kind == "racing":
            unused = [f for f in RANKING_FIELDS if f in self.model_fields_set]
            if unused:
                raise ValueError(f"{', '.join(unused)}: not used by kind = 'racing' (it takes {', '.join(RACING_FIELDS)})")
            if self.test in ("sign", "signal") and self.n_startup_steps is not None:
                raise ValueError(f"n_startup_steps: not used by test = '{self.test}' (WilcoxonPruner's setting)")
            if self.test == "signal" and self.p_threshold is not None:
                raise ValueError("p_threshold: not used by test = 'signal' (it compares the signal's means at each stage's end)")
            if self.initial_cases is not None and self.max_cases is not None and self.initial_cases > self.max_cases:
                raise ValueError(f"initial_cases = {self.initial_cases} is above max_cases = {self.max_cases}")
        else:
            given = [f for f in RACING_FIELDS if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only for kind = 'racing' (got kind = '{self.kind}')")
        return self


@dataclass(frozen=True)
class RacePlan:
    """A racing study's settings with their defaults filled in."""

    initial_cases: int
    max_cases: int
    p_threshold: float
    n_startup_steps: int
    test: str = "wilcoxon"
    chunk: int = 4
    """Cases per chunk: the pruner is asked after each (the sign test spends its error over them)."""
    promote: str = "level"
    """What earns the next stage: ``level`` (at or above the incumbent) or ``above`` (strictly above)."""

    @property
    def on_signal(self) -> bool:
        """Whether the race is on the gold signal (``test = "signal"``): every search chunk, the
        baseline's included, scores it beside the answers."""
        return self.test == "signal"

    def next_target(self, seen: int) -> int:
        """The case count after the stage that ends at ``seen`` cases: twice as many, capped."""
        return min(2 * seen, self.max_cases)

    def stages(self) -> list[int]:
        """Case counts at which a trial that keeps level is compared with the incumbent."""
        out = [min(self.initial_cases, self.max_cases)]
        while out[-1] < self.max_cases:
            out.append(self.next_target(out[-1]))
        return out


def race_plan(pruner: Pruner, search_cases: int, chunk: int = 4) -> RacePlan | None:
    """The racing settings (``None`` for the other kinds); ``search_cases`` and ``chunk``: the task's."""
    if pruner.kind != "racing":
        return None
    top = pruner.max_cases if pruner.max_cases is not None else search_cases
    initial = pruner.initial_cases if pruner.initial_cases is not None else min(DEFAULT_INITIAL_CASES, top)
    return RacePlan(
        initial_cases=initial,
        max_cases=top,
        p_threshold=DEFAULT_P_THRESHOLD if pruner.p_threshold is None else pruner.p_threshold,
        n_startup_steps=DEFAULT_STARTUP_STEPS if pruner.n_startup_steps is None else pruner.n_startup_steps,
        test=pruner.test or "wilcoxon",
        chunk=chunk,
        promote=pruner.promote or "level",
    )


def racing_problem(pruner: Pruner, data: dict[str, Any]) -> str | None:
    """Why the rest of the study file (``data``: its fields validated so far) cannot race, or ``None``.

    Racing pairs each case with the baseline's, so it needs one task, ``objective.target = "delta"``
    and a single objective; ``max_cases`` and ``initial_cases`` must fit the task's search cases.
    """
    if pruner.kind != "racing":
        return None
    tasks, objective = data.get("tasks"), data.get("objective")
    if tasks is not None and len(tasks) != 1:
        return f"kind = 'racing' races the cases of one task: give exactly one [[tasks]] (got {len(tasks)})"
    if objective is not None and objective.target != "delta":
        return (f"kind = 'racing' needs objective.target = 'delta' (each case's gain over the baseline), "
                f"got objective.target = '{objective.target}'")  # fmt: skip
    if objective is not None and objective.perplexity_objective:
        return "kind = 'racing' needs a single objective: objective.perplexity_objective must be false"
    if tasks:
        search = tasks[0].cases.search
        if pruner.max_cases is not None and pruner.max_cases > search:
            return f"max_cases = {pruner.max_cases} is above tasks[0].cases.search = {search}"
        plan = race_plan(pruner, search)
        assert plan is not None
        if plan.initial_cases > plan.max_cases:
            return (f"initial_cases = {plan.initial_cases} is above max_cases = {plan.max_cases} "
                    f"(max_cases defaults to tasks[0].cases.search)")  # fmt: skip
        if plan.on_signal:
            return _signal_problem(tasks[0])
    return None


def _signal_problem(task: Any) -> str | None:
    """Why ``task`` gives no gold log-likelihood signal (its answers are not free), or ``None``."""
    import objectives

    try:
        mode = objectives.get(task.name, **task.params).mode
    except Exception:  # bad parameters: refused, with their own message, by check_task_params
        return None
    if mode == "generate":
        return None
    return (f"test = 'signal' needs free answers: tasks[0] ('{task.name}') is scored in mode '{mode}'; "
            "drop its 'prime'/'scoring' parameters, or race with test = 'sign'")  # fmt: skip
