"""The four faults: the driver SIGKILLed, a worker SIGKILLed, PostgreSQL stopped, two drivers on one study.

Each returns the measured numbers and raises AssertionError when an invariant broke.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sra_search.search.storage.attrs import DRIVER, FAIL_REASON

from benchmarks.reliability.invariants import check_study, finished_snapshot
from benchmarks.reliability.servers import REPO, Postgres
from benchmarks.reliability.study import study_text


def _spawn_driver(path: Path, ray_address: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from sra_search.cli.app import main; main()", "run", str(path),
         "--ray-address", ray_address, "--no-holdout", "--json"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=open(log, "a"), text=True,
    )  # fmt: skip


def _running(url: str, name: str) -> int:
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=url)
    except Exception:  # not created yet, or the file is being created
        return 0
    return len(study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING]))


def driver_kills(work: Path, model_dir: str, ray_address: str, *, kills: int, budget: int, seed: int = 0,
                 startup_delay: tuple[float, float] = (1.0, 10.0), trial_delay: tuple[float, float] = (0.0, 6.0),
                 startup_every: int = 4) -> dict[str, Any]:
    """SIGKILL the driver ``kills`` times at random moments, then let it finish; check the invariants.

    Every ``startup_every``-th kill (the 4th, 8th, ...) lands at a random time after the process
    starts (start-up, stale-trial recovery, worker start, baseline); the others at a random time
    after the driver has a trial RUNNING (mid-trial, between chunks, while telling a result).
    """
    import optuna

    rng = random.Random(seed)
    url = f"sqlite:///{work / 'driver-kills.db'}"
    name = "driver-kills"
    path = work / "driver-kills.toml"
    path.write_text(study_text(model_dir, name=name, storage=url, trials=budget, search=4, chunk=1))
    log = work / "driver-kills.log"
    seen: dict[int, tuple[str, Any]] = {}
    events = []
    t0 = time.monotonic()
    for i in range(kills):
        proc = _spawn_driver(path, ray_address, log)
        started = time.monotonic()
        startup = (i + 1) % startup_every == 0
        if not startup:  # wait for a trial in flight (bounded: a stuck driver fails the check below)
            while proc.poll() is None and not _running(url, name) and time.monotonic() - started < 300:
                time.sleep(0.2)
        extra = rng.uniform(*(startup_delay if startup else trial_delay))
        deadline = time.monotonic() + extra
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        wait = time.monotonic() - started
        if proc.poll() is not None:
            proc.communicate()
            events.append({"kill": i, "after_s": None, "note": f"driver exited ({proc.returncode}) before the kill"})
            if proc.returncode != 0:
                raise AssertionError(f"driver exited with {proc.returncode}; see {log}")
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        try:
            snap = finished_snapshot(url, name)
            running = len(optuna.load_study(study_name=name, storage=url).get_trials(
                deepcopy=False, states=[optuna.trial.TrialState.RUNNING]))
        except KeyError:  # killed before it created the study
            snap, running = {}, 0
        seen.update(snap)
        events.append({"kill": i, "moment": "startup" if startup else "trials", "after_s": round(wait, 2),
                       "finished": len(snap), "running_left": running})
    kills_done = sum(1 for e in events if e.get("after_s") is not None)
    proc = _spawn_driver(path, ray_address, log)
    out, _ = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise AssertionError(f"final driver run exited with {proc.returncode}; see {log}")
    summary = json.loads(out)
    result = check_study(url, name, budget, seen_finished=seen)
    return {
        "scenario": "driver",
        "kills_requested": kills,
        "kills": kills_done,
        "kills_with_running_trials": sum(1 for e in events if e.get("running_left")),
        "completed_seen_before_kills": len(seen),
        "completed_lost": 0,  # check_study raised otherwise
        "budget": budget,
        "wall_s": round(time.monotonic() - t0, 1),
        "final_run": {"recovered_stale": summary["recovered_stale"], "new_trials_done": summary["new_trials_done"]},
        "study": result,
        "events": events,
    }


def worker_kills(work: Path, model_dir: str, *, kills: int, budget: int) -> dict[str, Any]:
    """SIGKILL a busy worker mid-trial ``kills`` times (in-process driver; Ray must be initialised)."""
    import optuna

    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    url = f"sqlite:///{work / 'worker-kills.db'}"
    name = "worker-kills"
    path = work / "worker-kills.toml"
    # 6 chunks of 2 cases at 512 tokens, then the perplexity text: trials long enough to be hit mid-way.
    text = study_text(model_dir, name=name, storage=url, trials=budget, search=12, chunk=2)
    path.write_text(text.replace("params = { length = 128 }", "params = { length = 512 }"))
    killed: list[dict[str, Any]] = []
    driver: Driver

    def on_progress(p: Any) -> None:
        if len(killed) >= kills or p.phase != "trials":
            return
        hit = {k["trial"] for k in killed}
        for t in driver.in_flight():
            # After the first chunk and before the last job: the worker dies with work of the trial left.
            if (t.number in hit or not 1 <= t.chunks_done < t.chunks - 1 or not t.worker_ready or t.worker_pid is None
                    or "failed_trial" in driver.storage.get_trial_system_attrs(t.trial_id)):  # fmt: skip
                continue  # only mid-trial, in an original trial (a retry is not retried again)
            try:
                os.kill(t.worker_pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append({"trial": t.number, "pid": t.worker_pid, "t": time.monotonic()})
            return

    t0 = time.monotonic()
    driver = Driver(load_study_file(path), RunOptions(on_progress=on_progress, holdout=False))
    summary = driver.run()
    result = check_study(url, name, budget)
    study = optuna.load_study(study_name=name, storage=url)
    by_number = {t.number: t for t in study.trials}
    per_kill = []
    problems = []
    for k in killed:
        t = by_number[k["trial"]]
        reason = FAIL_REASON.get(t, "")
        retries = [r for r in study.trials if r.system_attrs.get("failed_trial") == k["trial"]]
        ok = (t.state.name == "FAIL" and "died" in reason and str(k["pid"]) in reason and len(retries) == 1
              and retries[0].params == t.params and retries[0].state.name in ("COMPLETE", "PRUNED"))  # fmt: skip
        if not ok:
            problems.append(f"trial {k['trial']}: state {t.state.name}, reason {reason!r}, retries {[r.number for r in retries]}")
        per_kill.append({"trial": k["trial"], "reason": reason, "retry": retries[0].number if retries else None})
    if len(killed) < kills:
        problems.append(f"only {len(killed)} of {kills} kills happened before the study ended (raise the budget)")
    if problems:
        raise AssertionError("worker kills: " + "; ".join(problems))
    return {
        "scenario": "worker",
        "kills": len(killed),
        "failed_with_reason_and_retried_once": len(per_kill),
        "budget": budget,
        "wall_s": round(time.monotonic() - t0, 1),
        "study": result,
        "kills_detail": per_kill,
        "worker_stats": summary.workers,
    }


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def storage_outage(work: Path, model_dir: str, pg: Postgres, *, outages: int, outage_s: float, budget: int,
                   db: str = "outage", retry_s: int = 300) -> dict[str, Any]:
    """Stop PostgreSQL for ``outage_s`` seconds, ``outages`` times, while a study runs (in-process driver)."""
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    url = pg.new_database(db)
    name = "outage"
    path = work / "outage.toml"
    path.write_text(study_text(model_dir, name=name, storage=url, trials=budget, search=4, chunk=2, retry_s=retry_s))
    done: list[dict[str, Any]] = []
    busy = threading.Event()
    errors: list[BaseException] = []

    def cycle() -> None:
        try:
            t = time.monotonic()
            try:
                pg.stop()
            except RuntimeError as exc:  # reported, but the server may be down anyway: still restart it
                print(f"stopping PostgreSQL reported: {exc}", file=sys.stderr)
            time.sleep(outage_s)
            for attempt in range(3):  # the outage under test is the planned one, not a failed restart
                try:
                    pg.start()
                    break
                except RuntimeError as exc:
                    if attempt == 2:
                        raise
                    print(f"restart of PostgreSQL failed ({exc}); trying again", file=sys.stderr)
                    time.sleep(2)
            done.append({"down_s": round(time.monotonic() - t, 2)})
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            busy.clear()

    def on_progress(p: Any) -> None:
        # One outage after each completed trial, from the first one on, while trials are running.
        if busy.is_set() or len(done) >= outages or p.phase != "trials" or p.complete < len(done) + 1 or not p.running:
            return
        busy.set()
        threading.Thread(target=cycle, daemon=True).start()

    cap = _Capture()
    logger = logging.getLogger("sra_search.search.storage.rdb")
    logger.addHandler(cap)
    t0 = time.monotonic()
    try:
        driver = Driver(load_study_file(path), RunOptions(on_progress=on_progress, holdout=False))
        try:
            summary = driver.run()
        except Exception as exc:
            if errors:  # the server could not be restarted: that, not the driver's wait, is the news
                raise AssertionError(f"PostgreSQL restart failed: {errors[0]!r}; driver: {exc}") from None
            raise
    finally:
        logger.removeHandler(cap)
        while busy.is_set():
            time.sleep(0.1)
    if errors:
        raise errors[0]
    result = check_study(url, name, budget)
    unreachable = [ln for ln in cap.lines if "unreachable" in ln]
    back = [ln for ln in cap.lines if "reachable again" in ln]
    if len(done) < outages:
        raise AssertionError(f"only {len(done)} of {outages} outages happened before the study ended")
    if not unreachable or not back or summary.storage_outages["outages"] < 1:
        raise AssertionError(f"the driver did not report the outage: {cap.lines}")
    return {
        "scenario": "outage",
        "outages": len(done),
        "outage_s": outage_s,
        "down_s": [d["down_s"] for d in done],
        "driver_saw": summary.storage_outages,
        "messages": unreachable[:1] + back[:1],
        "budget": budget,
        "wall_s": round(time.monotonic() - t0, 1),
        "study": result,
    }


def shared_study(work: Path, model_dir: str, pg: Postgres, ray_address: str, *, budget: int,
                 db: str = "shared") -> dict[str, Any]:
    """Two driver processes start together on one study in an empty PostgreSQL database."""
    import sqlalchemy as sa

    url = pg.new_database(db)
    name = "shared"
    path = work / "shared.toml"
    path.write_text(study_text(model_dir, name=name, storage=url, trials=budget, search=4, chunk=2, workers=1))
    t0 = time.monotonic()
    procs = [_spawn_driver(path, ray_address, work / f"shared-{i}.log") for i in range(2)]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    for i, p in enumerate(procs):
        if p.returncode != 0:
            raise AssertionError(f"driver {i} exited with {p.returncode}: {(work / f'shared-{i}.log').read_text()[-2000:]}")
    summaries = [json.loads(o) for o in outs]
    import optuna

    by_driver: dict[str, int] = {}
    for t in optuna.load_study(study_name=name, storage=url).trials:
        d = DRIVER.get(t, "?")
        by_driver[d] = by_driver.get(d, 0) + 1
    # Two drivers each check the budget before asking; both may ask at the same instant: at most one extra.
    result = check_study(url, name, budget, allow_over_budget=1)
    if result["failed"]:
        raise AssertionError(f"no fault was injected, yet {result['failed']} trials failed: {result['fail_reasons']}")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = sorted(r[0] for r in conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        dup = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT trial_id, objective FROM trial_values GROUP BY trial_id, objective "
            "HAVING count(*) > 1) d")).scalar()  # fmt: skip
    engine.dispose()
    if "trials" not in tables or dup:
        raise AssertionError(f"schema {tables}, duplicated values {dup}")
    if len(by_driver) != 2 or sum(s["new_trials_done"] for s in summaries) != result["finished"]:
        raise AssertionError(f"trials per driver {by_driver}, reported {[s['new_trials_done'] for s in summaries]}")
    return {
        "scenario": "shared",
        "drivers": 2,
        "new_trials_per_driver": [s["new_trials_done"] for s in summaries],
        "trials_per_driver_in_storage": sorted(by_driver.values()),
        "budget": budget,
        "wall_s": round(time.monotonic() - t0, 1),
        "tables_created": len(tables),
        "study": result,
    }
