"""`benchmarks/search.py --decisions --merge`: runs of single seeds (made on different days) as one summary."""

import pytest

from benchmarks import search_decisions as decisions


def _row(finished, pruned, cases, delta, shown):
    return {
        "finished": finished, "complete": finished - pruned, "pruned": pruned, "cases_per_trial": cases,
        "elapsed_s": 420.0, "pick": {"trial": 1, "search_value": 0.1, "n_cases": 32, "sra": {}},
        "heldout": {"delta": delta, "ci": [delta - 0.1, delta + 0.1], "p": 0.5, "n": 100, "shown": shown, "verdict": "v"},
    }  # fmt: skip


def _report(seed, racing_delta, **settings):
    base = {"model": "smollm2-135m", "time_s": 420.0, "heldout": 100, "length": 1536, "median_cases": 12,
            "racing": "6,24", "racing_chunk": 3, "baseline_heldout_accuracy": 0.66}  # fmt: skip
    base.update(settings)
    studies = {"tpe-median": _row(10, 4, 11.0, -0.04, False), "tpe-racing": _row(4, 1, 20.0, racing_delta, racing_delta > 0.1),
               "random-median": _row(9, 3, 12.0, -0.02, False)}  # fmt: skip
    return {**base, "seeds": [seed], "command": f"run {seed}", "machine": {"cpus": 2}, "how": "h",
            "configs_rescored": 2, "rescore_s": 100.0, "heldout_s_per_case": 3.0, "total_s": 1500.0,
            "studies": {str(seed): studies}}  # fmt: skip


def test_merged_seeds_are_summarized_together():
    merged = decisions.merge([_report(0, -0.05), _report(1, 0.2)], ["a.json", "b.json"])
    assert merged["seeds"] == [0, 1] and merged["merged_from"] == ["a.json", "b.json"]
    race = merged["summary"]["tpe-racing"]
    assert race["picks"] == 2 and race["picks_shown_better"] == 1 and race["picks_heldout_positive"] == 1
    assert race["heldout_delta_mean"] == pytest.approx(0.075)
    assert merged["summary"]["ratios"]["racing/median trials finished"] == 0.4
    assert merged["rescore_s"] == 200.0 and merged["command"] == "run 0 ; run 1"


def test_runs_of_other_settings_or_the_same_seed_are_refused():
    with pytest.raises(SystemExit, match=r"b.json: time_s = 600.0, but a.json has 420.0"):
        decisions.merge([_report(0, 0.0), _report(1, 0.0, time_s=600.0)], ["a.json", "b.json"])
    with pytest.raises(SystemExit, match="baseline_heldout_accuracy"):  # other held-out cases
        decisions.merge([_report(0, 0.0), _report(1, 0.0, baseline_heldout_accuracy=0.7)], ["a.json", "b.json"])
    with pytest.raises(SystemExit, match="seed 0 is in two reports"):
        decisions.merge([_report(0, 0.0), _report(0, 0.1)], ["a.json", "b.json"])
    # Reports written before --racing-promote raced with "level": they merge with "level" runs only.
    assert decisions.merge([_report(0, 0.0), _report(1, 0.0, racing_promote="level")], ["a", "b"])["racing_promote"] == "level"
    with pytest.raises(SystemExit, match="racing_promote = 'above', but a.json has 'level'"):
        decisions.merge([_report(0, 0.0), _report(1, 0.0, racing_promote="above")], ["a.json", "b.json"])


def _warm_report(seed, found_s, delta):
    row = _row(5, 2, 12.0, delta, False)
    row["pick"]["found_s"] = found_s
    rep = _report(seed, 0.0)
    rep["studies"] = {str(seed): {"tpe-racing-warm": row}}
    return rep


def test_a_warm_twin_run_later_joins_its_seed():
    cold = _report(0, 0.1)
    cold["studies"]["0"]["tpe-racing"]["pick"]["found_s"] = 400.0
    merged = decisions.merge([cold, _warm_report(0, 100.0, 0.2)], ["a.json", "warm.json"])
    assert merged["seeds"] == [0] and merged["variants"] == list(decisions.ALL_VARIANTS)
    ratios = merged["summary"]["ratios"]
    assert ratios["warm/cold time to the final incumbent"] == 0.25
    assert ratios["warm - cold held-out delta"] == pytest.approx(0.1)
    assert ratios["warm/cold seeds"] == 1 and ratios["warm/cold time seeds"] == 1
    # A cold study without its time to the pick (reports before found_s) gives no ratio, not a wrong one.
    old = _report(0, 0.1)
    merged = decisions.merge([old, _warm_report(0, 100.0, 0.2)], ["a.json", "warm.json"])
    assert merged["summary"]["ratios"]["warm/cold time to the final incumbent"] is None
    assert merged["summary"]["ratios"]["warm/cold time seeds"] == 0
    # ... and leaves that seed out of the time ratio only: seed 1 has both times, seed 0 not.
    later = _report(1, 0.3)
    later["studies"]["1"]["tpe-racing"]["pick"]["found_s"] = 200.0
    merged = decisions.merge([old, _warm_report(0, 100.0, 0.2), later, _warm_report(1, 300.0, 0.2)], ["a", "w", "b", "x"])
    ratios = merged["summary"]["ratios"]
    assert ratios["warm/cold time to the final incumbent"] == 1.5 and ratios["warm/cold time seeds"] == 1
    assert ratios["warm - cold held-out delta"] == pytest.approx(0.0) and ratios["warm/cold seeds"] == 2
    with pytest.raises(SystemExit, match="seed 0 is in two reports .* with the same variants"):
        decisions.merge([_warm_report(0, 1.0, 0.0), _warm_report(0, 2.0, 0.0)], ["a.json", "b.json"])


def test_variants_are_checked_and_only_the_warm_twin_keeps_warm_start():
    import argparse

    assert decisions.parse_variants("tpe-racing, tpe-racing-warm") == ["tpe-racing", "tpe-racing-warm"]
    with pytest.raises(SystemExit, match="--variants: unknown tpe-warm; choose from"):
        decisions.parse_variants("tpe-median,tpe-warm")
    args = argparse.Namespace(study=str(decisions.REPO / "studies" / "smollm2-niah-multikey.toml"), length=512,
                              median_cases=16, racing="8,16", racing_chunk=4, racing_test="sign", racing_promote="level",
                              racing_stop_margin=None, time=900.0, study_trials=24)  # fmt: skip
    cold = decisions.study_spec("tpe-racing", 0, args, "sqlite://", "smollm2-135m")
    warm = decisions.study_spec("tpe-racing-warm", 0, args, "sqlite://", "smollm2-135m")
    assert not cold.warm_start and warm.warm_start == ["presets/smollm2-135m/passkey/v4.json"]
    assert (cold.pruner, cold.sampler, cold.budget) == (warm.pruner, warm.sampler, warm.budget)
    assert warm.name == "bench-tpe-racing-warm-0"
    assert cold.race.promote == "level" and cold.pruner.promote is None  # unset: the hash of older studies
    args.racing_promote = "above"
    assert decisions.study_spec("tpe-racing", 0, args, "sqlite://", "smollm2-135m").race.promote == "above"
    assert cold.constraints.attention.stop_margin is None
    args.racing_stop_margin = 0.01  # the band stop goes with the racing variants only
    assert decisions.study_spec("tpe-racing", 0, args, "sqlite://", "smollm2-135m").constraints.attention.stop_margin == 0.01
    median = decisions.study_spec("tpe-median", 0, args, "sqlite://", "smollm2-135m")
    assert median.constraints.attention.stop_margin is None
    assert median.definition_hash() == decisions.study_spec("tpe-median", 0, argparse.Namespace(**{**vars(args), "racing_stop_margin": None}),
                                                            "sqlite://", "smollm2-135m").definition_hash()  # fmt: skip
    args.study = str(decisions.REPO / "studies" / "smollm2-passkey.toml")
    with pytest.raises(SystemExit, match="has no warm_start to keep"):
        decisions.study_spec("tpe-racing-warm", 0, args, "sqlite://", "smollm2-135m")
