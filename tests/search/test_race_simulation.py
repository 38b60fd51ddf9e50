"""The simulated race: the doubling rule's early stops against exact probabilities, and the
sign test's false-prune rate as docs/search.md quotes it."""

import itertools
from math import comb

import pytest

from sra_search.search.strategies.race_simulation import false_prune_rate, simulate_race


def _behind_at(n: int, discordance: float) -> float:
    """Exact P(more discordant cases against the trial than for it after n cases), equal trials."""
    q = discordance / 2
    total = 0.0
    for b, c in itertools.product(range(n + 1), repeat=2):
        if b + c <= n and c > b:
            total += comb(n, b) * comb(n - b, c) * q**b * q**c * (1 - discordance) ** (n - b - c)
    return total


@pytest.mark.parametrize("discordance", [0.2, 0.5])
def test_the_doubling_rule_stops_an_equal_trial_as_often_as_it_is_behind(discordance):
    # One stage end (8) before max_cases (16); with alpha tiny the sign test never fires.
    rates = simulate_race(discordance, [8, 16], 4, 1e-9, sims=40_000, seed=3)
    assert rates.pruned == 0.0
    assert rates.stopped == pytest.approx(_behind_at(8, discordance), abs=0.01)


def test_a_lower_first_stage_stops_more_trials_and_a_better_trial_fewer():
    equal8 = simulate_race(0.3, [8, 16], 4, 0.1, sims=20_000)
    equal4 = simulate_race(0.3, [4, 8, 16], 4, 0.1, sims=20_000)
    better4 = simulate_race(0.3, [4, 8, 16], 4, 0.1, worse_by=-0.5, sims=20_000)
    assert equal4.short > equal8.short + 0.03
    assert better4.short < equal4.short - 0.1
    assert simulate_race(0.0, [4, 8, 16], 4, 0.1, sims=2000).short == 0.0  # nothing discordant, nothing stops


def test_promote_above_also_stops_a_trial_that_only_ties():
    # No case discordant: under "level" every race runs to max_cases, under "above" every one stops
    # at the first stage's end (a tie is not a lead).
    assert simulate_race(0.0, [4, 8, 16], 4, 0.1, sims=2000, promote="above").stopped == 1.0
    # An equal trial stops at 8 cases when it is not ahead: exactly P(c >= b) = 1 - P(b > c) = 1 - P(c > b).
    rates = simulate_race(0.3, [8, 16], 4, 1e-9, sims=40_000, seed=3, promote="above")
    assert rates.stopped == pytest.approx(1 - _behind_at(8, 0.3), abs=0.01)
    better = simulate_race(0.3, [4, 8, 16], 4, 0.1, worse_by=-0.5, promote="above")
    assert better.short > simulate_race(0.3, [4, 8, 16], 4, 0.1, worse_by=-0.5).short + 0.2


def test_the_false_prune_rates_docs_quote():
    # docs/search.md, "test = sign": 20,000 races of 8 -> 16 -> 32 in chunks of 4, p_threshold 0.1.
    assert round(100 * false_prune_rate(0.3, [8, 16, 32], 4, 0.1), 2) == 0.74
    assert round(100 * false_prune_rate(0.3, [8, 16, 32], 4, 0.1, worse_by=1.0), 1) == 77.8
