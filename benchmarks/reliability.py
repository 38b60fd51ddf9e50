"""Fault figures of the search service: what survives a killed driver, killed workers, a storage
outage, and two drivers sharing one study on PostgreSQL.

    PYTHONPATH=. .venv/bin/python benchmarks/reliability.py                     # every scenario, full counts
    PYTHONPATH=. .venv/bin/python benchmarks/reliability.py --only driver --driver-kills 20
    PYTHONPATH=. .venv/bin/python benchmarks/reliability.py --json              # one JSON object on stdout

Scenarios (each on a 4-layer random Llama with SmolLM2's tokenizer, real passkey and perplexity
tasks, a local Ray with 2 CPUs; PostgreSQL from scripts/postgres.sh, started and stopped here):

- ``driver``: the driver (a ``sra-search run`` subprocess) SIGKILLed at uniformly random moments,
  ``--driver-kills`` times over one study, then run once more to its budget. Checked: every trial
  seen COMPLETE/PRUNED after any kill is still so with the same value; the budget is met exactly;
  nothing is left RUNNING/WAITING; each trial failed as stale is retried at most once.
- ``worker``: a busy worker actor SIGKILLed mid-trial (after its first chunk) ``--worker-kills``
  times, each time in a different original (not retried) trial. Checked: each such trial ends FAIL
  with a ``fail_reason`` naming the dead worker, is retried exactly once with the same
  parameters, and the study completes to its budget.
- ``outage``: PostgreSQL stopped (``pg_ctl stop -m immediate``) for ``--outage-s`` seconds,
  ``--outages`` times during a study. Checked: the driver logs that the storage is unreachable and
  that it is back, completes to budget, no trial is recorded twice.
- ``shared``: two driver processes start together on the same study on an empty PostgreSQL
  database (so both create the schema). Checked: no trial duplicated (no two finished trials with
  the same parameters), none lost (every trial finished, none RUNNING), no trial failed.

The tests in tests/hardening/ run the same functions with smaller counts. Prints the command,
the machine, the counts and the measured numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_SCRIPT = REPO / "scripts" / "postgres.sh"


# ----------------------------------------------------------------------------- set-up


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def make_tiny_model(out: Path) -> str:
    """A 4-layer random Llama (hidden 64) with SmolLM2's tokenizer, as tests/search/conftest.py makes it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from sra_search.models import SMOLLM2_GGUF, smollm2_path

    out = Path(out)
    if (out / "config.json").is_file():
        return str(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(smollm2_path(), gguf_file=SMOLLM2_GGUF)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=len(tok), max_position_embeddings=4096,
        initializer_range=0.3, tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def study_text(model_dir: str, *, name: str, storage: str, trials: int, search: int = 4, chunk: int = 2,
               workers: int = 2, retry_s: int = 120, heartbeat_s: int = 1, grace_s: int = 3) -> str:
    """The tests' tiny study (:func:`sra_search.search.examples.tiny_study_toml`), with a storage retry window."""
    from sra_search.search.examples import tiny_study_toml

    return tiny_study_toml(
        model_dir, name=name, storage=storage, trials=trials, search=search, chunk=chunk, workers=workers,
        retry_s=retry_s, heartbeat_s=heartbeat_s, grace_s=grace_s,
    )  # fmt: skip


class Postgres:
    """A throwaway PostgreSQL server (scripts/postgres.sh) that can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.url = ""
        self.port = 0

    @staticmethod
    def available() -> bool:
        return subprocess.run(["bash", str(PG_SCRIPT), "bindir"], capture_output=True).returncode == 0

    def __enter__(self) -> "Postgres":
        out = subprocess.run(["bash", str(PG_SCRIPT), "start", str(self.dir)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"postgres.sh start failed: {out.stderr.strip()}")
        self.url = out.stdout.strip().splitlines()[-1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(self.dir)], capture_output=True)

    def _pg_ctl(self, *args: str) -> None:
        bindir = subprocess.run(["bash", str(PG_SCRIPT), "bindir"], capture_output=True, text=True).stdout.strip()
        cmd = [f"{bindir}/pg_ctl", "-D", str(self.dir / "data"), *args]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {out.stderr.strip() or out.stdout.strip()}")

    def stop(self) -> None:
        """Like a crash: ``-m immediate`` drops every connection at once."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c full_page_writes=off -c max_connections=100")  # fmt: skip
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", opts, "start")

    def new_database(self, name: str) -> str:
        """An empty database on this server (the schema is created by the first driver that uses it)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url.rsplit("/", 1)[0] + "/" + name


# ----------------------------------------------------------------------------- checks


def finished_snapshot(url: str, name: str) -> dict[int, tuple[str, Any]]:
    """Trial number -> (state, values) of every COMPLETE or PRUNED trial."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=url)
    return {
        t.number: (t.state.name, t.values)
        for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE, TrialState.PRUNED])
    }


def check_study(url: str, name: str, budget: int, *, seen_finished: dict[int, tuple[str, Any]] | None = None,
                allow_over_budget: int = 0) -> dict[str, Any]:
    """The invariants every scenario must keep; raises AssertionError listing every violation."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=url)
    trials = study.get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    problems: list[str] = []
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not budget <= len(finished) <= budget + allow_over_budget:
        problems.append(f"{len(finished)} trials finished, budget {budget}")
    left = [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    if left:
        problems.append(f"trials left RUNNING/WAITING: {left}")
    # 0 completed trials lost or changed.
    for number, (state, values) in (seen_finished or {}).items():
        t = by_number.get(number)
        if t is None or t.state.name != state or t.values != values:
            problems.append(f"trial {number} was {state} {values}, now {t.state.name if t else 'missing'} {t.values if t else ''}")
    # Never recorded twice: no two finished trials with the same parameters (continuous space: a
    # repeat means one evaluation was recorded as two trials), and each trial retried at most once.
    seen_params: dict[str, int] = {}
    for t in finished:
        key = json.dumps(t.params, sort_keys=True)
        if key in seen_params:
            problems.append(f"trials {seen_params[key]} and {t.number} have the same parameters")
        seen_params[key] = t.number
    retries: dict[int, list[int]] = {}
    for t in trials:
        origin = t.system_attrs.get("failed_trial")
        if origin is not None:
            retries.setdefault(origin, []).append(t.number)
    for origin, numbers in retries.items():
        if len(numbers) > 1:
            problems.append(f"trial {origin} retried {len(numbers)} times: {numbers}")
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if problems:
        raise AssertionError(f"study {name}: " + "; ".join(problems))
    return {
        "finished": len(finished),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": len(failed),
        "retried": len(retries),
        "trials": len(trials),
        "fail_reasons": sorted({str(t.user_attrs.get("fail_reason", "stale heartbeat (driver gone)")) for t in failed}),
    }


# ----------------------------------------------------------------------------- scenarios


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
    from sra_search.search.schema import load_study_file

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
        for number, run in list(driver._runs.items()):
            slot = driver._slots[run.slot]
            # After the first chunk and before the last job: the worker dies with work of the trial left.
            if (number in hit or not 1 <= run.step < len(run.jobs) - 1 or not slot.ready or slot.pid is None
                    or "failed_trial" in driver.storage.get_trial_system_attrs(run.trial._trial_id)):  # fmt: skip
                continue  # only mid-trial, in an original trial (a retry is not retried again)
            try:
                os.kill(slot.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append({"trial": number, "pid": slot.pid, "t": time.monotonic()})
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
        reason = t.user_attrs.get("fail_reason", "")
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
        "worker_stats": summary["workers"],
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
    from sra_search.search.schema import load_study_file

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
    logger = logging.getLogger("sra_search.search.storage")
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
    if not unreachable or not back or summary["storage_outages"]["outages"] < 1:
        raise AssertionError(f"the driver did not report the outage: {cap.lines}")
    return {
        "scenario": "outage",
        "outages": len(done),
        "outage_s": outage_s,
        "down_s": [d["down_s"] for d in done],
        "driver_saw": summary["storage_outages"],
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
        d = t.user_attrs.get("driver", "?")
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


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["driver", "worker", "outage", "shared"], action="append")
    ap.add_argument("--driver-kills", type=int, default=20)
    ap.add_argument("--driver-budget", type=int, default=120)
    ap.add_argument("--worker-kills", type=int, default=10)
    ap.add_argument("--worker-budget", type=int, default=40)
    ap.add_argument("--outages", type=int, default=3)
    ap.add_argument("--outage-s", type=float, default=20.0)
    ap.add_argument("--outage-budget", type=int, default=8)
    ap.add_argument("--shared-budget", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="Working directory (default: a new temp dir).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    only = set(args.only or ["driver", "worker", "outage", "shared"])

    import tempfile

    import ray

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = args.work or Path(tempfile.mkdtemp(prefix="sra-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = make_tiny_model(work / "tiny-llama")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    gcs = ray.get_runtime_context().gcs_address
    results: list[dict[str, Any]] = []

    def scenario(label: str, fn: Any, *a: Any, **k: Any) -> None:
        # A failed scenario is reported (and makes the exit code 1); the others still run.
        try:
            results.append(fn(*a, **k))
        except AssertionError as exc:
            results.append({"scenario": label, "failed": str(exc)})
        (work / "results.json").write_text(json.dumps(results, indent=2, default=str))
        print(f"{label}: {'FAILED' if 'failed' in results[-1] else 'ok'}", file=sys.stderr, flush=True)

    try:
        if "driver" in only:
            scenario("driver", driver_kills, work, model_dir, gcs, kills=args.driver_kills, budget=args.driver_budget, seed=args.seed)
        if "worker" in only:
            scenario("worker", worker_kills, work, model_dir, kills=args.worker_kills, budget=args.worker_budget)
        if only & {"outage", "shared"}:
            if not Postgres.available():
                raise SystemExit("PostgreSQL server binaries missing: bash scripts/postgres.sh install")
            with Postgres(work / "pg") as pg:
                if "outage" in only:
                    scenario("outage", storage_outage, work, model_dir, pg, outages=args.outages, outage_s=args.outage_s,
                             budget=args.outage_budget)
                if "shared" in only:
                    scenario("shared", shared_study, work, model_dir, pg, gcs, budget=args.shared_budget)
    finally:
        ray.shutdown()
    report = {
        "command": "PYTHONPATH=. " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "machine": machine(),
        "repeats": 1,
        "results": results,
    }
    failed = [r["scenario"] for r in results if "failed" in r]
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        sys.exit(1 if failed else 0)
    print(f"command: {report['command']}")
    print(f"machine: {report['machine']}")
    for r in results:
        r = dict(r)
        for k in ("events", "kills_detail", "worker_stats"):
            r.pop(k, None)
        print(json.dumps(r, default=str))
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
