"""`sra-search report` on a stored study: every plot is a real PNG and the summary links it."""

import json

import optuna
from typer.testing import CliRunner

from sra_search.cli.app import app


def _study(url: str) -> optuna.Study:
    study = optuna.create_study(study_name="plots", storage=url, direction="maximize")
    study.set_user_attr("objective", "passkey score - baseline")
    study.set_user_attr("model", "smollm2-135m")
    study.set_user_attr("spec", {"constraints": {"perplexity": {"max_ratio": 1.15}}})
    for i in range(8):
        t = study.ask({"s_in": optuna.distributions.FloatDistribution(1.0, 6.0)})
        t.set_user_attr("perplexity_ratio", 1.0 + 0.03 * i)
        t.set_user_attr("sra", {"tau_in": 0.5, "tau_ou": 0.5, "s_in": t.params["s_in"], "s_ou": 1.0, "c_s": 4, "c_e": 32})
        t.set_constraint("perplexity", 0.03 * i - 0.15)  # the last trials break the bound
        study.tell(t, 0.1 * (i % 4) - 0.1)
    return study


def test_report_writes_plots_and_summary(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _study(url)
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", "plots", "--storage", url, "--out", str(out), "--no-heatmap", "--json"])
    assert res.exit_code == 0, res.output
    files = {p.split("/")[-1] for p in json.loads(res.stdout)["files"]}
    assert {"history.png", "score_vs_perplexity.png", "importances.png", "sensitivity.png", "summary.md"} <= files
    for name in files - {"summary.md"}:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    summary = (out / "summary.md").read_text()
    assert "![Optimisation history](history.png)" in summary and "best feasible: trial" in summary


def test_report_unknown_study_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _study(url)
    res = CliRunner().invoke(app, ["report", "nope", "--storage", url, "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no study named 'nope'" in res.output and "Traceback" not in res.output


def test_baseline_objective_follows_the_study_target(tmp_path):
    from sra_search.report.study_plots import baseline_objective

    study = optuna.create_study(study_name="b", storage=f"sqlite:///{tmp_path}/b.db", direction="maximize")
    assert baseline_objective(study) is None  # no spec, no baselines
    tasks = [
        {"name": "passkey", "weight": 1.0, "cases": {"search": 4}},
        {"name": "kv_retrieval", "weight": 3.0, "cases": {"search": 2}},
    ]
    study.set_user_attr("spec", {"tasks": tasks, "objective": {"target": "score"}})
    study.set_user_attr("baseline:passkey:search:aa", {"case_scores": [1, 0, 1, 1, 0, 0], "higher_is_better": True})
    assert baseline_objective(study) is None  # kv_retrieval's baseline is missing
    study.set_user_attr("baseline:kv_retrieval:search:bb", {"case_scores": [0, 1], "higher_is_better": True})
    # Only the search cases the study uses count (4 of passkey's 6); tasks weighted 1:3.
    assert baseline_objective(study) == (0.75 * 1 + 0.5 * 3) / 4
    study.set_user_attr("spec", {"tasks": tasks, "objective": {"target": "delta"}})
    assert baseline_objective(study) == 0.0
    study.set_user_attr("baseline:passkey:search:cc", {"case_scores": [1], "higher_is_better": True})
    study.set_user_attr("spec", {"tasks": tasks, "objective": {"target": "score"}})
    assert baseline_objective(study) is None  # two baselines under one name: ambiguous, not guessed


def test_report_draws_the_evidence_as_cases_accumulate(tmp_path):
    """With per-case outcomes (trial and baseline, paired by case key) the report draws the best
    trial's delta and interval over the cases and says the verdict in words."""
    url = f"sqlite:///{tmp_path}/e.db"
    study = _study(url)
    keys = [f"passkey:abc:holdout:{i}" for i in range(24)]
    base = [1.0 if i % 2 else 0.0 for i in range(24)]
    sra = [1.0 if i % 2 or i % 4 == 0 else 0.0 for i in range(24)]  # 6 cases fixed, none broken
    study.set_user_attr("baseline:passkey:holdout:x", {"score": 0.5, "case_scores": base, "case_keys": keys,
                                                       "higher_is_better": True, "n_cases": 24})  # fmt: skip
    best = max((t for t in study.trials if all(v <= 0 for v in t.constraints.values())), key=lambda t: t.value)
    study.set_user_attr("holdout", {"trial": best.number, "value": 0.25, "sra": {},
                                    "outcomes": {"passkey": {"key": "passkey:abc:holdout", "offset": 0, "scores": sra}},
                                    "tasks": {"passkey": {"score": 0.75, "baseline": 0.5, "n_cases": 24,
                                                          "verdict": "+0.250 [...]: gain shown"}}})  # fmt: skip
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", "plots", "--storage", url, "--out", str(out), "--no-heatmap", "--json"])
    assert res.exit_code == 0, res.output
    png = (out / "evidence_passkey.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    summary = (out / "summary.md").read_text()
    assert "Evidence as cases accumulate (passkey, held-out)" in summary and "gain shown" in summary

    from sra_search.report.evidence_plot import evidence_curve

    curve = evidence_curve(sra, base)
    assert curve[-1]["n"] == 24 and curve[-1]["delta"] == 0.25 and curve[-1]["p_value"] == 0.5**6
    assert [c["n"] for c in curve] == sorted(c["n"] for c in curve) and curve[0]["n"] == 4
