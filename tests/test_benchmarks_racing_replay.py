"""`benchmarks/racing_replay.py`: recorded per-case scores fed through the real racing strategy
under another plan, with the figures worked out by hand."""

import json

import optuna
import pytest

from benchmarks import racing_replay
from sra_search.search.results import compact_outcomes
from sra_search.config import SRAConfig
from sra_search.search.storage.attrs import CONFIG, SPEC
from sra_search.search.studyfile.schema import parse_study

STUDY = """
name = "recorded"
model = "m"

[[tasks]]
name = "passkey"
params = { length = 128 }
cases = { search = 8, holdout = 0 }
chunk = 4

[search_space]
tau_in = { low = 0.1, high = 1.0 }

[pruner]
kind = "median"

[budget]
trials = 5
"""

KEY = "passkey:0123456789:search"
IDS = [f"{KEY}:{i}" for i in range(8)]


def config_of(i: int) -> SRAConfig:
    """Trial ``i``'s config: each trial its own, so signals can tell them apart."""
    return SRAConfig(tau_in=0.1 * (i + 1), tau_ou=0.5, s_in=2.0, s_ou=2.0, c_s=2, c_e=16)


def _recorded(path) -> str:
    """A fixed-chunk study of six trials on a baseline that misses all 8 cases."""
    url = f"sqlite:///{path}"
    study = optuna.create_study(study_name="recorded", storage=url, direction="maximize")
    SPEC.set(study, parse_study(STUDY, "recorded.toml").model_dump(mode="json"))
    study.set_user_attr(f"baseline:passkey:search:{'0' * 12}", {
        "score": 0.0, "case_scores": [0.0] * 8, "case_keys": IDS, "higher_is_better": True, "n_cases": 8, "eval_s": 0.0,
    })  # fmt: skip
    trials = [
        ([1.0] * 8, True),  # every case: the incumbent
        ([1.0] * 3 + [0.0] + [1.0] * 4, True),  # 3 of the first 4: below the incumbent at 4, not significant
        ([0.0] * 8, True),  # loses all 4 of the first chunk: the sign test's p = 1/16 <= 0.1 / 1 look
        ([1.0] * 8, None),  # level all the way, but the record pruned it: no constraint values
        ([1.0] * 4, None),  # the record stopped it at 4 cases: the plan wants 8 ("short")
        ([], None),  # a duplicate of an earlier config: no case scored
    ]
    for i, (scores, feasible) in enumerate(trials):
        t = study.ask()
        CONFIG.set(t, config_of(i).model_dump(mode="json"))
        if scores:
            t.set_user_attr("outcomes", {"passkey": compact_outcomes(IDS[: len(scores)], scores)})
        if feasible is None:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
            continue
        t.set_constraint("perplexity_ratio", -0.1 if feasible else 0.1)
        study.tell(t, sum(scores) / len(scores))
    return url


def test_a_plan_replayed_on_recorded_cases(tmp_path):
    rec = racing_replay.load(_recorded(tmp_path / "r.db"))
    assert [len(r.scores) for r in rec.trials] == [8, 8, 8, 8, 4, 0] and rec.cases_per_trial == pytest.approx(36 / 6)
    assert rec.pick == 0  # trials 0 and 3 tie at 1.0; 3 is pruned, 0 comes first
    got = racing_replay.replay(rec, 4, 8)
    assert got.stops == {"max_cases": 2, "below": 1, "pruned": 1, "short": 1, "no cases": 1}
    assert (got.short, got.unmeasured) == (1, 1)
    assert got.cases_per_trial == pytest.approx((8 + 4 + 4 + 8 + 4 + 0) / 6)
    # Trial 3 ran all 8 cases at +1.0 like trial 0, but its constraints were never measured.
    assert (got.pick, got.pick_value, got.pick_cases) == (0, 1.0, 8)
    whole = racing_replay.replay(rec, 8, 8)  # one stage: every trial not pruned runs all 8
    assert whole.stops == {"max_cases": 3, "pruned": 1, "short": 1, "no cases": 1}
    assert whole.cases_per_trial == pytest.approx((8 + 8 + 4 + 8 + 4 + 0) / 6)


def test_promote_above_stops_the_trials_that_only_tie(tmp_path):
    rec = racing_replay.load(_recorded(tmp_path / "r.db"))
    got = racing_replay.replay(rec, 4, 8, promote="above")
    # Trial 0 leads the baseline at 4 and runs to 8; trials 3 and 4 only tie it at 4 and stop there
    # (trial 4 is no longer "short": the plan never asks for its missing cases).
    assert got.stops == {"max_cases": 1, "below": 1, "not above": 2, "pruned": 1, "no cases": 1}
    assert (got.short, got.unmeasured) == (0, 2)
    assert got.cases_per_trial == pytest.approx((8 + 4 + 4 + 4 + 4 + 0) / 6)
    assert (got.pick, got.pick_cases) == (0, 8)


def test_a_race_on_the_signal_replayed(tmp_path):
    """``--signals``: the product's racing with ``test = "signal"``: at each stage's end the mean
    signal against the incumbent's (the baseline's first); no pruner, so trial 2 is not pruned."""
    rec = racing_replay.load(_recorded(tmp_path / "r.db"))
    by_trial = {0: -0.5, 1: -0.4, 2: -0.6, 3: -0.5, 4: -0.3, 5: -0.5}

    def signals(config):
        if config is None:
            return [-1.0] * 8
        (i,) = [i for i in by_trial if config_of(i) == config]
        return [by_trial[i]] * 8

    got = racing_replay.replay(rec, 4, 8, signals=signals)
    # 0 beats the baseline's signal and 1 the incumbent's; 2 is behind at 4; 3 is level (grows,
    # but its constraints were never measured); 4 is ahead but its record ends at 4 cases.
    assert got.stops == {"max_cases": 3, "below": 1, "short": 1, "no cases": 1}
    assert got.cases_per_trial == pytest.approx((8 + 8 + 4 + 8 + 4 + 0) / 6)
    assert (got.pick, got.pick_value, got.pick_cases) == (0, 1.0, 8)  # ranked on the answers: 1.0 beats 7/8


def test_the_command_prints_each_plan_against_the_record(tmp_path, capsys):
    path = tmp_path / "r.db"
    _recorded(path)
    assert racing_replay.main([str(path), "--plan", "4,8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["replays"]
    assert doc["pooled"]["4,8"]["ratio"] == pytest.approx((28 / 6) / 6.0) and doc["pooled"]["4,8"]["same_pick"] == 1
    assert row["plan"] == "4,8" and row["recorded_pick"] == 0 and row["recorded_cases_per_trial"] == pytest.approx(6.0)
    assert racing_replay.main([str(path)]) == 0  # the default plans, as a table
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("recorded ")]
    assert [r[1] for r in rows] == ["8,16", "4,16"]  # plans past the recorded 8 cases stop "short" there


def test_rates_price_a_lower_first_stage(capsys):
    assert racing_replay.main(["--rates", "--json", "--plan", "8,16", "--plan", "4,16"]) == 0
    rows = json.loads(capsys.readouterr().out)["rates"]
    short = {(r["plan"], r["discordance"], r["trial"]): r["short"] for r in rows}
    assert len(rows) == 2 * 3 * len(racing_replay.EDGES)
    for d in (0.2, 0.3, 0.5):  # a lower first stage stops more good trials; a trial that loses all stops most
        assert short[("4,16", d, "wins 3/4")] > short[("8,16", d, "wins 3/4")]
        assert short[("8,16", d, "loses all")] > short[("8,16", d, "as good")] > short[("8,16", d, "wins 3/4")]
    assert racing_replay.main(["--rates", "--json", "--plan", "4,16", "--promote", "above"]) == 0
    above = {(r["discordance"], r["trial"]): r["short"] for r in json.loads(capsys.readouterr().out)["rates"]}
    for d in (0.2, 0.3, 0.5):  # a tie stops too: more trials of every kind stop short
        assert above[(d, "as good")] > short[("4,16", d, "as good")]
    with pytest.raises(SystemExit):
        racing_replay.main([])  # neither a storage nor --rates


def test_a_saved_recording_replays_as_its_study(tmp_path, capsys):
    path = tmp_path / "r.db"
    _recorded(path)
    assert racing_replay.main([str(path), "--plan", "4,8", "--json", "--save", str(tmp_path / "rec")]) == 0
    from_db = json.loads(capsys.readouterr().out)["replays"]
    saved = tmp_path / "rec" / "recorded.json"
    assert racing_replay.load(str(saved)) == racing_replay.load(str(path))
    assert racing_replay.main([str(saved), "--plan", "4,8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["replays"] == from_db
    with pytest.raises(SystemExit, match="no such study storage"):
        racing_replay.load(str(tmp_path / "missing.db"))
