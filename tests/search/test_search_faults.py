"""Faults: a driver killed with SIGKILL resumes without losing a completed trial; a killed
worker actor fails its trial (re-enqueued once) and does not stop the study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sra_search.search.driver import Driver, RunOptions
from sra_search.search.studyfile.schema import load_study_file

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"driver exited early ({proc.returncode}) while waiting for {what}")
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_driver_killed_with_sigkill_resumes(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    budget = 16  # enough trials (of 6 one-case chunks) that the kill lands mid-study even on a fast machine
    path = write_study(study_text(tiny_model_dir, name="tiny-kill", storage=url, trials=budget, search=6, chunk=1))
    gcs = ray_local.get_runtime_context().gcs_address
    log = open(tmp_path / "driver.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sra_search.cli.app import main; main()", "run", str(path),
         "--ray-address", gcs, "--no-holdout", "--json"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip

    def snapshot():
        try:
            study = optuna.load_study(study_name="tiny-kill", storage=url)
            trials = study.get_trials(deepcopy=False)
        except Exception:  # the driver has not created the study yet
            return None
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        return (complete, running) if len(complete) >= 2 and running else None

    try:
        complete, running = _wait_for(snapshot, 240, "2 completed trials and 1 running", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    # Read again after the kill: trials may have finished between the snapshot and the signal.
    study = optuna.load_study(study_name="tiny-kill", storage=url)
    before = {t.number: t.value for t in study.get_trials(states=[TrialState.COMPLETE])}
    left_running = {t.number: t.params for t in study.get_trials(states=[TrialState.RUNNING])}
    assert len(before) >= 2 and left_running, "the kill should leave completed and running trials"

    summary = Driver(load_study_file(path), RunOptions(holdout=False)).run()

    study = optuna.load_study(study_name="tiny-kill", storage=url)
    by_number = {t.number: t for t in study.trials}
    # No completed trial lost or changed.
    for number, value in before.items():
        assert by_number[number].state == TrialState.COMPLETE and by_number[number].value == value
    # The killed driver's RUNNING trials were failed (stale heartbeat) and re-enqueued once.
    assert summary.recovered_stale == len(left_running)
    for number, params in left_running.items():
        assert by_number[number].state == TrialState.FAIL
        retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == number]
        # The kill can land while the trial's parameters are being suggested (each is stored as it
        # is drawn): the retry keeps every parameter the killed trial had, with the same value.
        assert len(retries) == 1 and params.items() <= retries[0].params.items(), (params, retries[0].params)
        assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    # The budget counts what was done before the kill.
    counts = summary.trials
    assert counts["complete"] + counts["pruned"] == budget and counts["running"] == 0
    assert summary.new_trials_done == budget - len(before) - sum(
        1 for t in study.trials if t.state == TrialState.PRUNED and t.number in before
    )


def test_killed_worker_does_not_stop_the_study(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    budget = 6
    path = write_study(study_text(tiny_model_dir, name="tiny-worker-kill", storage=url, trials=budget, search=6))
    killed: dict = {}

    def on_progress(p):
        # Kill the busy worker of a running trial once, after the first trial completed.
        if killed or p.phase != "trials" or p.complete < 1:
            return
        busy = [w for w in p.workers if w["busy"] and w["pid"]]
        if busy:
            killed["pid"] = busy[0]["pid"]
            os.kill(busy[0]["pid"], signal.SIGKILL)

    driver = Driver(load_study_file(path), RunOptions(on_progress=on_progress, holdout=False))
    summary = driver.run()
    assert killed, "no worker was killed"

    study = optuna.load_study(study_name="tiny-worker-kill", storage=url)
    failed = study.get_trials(states=[TrialState.FAIL])
    assert len(failed) == 1
    reason = failed[0].user_attrs["fail_reason"]
    assert "died" in reason and str(killed["pid"]) in reason
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1 and retries[0].params == failed[0].params
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert "fail_reason" not in retries[0].user_attrs
    assert summary.trials["complete"] + summary.trials["pruned"] == budget
