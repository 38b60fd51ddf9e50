"""A study on a tiny random Llama over a local Ray with 2 workers, stored in SQLite."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from objectives.compare import attention_for_band
from sra_search.runtime.stats import SRASummary
from sra_search.search.driver import Driver, RunOptions, best_feasible
from sra_search.search.results import trial_summary
from sra_search.search.studyfile.schema import load_study_file

pytestmark = pytest.mark.slow


def test_study_completes_with_two_workers_in_sqlite(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    study_toml = study_text
    url = f"sqlite:///{tmp_path / 'study.db'}"
    path = write_study(study_toml(tiny_model_dir, name="tiny-sqlite", storage=url, trials=6, holdout=2))
    seen = []
    driver = Driver(load_study_file(path), RunOptions(on_progress=seen.append))
    summary = driver.run()

    assert summary.trials["complete"] + summary.trials["pruned"] == 6
    assert summary.trials["fail"] == 0 and summary.new_trials_done == 6
    study = optuna.load_study(study_name="tiny-sqlite", storage=url)
    trials = study.get_trials(states=[TrialState.COMPLETE])
    assert len(trials) == 6
    # The paper's public configuration is the first trial (c_e=50 is not among the choices).
    first = study.trials[0]
    assert first.user_attrs.get("origin") == "paper_public"
    assert first.params["tau_in"] == 0.5 and first.params["s_in"] == 5.0 and first.params["c_s"] == 5
    # Each trial carries its constraints, task scores, SRA statistics and full config.
    for t in trials:
        assert set(t.constraints) == {"perplexity_ratio", "attention_low", "attention_high"}
        assert set(t.user_attrs["sra"]) >= {"tau_in", "s_ou", "c_e", "inter"} and t.user_attrs["sra"]["s_ou"] == 5.0
        assert 0.0 <= t.user_attrs["task_scores"]["passkey"] <= 1.0
        assert t.user_attrs["perplexity_ratio"] > 0
        assert t.user_attrs["eval_s"] <= t.user_attrs["wall_s"] + 1e-6
        assert len(t.intermediate_values) == 2  # 4 search cases in chunks of 2
        # Per-case outcomes: one attr per trial, keys implied by task:params-hash:split and the offset.
        (rec,) = t.user_attrs["outcomes"].values()
        assert rec["key"].startswith("passkey:") and rec["key"].endswith(":search") and rec["offset"] == 0
        assert len(rec["scores"]) == 4 and "racing" not in t.user_attrs
    # The baseline was measured once and cached in the study; the holdout re-scored the best.
    baselines = {k: v for k, v in study.user_attrs.items() if k.startswith("baseline:")}
    assert any(k.startswith("baseline:passkey:search") for k in baselines)
    assert any(k.startswith("baseline:perplexity:search") for k in baselines)
    assert any(k.startswith("baseline:passkey:holdout") for k in baselines)
    best = best_feasible(study)
    assert best is not None and summary.best["number"] == best.number
    assert summary.holdout["trial"] == best.number and summary.holdout["tasks"]["passkey"]["n_cases"] == 2
    # Baselines keep their case keys; the holdout keeps its per-case scores and the paired evidence.
    search_base = next(v for k, v in baselines.items() if k.startswith("baseline:passkey:search"))
    assert search_base["case_keys"] == [f"{rec['key']}:{i}" for i in range(4)]
    held = summary.holdout
    assert held["outcomes"]["passkey"]["key"].endswith(":holdout") and len(held["outcomes"]["passkey"]["scores"]) == 2
    assert held["tasks"]["passkey"]["evidence"]["n"] == 2 and "n = 2" in held["tasks"]["passkey"]["verdict"]
    # The best trial's paired test on the search cases it saw is recorded once, with its verdict.
    ev = summary.best_evidence
    assert ev == study.user_attrs["best_evidence"] and ev["trial"] == best.number
    assert ev["tasks"]["passkey"]["evidence"]["n"] == 4 and "n = 4" in ev["tasks"]["passkey"]["verdict"]
    # Progress went through the phases, with two workers.
    phases = [p.phase for p in seen]
    assert "baseline" in phases and "trials" in phases and phases[-1] == "done"
    assert len(seen[-1].workers) == 0 or len({w["pid"] for w in seen[-2].workers}) == 2

    # Each worker loaded the model once and kept it for all its chunks.
    assert len(summary.workers) == 2 and all(w["model_loads"] == 1 for w in summary.workers)
    assert sum(w["jobs"] for w in summary.workers) >= 6 * 3

    # A second run is a resume: nothing left to do, nothing re-measured, nothing lost.
    again = Driver(load_study_file(path), RunOptions()).run()
    assert again.new_trials_done == 0 and again.trials["complete"] == 6
    assert again.holdout == summary.holdout

    # --trials extends the same study; the CLI reports it as JSON.
    from sra_search.cli.app import app

    res = CliRunner().invoke(app, ["run", str(path), "--trials", "8", "--no-holdout", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["new_trials_done"] == 2 and out["trials"]["complete"] + out["trials"]["pruned"] == 8

    res = CliRunner().invoke(app, ["status", "--storage", url, "--json"])
    assert res.exit_code == 0, res.output
    status = json.loads(res.stdout[res.stdout.index("{"):])
    (s,) = status["studies"]
    assert s["study"] == "tiny-sqlite" and s["trials"]["complete"] + s["trials"]["pruned"] == 8
    assert s["best"]["params"]["s_ou"] == 5.0 and s["model"] == tiny_model_dir


def test_constraints_are_enforced(tiny_model_dir, ray_local, write_study, study_text, harbor_text, tmp_path):
    study_toml = study_text
    """A perplexity bound no SRA config can meet: every trial is infeasible, none is best."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    constraints = f"""
    [constraints]
    perplexity = {{ max_ratio = 1.0000001, params = {{ data = "{harbor_text}", length = 128, last_k = 32, holdout_fraction = 0.25 }}, cases = 2 }}
    attention = {{ low = 1.1, high = 1.4 }}
    """
    path = write_study(study_toml(tiny_model_dir, name="tiny-constraints", storage=url, trials=4, search=2, constraints=constraints))
    summary = Driver(load_study_file(path), RunOptions()).run()
    study = optuna.load_study(study_name="tiny-constraints", storage=url)
    done = study.get_trials(states=[TrialState.COMPLETE])
    assert len(done) == 4
    for t in done:
        feasible = all(v <= 0 for v in t.constraints.values())
        # Recomputed from the recorded numbers: the stored constraint values are the real ones.
        assert t.constraints["perplexity_ratio"] == pytest.approx(t.user_attrs["perplexity_ratio"] - 1.0000001)
        att = attention_for_band(SRASummary.from_dict(t.user_attrs["sra_stats"]))  # 1.0 when nothing was edited
        assert t.constraints["attention_low"] == pytest.approx(1.1 - att)
        if t.user_attrs["perplexity_ratio"] > 1.0000001:
            assert not feasible
    if all(any(v > 0 for v in t.constraints.values()) for t in done):
        assert summary.best is None and best_feasible(study) is None
        with pytest.raises(ValueError, match="feasible"):
            study.best_trial


def test_study_definition_change_is_refused(tiny_model_dir, write_study, study_text, tmp_path):
    study_toml = study_text
    from sra_search.search.driver import StudyMismatchError

    url = f"sqlite:///{tmp_path / 'm.db'}"
    path = write_study(study_toml(tiny_model_dir, name="tiny-mismatch", storage=url))
    Driver(load_study_file(path), RunOptions()).open_study()
    changed = write_study(study_toml(tiny_model_dir, name="tiny-mismatch", storage=url, search=6), "changed.toml")
    with pytest.raises(StudyMismatchError, match="different definition"):
        Driver(load_study_file(changed), RunOptions()).open_study()


def test_grid_sweep_visits_every_point(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    text = study_text(tiny_model_dir, name="tiny-grid", storage=url, trials=50, search=2, sampler='kind = "grid"')
    text = (
        text.replace("tau_in = { low = 0.05, high = 2.0, log = true }", "tau_in = { choices = [0.1, 0.5, 1.0] }")
        .replace("tau_ou = { low = 0.05, high = 2.0, log = true }", "tau_ou = { fixed = 0.5 }")
        .replace("s_in = { low = 1.0, high = 8.0 }", "s_in = { fixed = 5.0 }")
        .replace("c_s = { low = 0, high = 8 }", "c_s = { fixed = 5 }")
        .replace("c_e = { choices = [8, 16, 32] }", "c_e = { fixed = 16 }")
    )
    summary = Driver(load_study_file(write_study(text)), RunOptions(holdout=False)).run()
    study = optuna.load_study(study_name="tiny-grid", storage=url)
    assert summary.trials["complete"] == 3  # the budget is capped at the grid size
    assert sorted(t.params["tau_in"] for t in study.trials) == [0.1, 0.5, 1.0]
    assert all(t.user_attrs["sra"]["c_e"] == 16 for t in study.trials)


@pytest.mark.parametrize("pruner", ['kind = "none"', 'kind = "racing"\ninitial_cases = 2\nmax_cases = 6'])
def test_a_trial_outside_the_attention_band_stops_after_its_first_chunk(
    pruner, tiny_model_dir, ray_local, write_study, study_text, harbor_text, tmp_path
):
    """A band no config reaches (attention 50-100): with ``stop_margin``, every trial that edits
    rows completes, infeasible, after its first chunk, with its perplexity still measured; one
    that edited nothing yet runs on (no evidence). Fixed chunks and racing alike."""
    url = f"sqlite:///{tmp_path / 'band.db'}"
    constraints = f"""
    [constraints]
    perplexity = {{ max_ratio = 50.0, params = {{ data = "{harbor_text}", length = 128, last_k = 32, holdout_fraction = 0.25 }}, cases = 2 }}
    attention = {{ low = 50.0, high = 100.0, stop_margin = 1.0 }}
    """
    path = write_study(study_text(tiny_model_dir, name="tiny-band", storage=url, trials=3, search=6, chunk=2,
                                  pruner=pruner, constraints=constraints))  # fmt: skip
    summary = Driver(load_study_file(path), RunOptions(holdout=False)).run()
    assert summary.trials["complete"] == 3 and summary.best is None
    stopped = 0
    for t in optuna.load_study(study_name="tiny-band", storage=url).trials:
        n = len(t.user_attrs["outcomes"]["passkey"]["scores"])
        assert t.constraints["attention_low"] > 0 and "perplexity_ratio" in t.user_attrs
        if t.user_attrs["sra_stats"]["edited_rows"]:
            stopped += 1
            assert n == 2 and t.user_attrs["band_stop"].startswith("attention band: ")
            assert trial_summary(t)["band_stop"] == t.user_attrs["band_stop"]  # what status and report show
            assert "after 2 cases, outside 50.0-100.0 by more than stop_margin 1.0" in t.user_attrs["band_stop"]
            if "racing" in t.user_attrs:
                assert t.user_attrs["racing"]["stop"] == t.user_attrs["band_stop"] and t.user_attrs["racing"]["stages"] == [2]
        else:
            assert n == 6 and "band_stop" not in t.user_attrs
    assert stopped >= 1
