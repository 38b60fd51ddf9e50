"""Sample sizes for the paired tests of :mod:`sra_search.statistics.paired`: how many cases would show a gain.

Both helpers answer "how many paired cases would a one-sided test at ``alpha`` need to show a
gain of ``delta`` with probability ``power``", using statsmodels' power machinery:

- :func:`cases_needed` (0/1 scores, exact McNemar / sign test). The sign test only looks at the
  discordant pairs (one arm right, the other wrong). Among them SRA wins with probability
  ``w = (q + delta) / (2 q)``, where ``q`` is the discordant fraction. The number of discordant
  pairs comes from ``NormalIndPower(ratio=0)`` (one-sample test of ``w`` against 1/2) at Cohen's
  arcsine effect size ``proportion_effectsize(w, 0.5)``; the cases are that number over ``q``.
  ``q`` is the observed discordant fraction when given; otherwise the two arms' errors are assumed
  independent (baseline right with probability ``p``, SRA with ``p + delta``), which gives the most
  discordance of any positively correlated pair of arms and so errs on the side of more cases.
  The normal approximation undercounts for the exact test (by about 15% at +0.15 over 0.6), so by
  default the count is then refined with the test's exact unconditional power,
  :func:`sign_test_power` (unconditional: the number of discordant pairs is itself binomial).
- :func:`cases_needed_continuous` (Wilcoxon signed-rank on ROUGE, F1, perplexity): the paired
  t-test's count from ``TTestPower`` at effect size ``delta / sd``, divided by the Wilcoxon test's
  asymptotic relative efficiency (3/pi under normality; Lehmann, Nonparametrics, 1975).

Both return ``math.inf`` when ``delta <= 0`` (no number of cases shows a gain that is not there),
and never fewer than the exact tests' floor: below ``ceil(log2(1/alpha))`` non-tied pairs (5 at
alpha = 0.05) neither exact test can reach ``alpha`` at all.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestPower
from statsmodels.stats.proportion import proportion_effectsize

EXACT_LIMIT = 5000
"""Above this many cases :func:`cases_needed` keeps the normal approximation (exact power is slow there)."""
WILCOXON_ARE = 3 / math.pi
"""Asymptotic relative efficiency of the Wilcoxon signed-rank test to the t-test, normal data."""


def exact_floor(alpha: float) -> int:
    """Fewest non-tied pairs with which an exact one-sided sign or signed-rank test can reach ``alpha``."""
    _check_level(alpha, "alpha")
    return max(1, math.ceil(math.log2(1 / alpha) - 1e-12))


def discordance_if_independent(delta: float, baseline_rate: float) -> float:
    """Discordant fraction when the arms err independently at accuracies ``p`` and ``p + delta``."""
    sra_rate = baseline_rate + delta
    if not (0.0 <= baseline_rate <= 1.0 and 0.0 <= sra_rate <= 1.0):
        raise ValueError(f"rates must lie in [0, 1]: baseline {baseline_rate}, SRA {sra_rate}")
    return sra_rate * (1 - baseline_rate) + baseline_rate * (1 - sra_rate)


def discordant_pairs_needed(win_share: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Discordant pairs a one-sided sign test needs when SRA wins a ``win_share`` of them.

    ``NormalIndPower`` with ``ratio=0`` (one-sample z-test) at Cohen's arcsine effect size; at
    least :func:`exact_floor`; ``inf`` when ``win_share <= 1/2``.
    """
    _check_level(alpha, "alpha")
    _check_level(power, "power")
    if not 0.0 <= win_share <= 1.0:
        raise ValueError(f"win_share must lie in [0, 1], got {win_share}")
    if win_share <= 0.5:
        return math.inf
    effect = proportion_effectsize(win_share, 0.5)
    pairs = NormalIndPower().solve_power(
        effect_size=effect, nobs1=None, alpha=alpha, power=power, ratio=0, alternative="larger"
    )
    return max(float(pairs), float(exact_floor(alpha)))


def sign_test_power(n_cases: int, delta: float, discordance: float, *, alpha: float = 0.05) -> float:
    """Exact unconditional power of the one-sided exact McNemar test on ``n_cases`` paired cases.

    The discordant count is Binomial(n, ``discordance``); given m of them, SRA's wins are
    Binomial(m, w) with ``w = (q + delta) / (2 q)``; the test rejects at the critical value
    ``binom.isf(alpha, m, 1/2) + 1`` (as statsmodels' ``binom_test_reject_interval``).
    """
    _check_level(alpha, "alpha")
    q = discordance
    if not 0.0 < q <= 1.0 or q < abs(delta) - 1e-12:
        raise ValueError(f"discordance must lie in (|delta|, 1], got {q} for delta {delta}")
    win_share = min(1.0, max(0.0, (q + delta) / (2 * q)))
    m = np.arange(n_cases + 1)
    critical = stats.binom.isf(alpha, m, 0.5) + 1
    power_given_m = stats.binom.sf(critical - 1, m, win_share)
    return float(np.sum(stats.binom.pmf(m, n_cases, q) * power_given_m))


def cases_needed(
    delta: float,
    baseline_rate: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    discordance: float | None = None,
    exact: bool = True,
) -> int | float:
    """Paired 0/1 cases a one-sided exact McNemar test needs to show a gain ``delta`` at ``power``.

    ``delta`` is the gain in accuracy (SRA minus baseline, positive is better), ``baseline_rate``
    the baseline's accuracy, ``discordance`` the share of cases on which the arms disagree
    (observed, e.g. ``(b + c) / n``; by default from the independence assumption of
    :func:`discordance_if_independent`). ``exact=False`` gives statsmodels' normal-approximation
    count alone (also used above ``EXACT_LIMIT`` cases, where it is accurate); by default it is
    refined to the smallest n (found by bisection; the exact power is a sawtooth, so "about")
    whose :func:`sign_test_power` reaches ``power``. ``math.inf`` when ``delta <= 0``.
    """
    if not math.isfinite(delta) or delta <= 0:
        return math.inf
    if discordance is None:
        discordance = discordance_if_independent(delta, baseline_rate)
    if not 0.0 < discordance <= 1.0:
        raise ValueError(f"discordance must lie in (0, 1], got {discordance}")
    if discordance < delta - 1e-12:
        raise ValueError(f"a gain of {delta} needs at least that share of discordant cases, got {discordance}")
    discordance = max(discordance, delta)
    win_share = min(1.0, (discordance + delta) / (2 * discordance))
    pairs = discordant_pairs_needed(win_share, alpha=alpha, power=power)
    approx = max(math.ceil(pairs / discordance - 1e-9), exact_floor(alpha))
    if not exact or approx > EXACT_LIMIT:
        return approx

    def enough(n: int) -> bool:
        return sign_test_power(n, delta, discordance, alpha=alpha) >= power

    low, high = max(exact_floor(alpha), int(approx * 0.8)), approx
    while not enough(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high if not enough(low) else low


def cases_needed_continuous(
    delta: float,
    sd: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    efficiency: float = WILCOXON_ARE,
) -> int | float:
    """Paired cases a one-sided Wilcoxon signed-rank test needs to show a mean gain ``delta``.

    ``sd`` is the standard deviation of the per-case (oriented) differences. ``TTestPower`` gives
    the paired t-test's count at effect size ``delta / sd``; it is divided by ``efficiency``
    (default the Wilcoxon test's 3/pi; pass 1.0 for the t-test's own count). ``math.inf`` when
    ``delta <= 0``; the exact floor when ``sd == 0``.
    """
    _check_level(alpha, "alpha")
    _check_level(power, "power")
    if not math.isfinite(delta) or delta <= 0:
        return math.inf
    if not math.isfinite(sd) or sd < 0:
        raise ValueError(f"sd must be finite and >= 0, got {sd}")
    if not 0.0 < efficiency <= 1.5:
        raise ValueError(f"efficiency must lie in (0, 1.5], got {efficiency}")
    floor = exact_floor(alpha)
    if sd == 0:
        return floor
    effect, solver = delta / sd, TTestPower()
    if solver.power(effect_size=effect, nobs=floor, alpha=alpha, alternative="larger") >= power:
        return floor  # a huge effect: the exact test's floor is the binding constraint
    nobs = solver.solve_power(effect_size=effect, nobs=None, alpha=alpha, power=power, alternative="larger")
    return max(math.ceil(float(nobs) / efficiency - 1e-9), floor)


def _check_level(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
