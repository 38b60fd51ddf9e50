"""`benchmarks/case_signal.py`: agreement of the gold log-likelihood with free answers, and a race on
it replayed, on hand-made recordings and signals whose figures are worked out by hand."""

import pytest

from benchmarks import case_signal as cs
from benchmarks.racing_replay import Recorded, Recording
from sra_search.config import SRAConfig

N = 8
FEASIBLE = {"perplexity_ratio": -0.1}


def _cfg(i: int) -> SRAConfig:
    return SRAConfig(tau_in=0.1 + 0.1 * i, tau_ou=0.5, s_in=2.0, s_ou=2.0, c_s=2, c_e=16)


def _setup(tmp_path, trials):
    """``trials``: (free scores, per-case signal, constraints). Baseline: right on even cases, signal 0."""
    base = [1.0 if i % 2 == 0 else 0.0 for i in range(N)]
    cache = cs.SignalCache({"model": "m", "n": N}, tmp_path / "s.pkl")
    cache.put(cs.BASELINE, [[0.0, 0.0]] * N)
    recorded = []
    for i, (scores, signal, constraints) in enumerate(trials):
        recorded.append(Recorded(i, _cfg(i), tuple(f"k:{j}" for j in range(len(scores))), tuple(scores), constraints))
        cache.put(cs.config_key(_cfg(i)), [[s, s - 1.0] for s in signal])
    rec = Recording("rec", {}, {"case_scores": base}, tuple(recorded), 6.0, 0)
    return rec, cache


def test_agreement_counts_discordant_cases_whose_signal_moves_the_same_way(tmp_path):
    flip = [0.0 if i % 2 == 0 else 1.0 for i in range(N)]  # discordant with the baseline on every case
    agrees = [-1.0 if i % 2 == 0 else 1.0 for i in range(N)]  # the signal moves with the answer
    half = [1.0] * N  # moves up everywhere: agrees on the 4 odd cases only
    rec, cache = _setup(tmp_path, [(flip, agrees, FEASIBLE), (flip, half, FEASIBLE)])
    a = cs.agreement([rec], cache, "mean", N)
    assert (a.discordant, a.same_sign) == (16, 12)
    assert a.same_sign_share == 0.75 and a.interval[0] < 0.75 < a.interval[1]
    assert a.trials_16 == 2
    # Right answers (odd cases) carry signal 1 in both trials, wrong ones -1 or 1: AUC = (16 + 0.5 * 16) / 32.
    assert a.auc_right_wrong == pytest.approx(0.75)
    # "min" reads the lower token (signal - 1): the same signs here, shifted by -1, so fewer agree.
    assert cs.agreement([rec], cache, "min", N).same_sign < 12


def test_the_lead_rule_stops_a_trial_behind_and_completes_one_ahead(tmp_path):
    right = [1.0] * N
    rec, cache = _setup(tmp_path, [
        (right, [0.5] * N, FEASIBLE),  # ahead of the baseline's signal: completes, the incumbent
        (right, [0.4] * N, FEASIBLE),  # behind the incumbent's signal at 4: stopped there
        (right, [0.6] * N, None),  # ahead, but the record pruned it: completed, unmeasured
        ([1.0] * 4, [0.7] * N, None),  # ahead, the record stopped at 4 cases: unmeasured too
        ([], [0.0] * N, None),  # no case scored: spends none
    ])  # fmt: skip
    r = cs.race(rec, cache, "mean", [4, 8], 0.1, "lead")
    assert (r.stopped, r.completed, r.unmeasured) == (1, 3, 2)
    assert r.cases_per_trial == (8 + 4 + 8 + 8 + 0) / 5
    assert r.pick == 0 and r.pick_value == pytest.approx(0.5)  # 1.0 against the baseline's 0.5


def test_the_t_test_rule_stops_only_a_trial_shown_behind(tmp_path):
    noisy = [0.5 + (0.3 if i % 2 else -0.35) for i in range(N)]  # behind on average, not shown at 4 cases
    rec, cache = _setup(tmp_path, [([1.0] * N, [0.5] * N, FEASIBLE), ([1.0] * N, noisy, FEASIBLE), ([0.0] * N, [0.2 + 0.01 * i for i in range(N)], FEASIBLE)])
    r = cs.race(rec, cache, "mean", [4, 8], 0.1, "ttest")
    assert (r.stopped, r.completed) == (1, 2)  # the third, behind on every case, is stopped at 4
    lead = cs.race(rec, cache, "mean", [4, 8], 0.1, "lead")
    assert lead.stopped == 2


def test_a_cache_for_other_signals_is_refused(tmp_path):
    cs.SignalCache({"model": "m", "n": N}, tmp_path / "s.pkl").put(cs.BASELINE, [[0.0]] * N)
    assert cs.SignalCache({"model": "m", "n": N}, tmp_path / "s.pkl").signals[cs.BASELINE] == [[0.0]] * N
    with pytest.raises(SystemExit, match="--cache .* not of"):
        cs.SignalCache({"model": "other", "n": N}, tmp_path / "s.pkl")


def test_signals_from_a_cache_serve_racing_replay_and_refuse_another_task(tmp_path):
    rec, _ = _setup(tmp_path, [([1.0] * N, [0.5] * N, FEASIBLE)])
    rec = Recording("rec", {"model": "m", "tasks": [{"name": "niah", "params": {"length": 512}}]}, rec.baseline, rec.trials, 6.0, 0)
    cache = cs.SignalCache({"model": "m", "task": "niah", "params": {"length": 512}, "n": N}, tmp_path / "c.pkl")
    cache.put(cs.BASELINE, [[-0.2, -0.7]] * N)
    cache.put(cs.config_key(_cfg(0)), [[-0.1, -0.3]] * N)
    of = cs.signals_from(tmp_path / "c.pkl", rec)
    assert of(None) == [-0.7] * N and of(_cfg(0)) == [-0.3] * N  # gold_signal: the least likely token
    with pytest.raises(SystemExit, match="no signals of"):
        of(_cfg(1))
    other = Recording("other", {"model": "m", "tasks": [{"name": "niah", "params": {"length": 1024}}]}, rec.baseline, (), 0.0, None)
    with pytest.raises(SystemExit, match="not of other's"):
        cs.signals_from(tmp_path / "c.pkl", other)
    with pytest.raises(SystemExit, match="no such file"):
        cs.signals_from(tmp_path / "missing.pkl", rec)


def test_the_both_rule_keeps_a_trial_that_wins_answers_racing(tmp_path):
    right = [1.0] * N
    rec, cache = _setup(tmp_path, [(right, [0.5] * N, FEASIBLE), (right, [0.4] * N, FEASIBLE), ([0.0] * N, [0.4] * N, FEASIBLE)])
    # Trial 1 is behind trial 0 on the signal and level on the answers: stopped; so is trial 2,
    # behind on both. Against the baseline (right on even cases only), trial 1 would be ahead.
    assert cs.race(rec, cache, "mean", [4, 8], 0.1, "both").stopped == 2
    rec, cache = _setup(tmp_path, [(right, [-0.5] * N, FEASIBLE)])  # behind the baseline's signal 0, ahead on answers
    assert cs.race(rec, cache, "mean", [4, 8], 0.1, "both").completed == 1
    assert cs.race(rec, cache, "mean", [4, 8], 0.1, "lead").stopped == 1
