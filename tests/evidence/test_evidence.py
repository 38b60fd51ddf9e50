"""sra_search.statistics.paired and sra_search.statistics.power against published reference values.

Each reference is cited where it is used and, where it can be, re-derived independently here
(by arithmetic or by brute-force enumeration) rather than trusted from the library under test.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from objectives.compare import gain
from sra_search.statistics.paired import MCNEMAR, WILCOXON, PairedEvidence, format_p, holm, paired_test
from sra_search.statistics.power import (
    cases_needed,
    cases_needed_continuous,
    discordance_if_independent,
    discordant_pairs_needed,
    exact_floor,
    sign_test_power,
)


def arms(both: int, sra_only: int, baseline_only: int, neither: int) -> tuple[list[int], list[int]]:
    """Per-case 0/1 scores (SRA, baseline) with the given 2x2 paired counts."""
    sra = [1] * both + [1] * sra_only + [0] * baseline_only + [0] * neither
    base = [1] * both + [0] * sra_only + [1] * baseline_only + [0] * neither
    return sra, base


# --- exact McNemar -----------------------------------------------------------------------------


def test_mcnemar_agresti_approval_ratings():
    # Agresti, Categorical Data Analysis (2nd ed., 2002), Sec. 10.1, Table 10.1 (and An Introduction
    # to Categorical Data Analysis, ch. 8): 1600 people rated the same leader in two surveys.
    # Approve/approve 794, approve/disapprove 150, disapprove/approve 86, disapprove/disapprove 570.
    # Published: McNemar z = (86 - 150) / sqrt(236) = -4.17, z^2 = 17.36; the difference of the
    # marginal proportions 0.55 - 0.59 = -0.04, SE 0.0095, 95% Wald CI (-0.06, -0.02).
    # The second survey plays SRA: SRA-only "right" = 86, baseline-only = 150.
    sra, base = arms(794, 86, 150, 570)
    ev = paired_test(sra, base, alternative="two-sided", confidence=0.95)
    assert ev.test == MCNEMAR and ev.binary
    assert (ev.n, ev.sra_only, ev.baseline_only, ev.both, ev.neither) == (1600, 86, 150, 794, 570)
    assert ev.delta == pytest.approx(-0.04)
    assert ev.sra_mean == pytest.approx(880 / 1600) and ev.baseline_mean == pytest.approx(944 / 1600)
    assert mcnemar([[794, 150], [86, 570]], exact=False, correction=False).statistic == pytest.approx(17.36, abs=0.005)
    # the exact two-sided p agrees with statsmodels' exact McNemar and with the binomial by hand
    assert ev.p_value == pytest.approx(mcnemar([[794, 150], [86, 570]], exact=True).pvalue, rel=1e-9)
    assert ev.p_value == pytest.approx(2 * stats.binom.cdf(86, 236, 0.5), rel=1e-9)
    assert ev.p_value < 1e-4
    # the paired-bootstrap 95% interval agrees with Agresti's Wald interval to within 0.002
    se = math.sqrt(236 - 64**2 / 1600) / 1600
    assert se == pytest.approx(0.0095, abs=0.0001)
    assert ev.interval_level == 0.95
    assert ev.ci_low == pytest.approx(-0.04 - 1.96 * se, abs=0.002)
    assert ev.ci_high == pytest.approx(-0.04 + 1.96 * se, abs=0.002)
    assert ev.shown(0.05) and ev.direction == "loss"  # a two-sided test shows the drop
    assert not paired_test(sra, base).shown(0.05)  # ... which is no gain


def test_mcnemar_fagerland_airway_example():
    # Fagerland, Lydersen & Laake (2013), "The McNemar test for binary matched-pairs data: mid-p and
    # asymptotic are better than exact conditional", BMC Med Res Methodol 13:91, Table 1 (Bentur et
    # al.): AHR before/after stem cell transplantation in 21 children, counts 1 / 1 / 7 / 12. Their
    # exact conditional two-sided p = 2 * binomcdf(1, 8, 0.5) = 18/256 = 0.070; the asymptotic
    # McNemar p = 0.034 (chi2 = 36/8 = 4.5).
    sra, base = arms(1, 7, 1, 12)  # "after" plays SRA: 7 gained AHR, 1 lost it
    two = paired_test(sra, base, alternative="two-sided")
    assert two.p_value == pytest.approx(18 / 256, rel=1e-12)
    assert round(two.p_value, 3) == 0.070
    assert two.p_value == pytest.approx(mcnemar([[1, 1], [7, 12]], exact=True).pvalue, rel=1e-12)
    assert round(mcnemar([[1, 1], [7, 12]], exact=False, correction=False).pvalue, 3) == 0.034
    one = paired_test(sra, base)  # one-sided, SRA better
    assert one.p_value == pytest.approx(9 / 256, rel=1e-12)
    assert one.statistic == 7.0 and one.p_method == "exact"
    assert one.delta == pytest.approx(6 / 21)


def test_issue_example_one_case_either_way():
    # Issue 12: 11 of 12 against 10 of 12 with one discordant case: "an exact paired test gives p = 1.0".
    sra, base = arms(10, 1, 0, 1)
    assert paired_test(sra, base, alternative="two-sided").p_value == 1.0
    ev = paired_test(sra, base)
    assert ev.p_value == 0.5 and ev.delta == pytest.approx(1 / 12)
    text = ev.verdict()
    assert text.startswith("+0.083 [") and "p = 0.5 (exact McNemar, n = 12): not shown; about " in text
    assert text.endswith(" cases would show a gain of this size")
    assert ev.cases_needed() > 12


def test_auto_detection_and_binary_flag():
    assert paired_test([1, 0, 1], [0, 0, 1]).test == MCNEMAR
    assert paired_test([1.0, 0.5, 1.0], [0.0, 0.0, 1.0]).test == WILCOXON
    assert paired_test([1, 0, 1], [0, 0, 1], binary=False).test == WILCOXON
    with pytest.raises(ValueError, match="0 or 1"):
        paired_test([0.5, 1.0], [0.0, 1.0], binary=True)


# --- Wilcoxon signed-rank ----------------------------------------------------------------------

# Darwin's Zea mays data (cross- minus self-fertilised heights, eighths of an inch), as analysed
# by Fisher (The Design of Experiments, 1935) and in the scipy.stats.wilcoxon docstring, which
# prints the exact p-values 0.041259765625 (two-sided, T = 24) and 0.0206298828125 (greater, T+ = 96).
DARWIN = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def brute_force_signed_rank_p(d: list[float]) -> float:
    """One-sided (greater) exact p by enumerating all 2^n sign flips of the mid-ranks of |d|."""
    d = [x for x in d if x != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = ranks[np.asarray(d) > 0].sum()
    flips = np.array(list(itertools.product((0, 1), repeat=len(d))))
    sums = flips @ ranks
    return float(np.mean(sums >= observed - 1e-9))


def test_wilcoxon_darwin_zea_mays():
    zeros = [0] * len(DARWIN)
    one = paired_test(DARWIN, zeros)
    assert one.test == WILCOXON and not one.binary and one.p_method == "exact"
    assert one.statistic == 96.0
    assert one.p_value == pytest.approx(0.0206298828125, rel=1e-12)
    assert one.p_value == pytest.approx(brute_force_signed_rank_p(DARWIN), rel=1e-12)
    two = paired_test(DARWIN, zeros, alternative="two-sided")
    assert (two.statistic, two.p_value) == (24.0, pytest.approx(0.041259765625, rel=1e-12))
    assert one.delta == pytest.approx(np.mean(DARWIN))
    assert one.ci_low < one.delta < one.ci_high
    assert one.shown(0.05)
    assert "gain shown" in one.verdict()


def test_wilcoxon_ties_and_zeros_use_all_sign_flips():
    # zeros are dropped (as McNemar drops concordant pairs); ties among |d| use mid-ranks and,
    # with at most 13 non-zero gains, every sign flip; checked against an independent enumeration.
    d = [0.2, 0.2, -0.1, 0.3, 0.0, 0.1, 0.3, 0.0, 0.4]
    ev = paired_test(np.asarray(d) + 0.5, [0.5] * len(d))
    assert ev.p_method.startswith("exact")
    assert ev.p_value == pytest.approx(brute_force_signed_rank_p(d), abs=1e-12)


def test_wilcoxon_p_methods_by_size():
    rng = np.random.default_rng(0)
    tied = np.round(rng.normal(0.05, 0.1, 30), 1)  # ties among |d|, 14..50 non-zero: seeded permutation
    ev = paired_test(tied + 0.5, np.full(30, 0.5))
    assert ev.p_method == "permutation"
    nonzero = tied[np.round(tied, 12) != 0]
    approx = stats.wilcoxon(nonzero, alternative="greater", method="asymptotic").pvalue
    assert ev.p_value == pytest.approx(approx, abs=0.01)
    many = np.round(rng.normal(0.05, 0.1, 80), 2)  # over 50: tie-corrected normal approximation
    assert paired_test(many + 0.5, np.full(80, 0.5)).p_method == "normal approximation"


def test_continuous_orientation_follows_compare_gain():
    rng = np.random.default_rng(3)
    base = rng.uniform(10, 20, size=30)
    sra = base - rng.normal(0.5, 0.4, size=30)  # perplexity: lower is better, SRA lower here
    ev = paired_test(sra, base, higher_is_better=False)
    assert ev.delta == pytest.approx(np.mean(gain(sra, base, False))) and ev.delta > 0
    assert ev.shown(0.05) and ev.p_value < 0.001
    flipped = paired_test(base, sra, higher_is_better=False)
    assert flipped.delta == pytest.approx(-ev.delta) and not flipped.shown(0.05)
    assert "no gain observed" in flipped.verdict()
    assert paired_test(sra, base, higher_is_better=True).delta == pytest.approx(-ev.delta)


def test_round_off_does_not_split_ties():
    # scipy's docstring: x - y of these gives four distinct |d| by round-off; the intended test
    # (d = [-0.025, 0.05, 0.05, -0.05]) has T+ = 6, p = 0.5.
    x, y = [0.5, 0.825, 0.375, 0.5], [0.525, 0.775, 0.325, 0.55]
    ev = paired_test(x, y)
    assert (ev.statistic, ev.p_value) == (6.0, 0.5)


# --- intervals, degenerate inputs, records -----------------------------------------------------


def test_one_sided_bound_is_the_lower_end_of_the_two_sided_1_minus_2alpha_interval():
    sra, base = arms(40, 14, 4, 42)
    ev = paired_test(sra, base, confidence=0.95)
    assert ev.interval_level == 0.9
    gains = np.sort(np.asarray(sra) - np.asarray(base)).astype(float)
    ref = stats.bootstrap((gains,), np.mean, n_resamples=9999, confidence_level=0.9, rng=np.random.default_rng(0))
    assert ev.ci_low == pytest.approx(ref.confidence_interval.low)
    assert ev.ci_high == pytest.approx(ref.confidence_interval.high)
    assert "BCa" in ev.ci_method
    assert ev.p_value == pytest.approx(stats.binom.sf(13, 18, 0.5))
    assert ev.shown(0.05) and ev.ci_low > 0
    assert not ev.shown(0.05, min_gain=0.2)  # the bound does not reach a larger minimum gain
    assert "does not clear the minimum gain 0.2" in ev.verdict(0.05, min_gain=0.2)
    assert not ev.shown(0.05, p_value=0.2)  # e.g. a Holm-adjusted p
    assert "(adjusted)" in ev.verdict(0.05, p_value=0.2)


def test_result_depends_on_the_cases_not_their_order():
    sra, base = arms(30, 9, 3, 18)
    order = np.random.default_rng(1).permutation(len(sra))
    shuffled = paired_test(np.asarray(sra)[order], np.asarray(base)[order])
    assert shuffled == paired_test(sra, base)  # seeded: the same cases give the same record
    assert "seed 0" in shuffled.ci_method


def test_no_cases():
    ev = paired_test([], [])
    assert ev.n == 0 and ev.p_value == 1.0 and math.isnan(ev.delta) and math.isnan(ev.ci_low)
    assert not ev.shown(0.05)
    assert ev.verdict() == "no paired cases: nothing shown"
    assert ev.cases_needed() == math.inf
    assert ev.to_dict()["delta"] is None


@pytest.mark.parametrize("scores", [[1, 0, 1, 1], [0.3, 0.7, 0.5]])
def test_all_pairs_equal(scores):
    ev = paired_test(scores, list(scores))
    assert (ev.p_value, ev.delta, ev.ci_low, ev.ci_high) == (1.0, 0.0, 0.0, 0.0)
    assert not ev.shown(0.05)
    assert ev.verdict().endswith("not shown; no difference observed")
    assert ev.cases_needed() == math.inf


@pytest.mark.parametrize("sra, base", [([1], [0]), ([0.9], [0.4])])
def test_one_case(sra, base):
    ev = paired_test(sra, base)
    assert ev.n == 1 and ev.p_value == 0.5 and ev.delta > 0
    assert math.isnan(ev.ci_low) and ev.ci_method == "none (one case)"
    assert not ev.shown(0.05)
    assert "[no interval]" in ev.verdict() and "cases would show a gain" in ev.verdict()


def test_bad_input():
    with pytest.raises(ValueError, match="length"):
        paired_test([1, 0], [1])
    with pytest.raises(ValueError, match="finite"):
        paired_test([1.0, math.nan], [1.0, 0.0])
    with pytest.raises(ValueError, match="alternative"):
        paired_test([1], [0], alternative="bigger")  # type: ignore[arg-type]


def test_to_dict_is_json_and_round_trips():
    ev = paired_test(*arms(5, 3, 1, 3))
    data = ev.to_dict()
    json.dumps(data, allow_nan=False)
    assert PairedEvidence.from_dict(data) == ev
    empty = paired_test([], [])
    back = PairedEvidence.from_dict(json.loads(json.dumps(empty.to_dict(), allow_nan=False)))
    assert back.n == 0 and math.isnan(back.delta)
    assert PairedEvidence.from_dict({**data, "added_later": 1}) == ev


def test_format_p():
    assert [format_p(p) for p in (1.0, 0.5, 0.03125, 0.0004)] == ["p = 1.0", "p = 0.5", "p = 0.0312", "p < 0.001"]


# --- Holm --------------------------------------------------------------------------------------


def test_holm_wikipedia_example():
    # Wikipedia, "Holm-Bonferroni method", Example: p = 0.01, 0.04, 0.03, 0.005 at alpha = 0.05;
    # hypotheses 1 and 4 are rejected, 2 and 3 are not. Adjusted p by hand (Holm 1979 step-down,
    # min(1, max over earlier (m - j + 1) p_(j))): sorted 0.005*4 = 0.02, 0.01*3 = 0.03,
    # 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06.
    result = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert result.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.rejected == (True, False, False, True)
    json.dumps(result.to_dict(), allow_nan=False)


def test_holm_edge_cases():
    assert holm([]).adjusted == () and holm([]).rejected == ()
    assert holm([0.5]).adjusted == (0.5,)
    assert holm([math.nan, 0.001]).adjusted == pytest.approx((1.0, 0.002))
    assert holm([0.4, 0.4, 0.4]).adjusted == pytest.approx((1.0, 1.0, 1.0))  # capped at 1


# --- sample sizes ------------------------------------------------------------------------------


def test_t_test_sample_size_matches_g_power():
    # G*Power 3 (Faul et al. 2007), t tests - Means: difference from constant (one sample case),
    # equivalently matched pairs: d = 0.5, alpha = 0.05, power 0.80 -> N = 27 one-tailed (N = 34
    # two-tailed). Re-derived here from the noncentral t distribution.
    assert cases_needed_continuous(0.5, 1.0, efficiency=1.0) == 27
    assert cases_needed_continuous(0.5, 1.0, alpha=0.025, efficiency=1.0) == 34  # = two-tailed 0.05

    def power(n: int, alpha: float = 0.05) -> float:
        crit = stats.t.isf(alpha, n - 1)
        return float(stats.nct.sf(crit, n - 1, 0.5 * math.sqrt(n)))

    assert power(27) >= 0.8 > power(26)
    # the Wilcoxon count is the t-test's unrounded 26.14 over the A.R.E. 3/pi: 27.37 -> 28
    assert cases_needed_continuous(0.5, 1.0) == 28


def test_continuous_sample_size_edges():
    assert cases_needed_continuous(0.0, 1.0) == math.inf
    assert cases_needed_continuous(-0.1, 1.0) == math.inf
    assert cases_needed_continuous(0.1, 0.0) == exact_floor(0.05) == 5
    assert cases_needed_continuous(20.0, 1.0) == 5  # a huge effect still needs the exact test's floor
    assert cases_needed_continuous(0.1, 1.0) > cases_needed_continuous(0.2, 1.0)


def test_sign_test_discordant_pairs_follow_cohens_arcsine_formula():
    # Cohen (1988), Statistical Power Analysis, ch. 6: h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2)),
    # one-sample n = ((z_(1-alpha) + z_(1-beta)) / h)^2 for a one-tailed test.
    for w in (0.6, 2 / 3, 0.75):
        h = 2 * math.asin(math.sqrt(w)) - 2 * math.asin(math.sqrt(0.5))
        expected = ((stats.norm.isf(0.05) + stats.norm.isf(0.2)) / h) ** 2
        assert discordant_pairs_needed(w) == pytest.approx(max(expected, 5), rel=1e-6)
    assert discordant_pairs_needed(0.5) == math.inf
    assert exact_floor(0.05) == 5 and exact_floor(0.03125) == 5 and exact_floor(0.01) == 7


def test_sign_test_power_matches_enumeration():
    # exact unconditional power by enumerating every (b, c) of a trinomial and running binomtest
    n, delta, q, alpha = 20, 0.2, 0.4, 0.05
    pb, pc = (q + delta) / 2, (q - delta) / 2
    total = 0.0
    for b in range(n + 1):
        for c in range(n + 1 - b):
            prob = stats.multinomial.pmf([b, c, n - b - c], n, [pb, pc, 1 - pb - pc])
            if b + c and stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue <= alpha:
                total += prob
    assert sign_test_power(n, delta, q, alpha=alpha) == pytest.approx(total, rel=1e-9)
    assert sign_test_power(n, 0.0, q, alpha=alpha) <= alpha  # the exact test keeps its level


def test_cases_needed_binary():
    # independence: baseline 0.6, SRA 0.75 -> b = 0.75 * 0.4 = 0.30, c = 0.6 * 0.25 = 0.15
    assert discordance_if_independent(0.15, 0.6) == pytest.approx(0.45)
    n = cases_needed(0.15, 0.6)
    assert sign_test_power(n, 0.15, 0.45) >= 0.8 > sign_test_power(n - 1, 0.15, 0.45)
    approx = cases_needed(0.15, 0.6, exact=False)
    assert approx == math.ceil(discordant_pairs_needed(2 / 3) / 0.45)
    assert approx < n  # the normal approximation undercounts for the exact test
    assert cases_needed(0.15, 0.6, discordance=0.21) < n  # correlated arms need fewer cases
    assert cases_needed(0.0, 0.6) == math.inf and cases_needed(-0.1, 0.6) == math.inf
    assert cases_needed(0.15, 0.6, discordance=0.15) >= 5  # every discordant pair a win
    with pytest.raises(ValueError):
        cases_needed(0.2, 0.6, discordance=0.1)
    assert cases_needed(0.002, 0.6) > 100_000  # large counts stay fast (normal approximation)
