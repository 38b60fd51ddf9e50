"""Racing's pruner for 0/1 outcomes: an exact sign test on the cases where a trial and the
incumbent disagree, with its error spent over the looks a race has (``[pruner] test = "sign"``).

Why not Optuna's ``WilcoxonPruner`` here: on 0/1 scores the paired differences are -1, 0 or +1,
so almost every pair ties; Wilcoxon drops the zeros and, with the few discordant pairs left,
its normal approximation rarely reaches ``p_threshold`` (the decisions benchmark: it pruned
a trial that broke 4 of 8 cases and fixed none in no seed). What the data hold is the count of
discordant cases: ``b`` where the trial is right and the incumbent wrong, ``c`` the other way.
Under "as good as the incumbent" each discordant case is a fair coin, so
``p = P(Binomial(b + c, 1/2) >= c)`` is exact at any size (McNemar's exact test, one-sided).

The pruner is asked after every chunk, so the same trial is tested up to ``looks`` times; each
look gets ``alpha / looks`` (Bonferroni error spending), which bounds the chance of pruning a
trial as good as the incumbent by ``alpha`` whatever the discordance rate.
:func:`~sra_search.search.strategies.race_simulation.false_prune_rate` measures it by simulation
(``tests/search/test_sign_pruner.py``; docs/search.md gives figures).
The final decision stays on the task's own score: a pruned trial's value is its mean gain so far.
"""

from __future__ import annotations

import math

import optuna
from optuna.trial import FrozenTrial
from scipy.stats import binom

from sra_search.search.results import racing_incumbent


def looks(max_cases: int, chunk: int) -> int:
    """How often a race may ask the pruner: after every chunk but the one that reaches ``max_cases``."""
    return max(1, math.ceil(max_cases / max(1, chunk)) - 1)


def sign_p_value(better: int, worse: int) -> float:
    """One-sided exact p that the trial is worse than the incumbent: ``P(Binomial(b + c, 1/2) >= c)``."""
    n = better + worse
    return 1.0 if n == 0 else float(binom.sf(worse - 1, n, 0.5))


def discordant(mine: dict[int, float], theirs: dict[int, float]) -> tuple[int, int]:
    """Cases (shared steps) where the trial's gain is above the incumbent's, and below it."""
    shared = set(mine) & set(theirs)
    better = sum(1 for s in shared if mine[s] > theirs[s])
    worse = sum(1 for s in shared if mine[s] < theirs[s])
    return better, worse


class SignTestPruner(optuna.pruners.BasePruner):
    """Prunes a racing trial once the sign test says it is worse than the incumbent at
    ``alpha / looks`` (see the module doc). Intermediate values are per-case gains (step = case)."""

    def __init__(self, alpha: float, looks: int) -> None:
        if not 0 < alpha < 1 or looks < 1:
            raise ValueError(f"alpha must be in (0, 1) and looks >= 1, got {alpha}, {looks}")
        self.alpha = alpha
        self.looks = looks

    @property
    def per_look(self) -> float:
        return self.alpha / self.looks

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        mine = {int(k): float(v) for k, v in trial.intermediate_values.items()}
        incumbent = racing_incumbent(study, mine)
        theirs = {int(k): float(v) for k, v in incumbent.intermediate_values.items()}
        better, worse = discordant(mine, theirs)
        return sign_p_value(better, worse) <= self.per_look
