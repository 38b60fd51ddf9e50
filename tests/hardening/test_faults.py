"""Fault figures, small counts (``python -m benchmarks.reliability`` runs the full ones for docs/reliability.md).

- the driver SIGKILLed at random moments 3 times over one study: no completed trial lost, budget met;
- a worker killed mid-trial twice: each trial FAIL with the reason, retried once, study completes;
- PostgreSQL stopped and restarted mid-study: the driver waits, says so, nothing recorded twice.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_driver_sigkilled_three_times(tmp_path, tiny_model_dir, ray_address, reliability):
    # Kills 1 and 2 land at a random moment while trials run, kill 3 during start-up. The budget
    # leaves work for the third driver even when an idle machine finishes trials fast.
    out = reliability.driver_kills(tmp_path, tiny_model_dir, ray_address, kills=3, budget=18, seed=1, startup_every=3)
    assert out["kills"] == 3, out["events"]
    assert out["study"]["finished"] == 18
    # At least one kill must have hit trials in flight, or the test proves nothing about recovery.
    assert out["kills_with_running_trials"] >= 1, out["events"]
    assert out["final_run"]["recovered_stale"] >= 0 and out["completed_lost"] == 0


def test_worker_killed_mid_trial(tmp_path, tiny_model_dir, ray_local, reliability):
    # One kill here: on an idle machine the tiny model's trials are short and a second
    # mid-trial moment may not come before the budget ends. benchmarks/reliability does 10.
    out = reliability.worker_kills(tmp_path, tiny_model_dir, kills=1, budget=8)
    assert out["kills"] == 1 and out["failed_with_reason_and_retried_once"] == 1
    assert out["study"]["failed"] == 1 and out["study"]["retried"] == 1
    for k in out["kills_detail"]:
        assert "died" in k["reason"] and k["retry"] is not None


def test_postgres_stopped_and_restarted_mid_study(tmp_path, tiny_model_dir, ray_local, postgres, reliability):
    out = reliability.storage_outage(tmp_path, tiny_model_dir, postgres, outages=1, outage_s=6.0, budget=4, retry_s=90)
    assert out["outages"] == 1 and out["study"]["finished"] == 4
    assert out["driver_saw"]["outages"] >= 1 and out["driver_saw"]["waited_s"] > 0
    assert "unreachable" in out["messages"][0] and "storage.retry_s" in out["messages"][0]
    assert f":{postgres.port}/outage" in out["messages"][0] and "reachable again" in out["messages"][1]


def test_two_drivers_share_one_study_on_postgres(tmp_path, tiny_model_dir, ray_address, postgres, reliability):
    # Tiny-model trials take ~0.2 s and the two drivers' start-ups differ by 1-2 s: a budget of 6
    # let the faster driver finish alone once; 24 trials keep both busy at the same time.
    out = reliability.shared_study(tmp_path, tiny_model_dir, postgres, ray_address, budget=24)
    assert out["study"]["failed"] == 0
    assert 24 <= out["study"]["finished"] <= 25
    # Both drivers ran trials (the second did not just find the study done), and each reports
    # the trials it finished itself: together exactly the study's finished trials.
    assert len(out["trials_per_driver_in_storage"]) == 2 and min(out["trials_per_driver_in_storage"]) >= 1, out
    assert sum(out["new_trials_per_driver"]) == out["study"]["finished"], out
