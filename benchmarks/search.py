"""Where a trial's time goes, and what the driver and the storage cost per trial: the
single-machine numbers behind docs/scaling.md.

    PYTHONPATH=. .venv/bin/python benchmarks/search.py                 # sqlite + PostgreSQL, 2 repeats
    PYTHONPATH=. .venv/bin/python benchmarks/search.py --trials 8 --repeats 2 --json

Measured (each printed with how):

1. **A real study** (in-process driver, local Ray with 2 CPUs, 2 worker actors, the 4-layer
   random Llama with SmolLM2's tokenizer, passkey at 256 tokens in 2 chunks of 2 cases, the
   perplexity constraint): per trial the wall time (ask -> tell, ``wall_s``), the evaluation
   time the workers report (``eval_s``), and the rest (driver, Ray, storage); model load time
   per worker. Every SQL statement the driver's engine runs is counted with SQLAlchemy's
   ``before/after_cursor_execute`` events, split into the heartbeat thread's and the rest,
   writes (INSERT/UPDATE/DELETE) and reads, with the time spent in them.
2. **Storage latency**: one ``set_trial_user_attr`` and one ``record_heartbeat`` (each a
   committed write) timed 200 times on SQLite and on PostgreSQL (scripts/postgres.sh).
3. **Sampler cost**: ``study.ask`` + ``study.tell`` time of the sampler the driver builds for
   studies/llama3-8b-longbench.toml (multivariate TPE with constant liar, 8 parameters) after
   0..1000 finished trials, in memory, and the driver's per-loop scan (``get_trials``) of an
   RDB study of that size: what grows with the study, independent of the model.

With ``--decisions`` it measures instead what the search decides at equal CPU time on SmolLM2
pass-key retrieval (``benchmarks/search_decisions.py``): racing against the median pruner
(trials finished, cases spent per trial, how often the pick is better than the baseline on a
large held-out set, with interval and p) and TPE against random search (the held-out gain of
each one's pick, with its interval), same budget and seeds:

    PYTHONPATH=. .venv/bin/python benchmarks/search.py --decisions                          # 3 seeds x 3 studies x 660 s, 200 held-out
    PYTHONPATH=. .venv/bin/python benchmarks/search.py --decisions --time 90 --seeds 0 --heldout 24 --length 1024   # a quick check
    PYTHONPATH=. .venv/bin/python benchmarks/search.py --decisions --merge benchmarks/results/decisions-*.json      # seeds run on separate days, one summary
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sra_search.search.storage.attrs import EVAL_S, WALL_S

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _reliability():
    """The reliability benchmark's tiny model, study file and PostgreSQL server."""
    import benchmarks.reliability

    return benchmarks.reliability


class SQLCounter:
    """Counts and times the statements an engine runs, by thread kind and statement kind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[str, str, float]] = []  # (thread kind, statement kind, seconds)
        self.tables: dict[str, int] = {}  # driver writes per table

    def attach(self, engine: Any) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            conn.info.setdefault("t0", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            dt = time.perf_counter() - conn.info["t0"].pop()
            verb = statement.lstrip().split(None, 1)[0].upper()
            kind = "write" if verb in ("INSERT", "UPDATE", "DELETE") else "read"
            who = "heartbeat" if threading.current_thread().name == "sra-search-heartbeat" else "driver"
            with self.lock:
                self.rows.append((who, kind, dt))
                if kind == "write" and who == "driver":
                    words = statement.replace("\n", " ").split()
                    table = words[2] if verb in ("INSERT", "DELETE") and len(words) > 2 else words[1] if len(words) > 1 else "?"
                    self.tables[table] = self.tables.get(table, 0) + 1

        @event.listens_for(engine, "commit")
        def commit(conn):  # noqa: ANN001
            who = "heartbeat" if threading.current_thread().name == "sra-search-heartbeat" else "driver"
            with self.lock:
                self.rows.append((who, "commit", 0.0))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for who in ("driver", "heartbeat"):
            for kind in ("write", "read", "commit"):
                sel = [dt for w, k, dt in self.rows if w == who and k == kind]
                out[f"{who}_{kind}s"] = len(sel)
                if kind != "commit":
                    out[f"{who}_{kind}_s"] = round(sum(sel), 4)
        out["driver_writes_by_table"] = dict(sorted(self.tables.items(), key=lambda kv: -kv[1]))
        return out


def study_run(work: Path, model_dir: str, url: str, trials: int, name: str) -> dict[str, Any]:
    """One study to its budget with every SQL statement counted; per-trial numbers."""
    import optuna

    import sra_search.search.driver as drv
    from sra_search.search.studyfile.schema import parse_study

    rel = _reliability()
    counter = SQLCounter()
    real_open = drv.open_storage

    def counted_open(*a: Any, **k: Any):
        storage = real_open(*a, **k)
        counter.attach(storage.engine)
        return storage

    text = rel.study_text(model_dir, name=name, storage=url, trials=trials, search=4, chunk=2, heartbeat_s=5, grace_s=20)
    text = text.replace("params = { length = 128 }", "params = { length = 256 }")
    spec = parse_study(text)
    drv.open_storage = counted_open
    try:
        t0 = time.perf_counter()
        summary = drv.Driver(spec, drv.RunOptions(holdout=False)).run()
        total_s = time.perf_counter() - t0
    finally:
        drv.open_storage = real_open
    study = optuna.load_study(study_name=name, storage=url)
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    wall = [WALL_S.get(t) for t in done]
    ev = [EVAL_S.get(t) for t in done]
    over = [w - e for w, e in zip(wall, ev)]
    sql = counter.summary()
    n = len(done)
    return {
        "storage": url.split(":", 1)[0],
        "trials": n,
        "run_s": round(total_s, 2),
        "trial_wall_s_mean": round(statistics.mean(wall), 3),
        "trial_eval_s_mean": round(statistics.mean(ev), 3),
        "trial_other_s_mean": round(statistics.mean(over), 3),
        "trial_other_s_max": round(max(over), 3),
        "chunks_per_trial": 3,  # 2 passkey chunks + the perplexity text
        "model_load_s": [round(w["load_s"], 3) for w in summary.workers],
        "sql": sql,
        "per_trial": {
            "driver_writes": round(sql["driver_writes"] / n, 1),
            "driver_reads": round(sql["driver_reads"] / n, 1),
            "driver_commits": round(sql["driver_commits"] / n, 1),
            "driver_sql_s": round((sql["driver_write_s"] + sql["driver_read_s"]) / n, 4),
            "heartbeat_writes": round(sql["heartbeat_writes"] / n, 1),
        },
    }


def storage_latency(url: str, n: int = 200) -> dict[str, float]:
    import warnings

    import optuna

    from sra_search.search.storage.optuna_private import trial_id
    from sra_search.search.storage.rdb import open_storage

    storage = open_storage(url, heartbeat_s=5, grace_s=20, create=True)
    name = f"latency-{os.getpid()}-{time.time_ns()}"
    study = optuna.create_study(study_name=name, storage=storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = study.ask()
    tid = trial_id(trial)
    out = {}
    for label, fn in (("user_attr_write_ms", lambda i: storage.set_trial_user_attr(tid, "k", i)),
                      ("heartbeat_write_ms", lambda i: storage.record_heartbeat(tid))):  # fmt: skip
        times = []
        for i in range(n):
            t = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - t)
        out[label] = round(1000 * statistics.median(times), 3)
        out[label.replace("_ms", "_p95_ms")] = round(1000 * sorted(times)[int(0.95 * n)], 3)
    return out


def sampler_cost(sizes: list[int], url: str) -> list[dict[str, Any]]:
    """ask+tell time of the llama3 study's sampler, and the driver's trial scan, vs study size."""
    import random
    import warnings

    import optuna
    from optuna.trial import create_trial

    from sra_search.search.strategies.registry import make_pruner
    from sra_search.search.tuning import samplers, space
    from sra_search.search.results import best_feasible
    from sra_search.search.studyfile.schema import load_study_file

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = load_study_file(REPO / "studies" / "llama3-8b-longbench.toml")
    dists = space.distributions(spec.search_space)
    rng = random.Random(0)
    out = []
    for n in sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=samplers.make_sampler(spec), pruner=make_pruner(spec),
                                        directions=samplers.directions(spec))  # fmt: skip
            trials = []
            for _ in range(n):
                params = {k: (d.choices[rng.randrange(len(d.choices))] if hasattr(d, "choices")
                              else rng.uniform(d.low, d.high) if not getattr(d, "step", None)
                              else d.low + d.step * rng.randrange(int((d.high - d.low) / d.step) + 1))
                          for k, d in dists.items()}  # fmt: skip
                trials.append(create_trial(params=params, distributions=dists, value=rng.random(),
                                           system_attrs={"constraints": [rng.uniform(-1, 0.2)] * 4}))  # fmt: skip
            study.add_trials(trials)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                tr = study.ask(fixed_distributions=dists)
                study.tell(tr, rng.random())
                times.append(time.perf_counter() - t)
        # The driver's loop reads every trial (counts, best feasible) about once a second.
        rdb = None
        if url:
            st_name = f"scan-{n}-{time.time_ns()}"
            rdb = optuna.create_study(study_name=st_name, storage=url)
            rdb.add_trials(trials)
            rdb = optuna.load_study(study_name=st_name, storage=url)
            rdb.get_trials(deepcopy=False)  # fill the cache as the driver's would be
            t = time.perf_counter()
            for _ in range(3):
                rdb.get_trials(deepcopy=False, states=None)
                best_feasible(rdb)
            scan = (time.perf_counter() - t) / 3
        out.append({
            "finished_trials": n,
            "ask_tell_ms_median": round(1000 * statistics.median(times), 1),
            "driver_scan_ms": round(1000 * scan, 1) if rdb is not None else None,
        })  # fmt: skip
    return out


def _decisions():
    import benchmarks.search_decisions

    return benchmarks.search_decisions


def run_decisions(args: argparse.Namespace, decisions: Any) -> None:
    """``--decisions``: racing vs median and TPE vs random at equal time budgets (search_decisions.py)."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.merge:
        reports = [json.loads(Path(f).read_text()) for f in args.merge]
        report = decisions.merge(reports, list(args.merge))
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            decisions.print_report(report)
        return
    rel = _reliability()
    command = "PYTHONPATH=. " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    t0 = time.perf_counter()
    machine = rel.machine()  # before the run loads the machine
    print(f"command: {command}", file=sys.stderr, flush=True)  # progress on stderr: --json's stdout is the report
    report = decisions.run(args, rel)
    report = {
        "command": command, "machine": machine, "total_s": round(time.perf_counter() - t0, 1),
        "how": "in-process drivers one after another on a local Ray (2 CPUs, 2 workers of 1 CPU), SQLite; the same "
               "[budget] time_s for every study; picks re-scored in this process (objectives.compare.rescore, "
               "Comparison.evidence: one-sided paired test, 90% bootstrap interval)",
        **report,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    decisions.print_report(report)
    print(f"total: {report['total_s']} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--sizes", default="0,100,200,500,1000")
    ap.add_argument("--json", action="store_true")
    decisions = _decisions()
    decisions.add_arguments(ap)
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.decisions:
        run_decisions(args, decisions)
        return

    import logging

    import ray

    logging.basicConfig(level=logging.WARNING)
    rel = _reliability()
    work = Path(tempfile.mkdtemp(prefix="sra-search-bench-"))
    model_dir = rel.make_tiny_model(work / "tiny-llama")
    use_pg = not args.no_postgres and rel.Postgres.available()
    results: dict[str, Any] = {"studies": [], "latency": {}, "sampler": []}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    pg = rel.Postgres(work / "pg") if use_pg else None
    try:
        if pg:
            pg.__enter__()
        backends = [("sqlite", lambda r: f"sqlite:///{work / f'bench-{r}.db'}")]
        if pg:
            backends.append(("postgresql", lambda r: pg.new_database(f"bench{r}")))
        for label, make_url in backends:
            for r in range(args.repeats):
                res = study_run(work, model_dir, make_url(r), args.trials, f"bench-{label}-{r}")
                res["repeat"] = r
                results["studies"].append(res)
            results["latency"][label] = storage_latency(make_url("lat"))
        results["sampler"] = sampler_cost([int(s) for s in args.sizes.split(",")], pg.new_database("scan") if pg else f"sqlite:///{work / 'scan.db'}")
    finally:
        ray.shutdown()
        if pg:
            pg.__exit__(None, None, None)
    report = {
        "command": "PYTHONPATH=. " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "machine": rel.machine(),
        "repeats": args.repeats,
        "how": "see the module docstring: wall/eval from trial user attrs; SQL via SQLAlchemy cursor events; "
               "latency = median of 200 committed writes; sampler = median of 5 ask+tell",
        **results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"command: {report['command']}")
    print(f"machine: {report['machine']}  repeats: {args.repeats}")
    print("\nstudies (per trial means; other = wall - eval = driver + Ray + storage):")
    for s in results["studies"]:
        p = s["per_trial"]
        print(f"  {s['storage']:<10} rep {s['repeat']}: {s['trials']} trials in {s['run_s']} s; wall {s['trial_wall_s_mean']} s, "
              f"eval {s['trial_eval_s_mean']} s, other {s['trial_other_s_mean']} s (max {s['trial_other_s_max']}); "
              f"model load {s['model_load_s']} s; SQL/trial: {p['driver_writes']} writes, {p['driver_reads']} reads, "
              f"{p['driver_commits']} commits, {p['driver_sql_s'] * 1000:.1f} ms; heartbeat writes/trial {p['heartbeat_writes']}")
    print("\nstorage latency (median / p95 of 200 committed writes):")
    for k, v in results["latency"].items():
        print(f"  {k:<10} {v}")
    print("\nsampler (llama3-8b-longbench space, TPE multivariate + constant liar) and driver scan vs study size:")
    for s in results["sampler"]:
        print(f"  {s['finished_trials']:>5} trials: ask+tell {s['ask_tell_ms_median']} ms, driver scan {s['driver_scan_ms']} ms")


if __name__ == "__main__":
    main()
