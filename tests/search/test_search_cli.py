"""CLI commands that need no model: dashboard (bound to 127.0.0.1), status errors, study-file errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
from typer.testing import CliRunner

from sra_search.cli.app import app

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_storage_on_loopback(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    optuna.create_study(study_name="dash-study", storage=url)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sra_search.cli.app import main; main()", "dashboard", "--storage", url, "--port", str(port)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2).read()
            except OSError:
                time.sleep(0.5)
        assert body is not None, "dashboard did not answer"
        assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["dash-study"]
        out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        listening = [ln for ln in out.splitlines() if f":{port} " in ln]
        assert listening and all("127.0.0.1:" in ln for ln in listening)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_status_and_run_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["status", "--storage", f"sqlite:///{tmp_path / 'none.db'}"])
    assert res.exit_code == 2 and "no storage" in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nmodel = "m"\n[[tasks]]\nname = "passkey"\n[search_space]\ns_in = { low = 3.0, high = 1.0 }\n[budget]\ntrials = 2\n')
    res = runner.invoke(app, ["run", str(bad)])
    assert res.exit_code == 2
    assert "bad.toml:6: search_space.s_in: low must be < high" in " ".join(res.output.split())
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(bad.read_text().replace("low = 3.0", "low = 0.5").replace('name = "passkey"', 'name = "paskey"'))
    res = runner.invoke(app, ["run", str(unknown)])
    assert res.exit_code == 2 and "tasks[0]" in res.output and "passkey" in res.output


def test_run_summary_prints_trials_recorded_before_and_after_sra_summary():
    """``sra_stats`` of trials stored before SRASummary (mean 1.0 when nothing was edited) and after
    (mean None): the run summary prints both, the attention as the constraint reads it."""
    from sra_search.cli import output
    from sra_search.cli.run_cmd import _print_summary
    from sra_search.runtime.stats import SRASummary
    from sra_search.search.run_summary import RunSummary

    old = {"edited_rows": 0, "examined_rows": None, "edited_share": None, "accumulated_attention_mean": 1.0,
           "accumulated_attention_p95": None}  # fmt: skip
    new = SRASummary(examined_rows=40).to_dict()
    for stats in (old, new):
        summary = RunSummary(
            study="s", model="m", objective="passkey score", storage="sqlite:///x.db",
            trials={"complete": 1, "pruned": 0, "fail": 0, "waiting": 0}, new_trials_done=1, recovered_stale=0,
            elapsed_s=3.0, best={"number": 0, "value": 0.5, "task_scores": {"passkey": 0.5}, "perplexity_ratio": None,
                                 "sra_stats": stats, "params": {"tau_in": 0.5}},
            pareto=None, best_evidence=None, holdout=None,
        )  # fmt: skip
        with output.console.capture() as cap:
            _print_summary(summary)
        text = cap.get()
        assert "acc. attention mean" in text and "1.0000" in text, text
    assert "edited row share" in text and "0.0000" in text  # 40 rows examined, none edited
