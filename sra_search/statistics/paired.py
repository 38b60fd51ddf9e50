"""Evidence for a decision: a config against the no-SRA baseline, paired on the same cases.

Not to be confused with :mod:`sra_search.runtime.stats` (the runtime's attention statistics).
Every test, interval and power figure comes from scipy or statsmodels:

- :func:`paired_test` -- 0/1 scores: exact McNemar test, i.e. the sign test on the discordant
  pairs (``scipy.stats.binomtest`` on b = SRA-only-correct out of b + c); continuous scores
  (ROUGE, F1, perplexity): Wilcoxon signed-rank (``scipy.stats.wilcoxon``). Either way the interval
  for the mean paired gain is a seeded paired bootstrap (``scipy.stats.bootstrap``, BCa; statsmodels
  has no interval for a difference of paired proportions). The bootstrap resamples cases, i.e.
  their per-case gains, which for a mean of differences is the same as ``paired=True`` on the arms.
- :func:`holm` -- Holm's step-down adjustment over the buckets and tasks of one decision
  (``statsmodels.stats.multitest.multipletests``).
- sample sizes (how many cases would show a gain) live in :mod:`sra_search.statistics.power`.

Gains are oriented with :func:`objectives.compare.gain`: positive means SRA is better, whatever
the metric's sense (for perplexity lower is better).

**Which interval matches the test.** A one-sided test at ``alpha`` corresponds to a one-sided
``1 - alpha`` confidence bound, which is the lower end of the two-sided ``1 - 2 alpha`` interval.
So for ``alternative="greater"`` (the default) ``[ci_low, ci_high]`` is the two-sided
``2 * confidence - 1`` interval (90% at the default ``confidence=0.95``) and ``ci_low`` is a
one-sided 95% lower bound: :meth:`PairedEvidence.shown` (``p <= alpha`` and ``ci_low >= min_gain``)
then asks the test and the interval the same question. For ``alternative="two-sided"`` the interval
is the two-sided ``confidence`` one. ``interval_level`` records the two-sided coverage.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from sra_search.statistics.gain import gain
from sra_search.statistics.power import cases_needed, cases_needed_continuous
from sra_search.values import json_safe

Alternative = Literal["greater", "less", "two-sided"]
ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")
MCNEMAR = "exact McNemar (sign test)"
WILCOXON = "Wilcoxon signed-rank"
N_RESAMPLES = 9999
_DECIMALS = 12
"""Per-case gains are rounded to this many decimals, so that ties are not split by round-off."""


@dataclass(frozen=True)
class PairedEvidence:
    """A paired test of SRA against the baseline on the same ``n`` cases, with its interval.

    ``delta`` is the mean per-case gain (positive = SRA better); ``[ci_low, ci_high]`` is the
    bootstrap interval for it at two-sided coverage ``interval_level`` (see the module docstring
    for how it matches a one-sided test). For 0/1 scores ``sra_only`` (b), ``baseline_only`` (c),
    ``both`` and ``neither`` count the cases each arm got right ("right" is the better score: 1, or
    0 when lower is better); they are ``None`` for continuous scores. ``statistic`` is b for the
    McNemar test and scipy's Wilcoxon statistic (the positive rank sum for a one-sided test, the
    smaller rank sum for a two-sided one) for the signed-rank test.
    """

    n: int
    test: str
    statistic: float
    p_value: float
    alternative: str
    delta: float
    ci_low: float
    ci_high: float
    confidence: float
    interval_level: float
    ci_method: str
    higher_is_better: bool
    binary: bool
    sra_mean: float
    baseline_mean: float
    sd: float
    """Standard deviation of the per-case gains (``nan`` with fewer than two cases)."""
    p_method: str = ""
    """How the p-value was computed: exact, permutation, normal approximation, or none (degenerate)."""
    sra_only: int | None = None
    baseline_only: int | None = None
    both: int | None = None
    neither: int | None = None

    @property
    def direction(self) -> str:
        """What the data point to: "gain" or "loss" (by the alternative, or by delta's sign if two-sided)."""
        if self.alternative == "two-sided":
            return "loss" if self.delta < 0 else "gain"
        return "loss" if self.alternative == "less" else "gain"

    def shown(self, alpha: float = 0.05, min_gain: float = 0.0, *, p_value: float | None = None) -> bool:
        """Whether the data show the alternative: ``p <= alpha`` and the interval clears ``min_gain``.

        A gain (``"greater"``) needs ``ci_low >= min_gain``, a loss (``"less"``) needs
        ``ci_high <= -min_gain``; ``"two-sided"`` accepts either, so an export gate should use
        ``"greater"``. ``p_value`` replaces the test's own p (e.g. a Holm-adjusted one).
        """
        p = self.p_value if p_value is None else p_value
        if self.n == 0 or not p <= alpha:
            return False
        gain_shown = self.ci_low >= min_gain
        loss_shown = self.ci_high <= -min_gain
        return {"greater": gain_shown, "less": loss_shown}.get(self.alternative, gain_shown or loss_shown)

    def cases_needed(self, alpha: float = 0.05, power: float = 0.8) -> int | float:
        """About how many cases would show an effect of the observed size (``inf`` if none was seen).

        0/1 scores use the observed discordant share; continuous ones the observed SD of the gains
        (:mod:`sra_search.statistics.power`). A two-sided test is sized at ``alpha / 2``.
        """
        effect = {"greater": self.delta, "less": -self.delta}.get(self.alternative, abs(self.delta))
        if self.n == 0 or not math.isfinite(effect) or effect <= 0:
            return math.inf
        level = alpha / 2 if self.alternative == "two-sided" else alpha
        if self.binary:
            discordance = ((self.sra_only or 0) + (self.baseline_only or 0)) / self.n
            return cases_needed(effect, self.baseline_mean, alpha=level, power=power, discordance=discordance)
        sd = self.sd if math.isfinite(self.sd) else 0.0
        return cases_needed_continuous(effect, sd, alpha=level, power=power)

    def verdict(self, alpha: float = 0.05, min_gain: float = 0.0, *, p_value: float | None = None) -> str:
        """Plain words, e.g. ``+0.083 [-0.10, +0.27], p = 1.0 (exact McNemar, n = 12): not shown; ...``."""
        if self.n == 0:
            return "no paired cases: nothing shown"
        p = self.p_value if p_value is None else p_value
        head = f"{_interval_text(self.delta, self.ci_low, self.ci_high)}, {format_p(p)}"
        if p_value is not None:
            head += " (adjusted)"
        head += f" ({self.test.split(' (')[0]}, n = {self.n})"
        if self.shown(alpha, min_gain, p_value=p_value):
            return f"{head}: {self.direction} shown"
        effect = {"greater": self.delta, "less": -self.delta}.get(self.alternative, abs(self.delta))
        if not effect > 0:
            what = "no difference observed" if self.delta == 0 else f"no {self.direction} observed"
            return f"{head}: not shown; {what}"
        if p <= alpha:
            bound = self.ci_high if self.direction == "loss" else self.ci_low
            return f"{head}: not shown; the interval's bound {bound:+.3f} does not clear the minimum gain {min_gain:g}"
        needed = self.cases_needed(alpha)
        size = "about " + f"{needed:,}" if math.isfinite(needed) else "no number of"
        return f"{head}: not shown; {size} cases would show a {self.direction} of this size"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite floats become ``None``)."""
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PairedEvidence":
        """The inverse of :meth:`to_dict` (``None`` floats come back as ``nan``); unknown keys are ignored."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known:
                continue
            if value is None and name in _FLOAT_FIELDS:
                value = math.nan
            values[name] = value
        return cls(**values)


_FLOAT_FIELDS = frozenset({"statistic", "p_value", "delta", "ci_low", "ci_high", "sra_mean", "baseline_mean", "sd"})


def paired_test(
    sra_scores: Sequence[float],
    baseline_scores: Sequence[float],
    *,
    higher_is_better: bool = True,
    alternative: Alternative = "greater",
    confidence: float = 0.95,
    binary: bool | None = None,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
) -> PairedEvidence:
    """Test SRA's per-case scores against the baseline's on the same cases (same order).

    0/1 scores (detected when every score is 0 or 1, or forced with ``binary=True``) get the exact
    McNemar test, others the Wilcoxon signed-rank test; both get a seeded BCa paired-bootstrap
    interval for the mean gain (percentile where BCa is undefined). ``alternative="greater"`` asks
    whether SRA is better. Degenerate inputs do not raise: no cases give ``p = 1`` and ``nan``
    estimates; all pairs equal give ``p = 1`` and the interval ``[0, 0]``.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0.5, 1), got {confidence}")
    sra = np.asarray(sra_scores, dtype=float).ravel()
    base = np.asarray(baseline_scores, dtype=float).ravel()
    if sra.shape != base.shape:
        raise ValueError(f"paired scores differ in length: {sra.size} SRA, {base.size} baseline")
    if not (np.isfinite(sra).all() and np.isfinite(base).all()):
        raise ValueError("scores must be finite")
    is01 = bool(np.isin(sra, (0.0, 1.0)).all() and np.isin(base, (0.0, 1.0)).all())
    if binary is None:
        binary = is01
    elif binary and not is01:
        raise ValueError("binary=True needs every score to be 0 or 1")

    n = int(sra.size)
    gains = np.sort(np.round(gain(sra, base, higher_is_better), _DECIMALS))
    interval_level = confidence if alternative == "two-sided" else round(2 * confidence - 1, 12)
    ci_low, ci_high, ci_method = _bootstrap_interval(gains, interval_level, seed, n_resamples)
    common = dict(
        n=n,
        alternative=alternative,
        delta=float(gains.mean()) if n else math.nan,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        interval_level=interval_level,
        ci_method=ci_method,
        higher_is_better=higher_is_better,
        binary=binary,
        sra_mean=float(sra.mean()) if n else math.nan,
        baseline_mean=float(base.mean()) if n else math.nan,
        sd=float(gains.std(ddof=1)) if n > 1 else math.nan,
    )
    if binary:
        return _mcnemar(sra, base, gains, higher_is_better, alternative, common)
    return _wilcoxon(gains, alternative, seed, common)


def _mcnemar(sra, base, gains, higher_is_better, alternative, common) -> PairedEvidence:
    """Exact McNemar: the two-sided or one-sided binomial test of b out of b + c at 1/2."""
    good = 1.0 if higher_is_better else 0.0
    sra_right, base_right = sra == good, base == good
    b, c = int((gains > 0).sum()), int((gains < 0).sum())
    both, neither = int((sra_right & base_right).sum()), int((~sra_right & ~base_right).sum())
    if b + c == 0:
        p, p_method = 1.0, "none (no discordant pairs)"
    else:
        p, p_method = float(stats.binomtest(b, b + c, 0.5, alternative=alternative).pvalue), "exact"
    if not common["n"]:
        p_method = "none (no cases)"
    return PairedEvidence(
        test=MCNEMAR, statistic=float(b), p_value=p, p_method=p_method,
        sra_only=b, baseline_only=c, both=both, neither=neither, **common,
    )  # fmt: skip


def _wilcoxon(gains, alternative, seed, common) -> PairedEvidence:
    """Wilcoxon signed-rank on the non-zero gains (zeros dropped, as the sign test drops ties).

    Exact p when at most 50 non-zero gains and no ties among their sizes; with ties, a seeded
    permutation p for up to 50 (exhaustive up to 13); the tie-corrected normal approximation above.
    """
    nonzero = gains[gains != 0]
    if nonzero.size == 0:
        p_method = "none (no cases)" if not common["n"] else "none (all pairs equal)"
        return PairedEvidence(test=WILCOXON, statistic=0.0, p_value=1.0, p_method=p_method, **common)
    tied = np.unique(np.abs(nonzero)).size < nonzero.size
    if nonzero.size > 50:
        method, p_method = "asymptotic", "normal approximation"
    elif tied:
        method = stats.PermutationMethod(n_resamples=9999, rng=np.random.default_rng(seed))
        p_method = "permutation" if 2**nonzero.size > 9999 else "exact (all sign flips)"
    else:
        method, p_method = "exact", "exact"
    result = stats.wilcoxon(nonzero, zero_method="wilcox", alternative=alternative, method=method)
    return PairedEvidence(
        test=WILCOXON, statistic=float(result.statistic), p_value=float(min(1.0, result.pvalue)),
        p_method=p_method, **common,
    )  # fmt: skip


def _bootstrap_interval(gains: np.ndarray, level: float, seed: int, n_resamples: int) -> tuple[float, float, str]:
    """Seeded BCa bootstrap interval for the mean gain; percentile where BCa is undefined."""
    if gains.size == 0:
        return math.nan, math.nan, "none (no cases)"
    if gains.size == 1:
        return math.nan, math.nan, "none (one case)"
    if gains[0] == gains[-1]:  # sorted: every gain equal, nothing varies under resampling
        value = float(gains[0])
        return value, value, "none (all gains equal)"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # DegenerateDataWarning where BCa is undefined
            res = stats.bootstrap(
                (gains,), np.mean, n_resamples=n_resamples, confidence_level=level,
                method=method, rng=np.random.default_rng(seed), batch=max(1, 2_000_000 // gains.size),
            )  # fmt: skip
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return low, high, f"paired bootstrap ({method}, {n_resamples} resamples, seed {seed})"
    return math.nan, math.nan, "none (bootstrap undefined)"


@dataclass(frozen=True)
class HolmResult:
    """Holm-adjusted p-values, in the order given, and which hypotheses are rejected at ``alpha``."""

    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return json_safe(asdict(self))


def holm(p_values: Sequence[float], alpha: float = 0.05) -> HolmResult:
    """Holm's step-down adjustment (``multipletests(method="holm")``); ``nan`` p-values count as 1."""
    ps = np.asarray(list(p_values), dtype=float)
    if ps.size == 0:
        return HolmResult((), (), alpha)
    ps = np.where(np.isnan(ps), 1.0, np.clip(ps, 0.0, 1.0))
    rejected, adjusted, _, _ = multipletests(ps, alpha=alpha, method="holm")
    return HolmResult(tuple(float(p) for p in adjusted), tuple(bool(r) for r in rejected), alpha)


def format_p(p: float) -> str:
    """A p-value in words: ``p = 1.0``, ``p = 0.5``, ``p = 0.0312``, ``p < 0.001``."""
    if not math.isfinite(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.3g}"
    return "p = " + (text if "." in text else text + ".0")


def _interval_text(delta: float, low: float, high: float) -> str:
    """``+0.083 [-0.10, +0.27]``: two decimals for the bounds unless the interval is narrow."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{delta:+.3f} [no interval]"
    digits = 2 if math.isfinite(high - low) and high - low >= 0.1 else 3
    return f"{delta:+.3f} [{low:+.{digits}f}, {high:+.{digits}f}]"
