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
