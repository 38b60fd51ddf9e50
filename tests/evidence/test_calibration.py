"""Issue 12, item 6: the export gate is calibrated. 1,000 simulated studies per scenario, seeded.

The gate is ``p <= 0.05`` (one-sided exact McNemar) and the bootstrap lower bound ``>= 0``, as
:meth:`sra_search.statistics.paired.PairedEvidence.shown` applies it; the design is in
:mod:`sra_search.statistics.simulation` (SRA repeats the baseline's answer except on a random ``redraw``
share of the cases, where it is drawn afresh; ``redraw = 1`` means independent arms).
"""

from __future__ import annotations

import pytest

from sra_search.statistics.power import cases_needed, sign_test_power
from sra_search.statistics.simulation import RECOMMENDED_HELD_OUT, design_discordance, gate_rate, main, simulate_counts

N = RECOMMENDED_HELD_OUT  # 150


@pytest.mark.parametrize("redraw", [0.5, 1.0])
def test_no_effect_publishes_at_most_5_percent(redraw):
    rate = gate_rate(N, baseline_rate=0.6, effect=0.0, redraw=redraw, n_studies=1000, seed=0)
    assert rate.rate <= 0.05, rate
    # the exact test's level, computed exactly for this design, is below alpha as well
    assert sign_test_power(N, 0.0, design_discordance(0.6, 0.0, redraw)) <= 0.05


@pytest.mark.parametrize("redraw", [0.5, 1.0])
def test_a_15_point_gain_at_60_percent_publishes_at_least_80_percent(redraw):
    rate = gate_rate(N, baseline_rate=0.6, effect=0.15, redraw=redraw, n_studies=1000, seed=0)
    assert rate.rate >= 0.8, rate
    # the simulation agrees with the exact power of the test alone (the interval costs ~nothing)
    exact = sign_test_power(N, 0.15, design_discordance(0.6, 0.15, redraw))
    assert abs(rate.rate - exact) <= 3 * (exact * (1 - exact) / 1000) ** 0.5 + 0.01
    # and the sample-size helper asks for no more than N cases for either design
    assert cases_needed(0.15, 0.6, discordance=design_discordance(0.6, 0.15, redraw)) <= N


def test_simulated_design_has_the_intended_rates():
    counts = simulate_counts(400, baseline_rate=0.6, effect=0.15, redraw=0.5, n_studies=200, seed=1)
    b, c = counts[:, 0].mean() / 400, counts[:, 1].mean() / 400
    assert b - c == pytest.approx(0.15, abs=0.01)  # SRA's accuracy is the baseline's + 0.15
    assert b + c == pytest.approx(design_discordance(0.6, 0.15, 0.5), abs=0.01)
    with pytest.raises(ValueError, match="no such design"):
        simulate_counts(10, baseline_rate=0.6, effect=0.15, redraw=0.2)


def test_seeded_and_deterministic():
    first = gate_rate(40, effect=0.15, n_studies=200, seed=7)
    assert first == gate_rate(40, effect=0.15, n_studies=200, seed=7)
    assert first.to_dict()["n_cases"] == 40


def test_cli_prints_rates(capsys):
    assert main(["--n-cases", "30", "--studies", "50", "--step", "50"]) == 0
    out = capsys.readouterr().out
    assert "no effect:" in out and "with effect:" in out and "published" in out
