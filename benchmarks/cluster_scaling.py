"""Trial throughput on a real multi-node Ray cluster with 1, 2 and 3 worker nodes, and the
driver's overhead per trial: the measured rows of docs/scaling.md.

    PYTHONPATH=. .venv/bin/python benchmarks/cluster_scaling.py --nodes 1,2,3 --trials 24 --repeats 2 --json
    PYTHONPATH=. .venv/bin/python benchmarks/cluster_scaling.py --trials 12 --length 1024 --search 8 --json  # evaluation-bound

The cluster is ``benchmarks.local_cluster.LocalCluster`` (``ray start``): a head with 0 CPUs
(the driver only, as ray_cluster.yaml's head) and one worker node per step, 1 CPU each, joined
one after the other (the extra nodes are stopped between repeats); one worker actor per node. Each step runs a fresh study (the tiny random
Llama with SmolLM2's tokenizer, passkey at 256 tokens in 2 chunks of 2 cases plus the perplexity
text: 3 worker calls per trial) with an in-process driver connected to the cluster, storage on
PostgreSQL (scripts/postgres.sh) or SQLite. Per step:

- **throughput**: trials finished / (last trial's end - first trial's start), from the trials'
  own timestamps, so worker start-up and the baseline are left out;
- **driver overhead per trial**: ``wall_s - eval_s`` of each trial (ask -> tell minus the time
  the workers report evaluating), the mean and the max: Ray round trips, storage, the driver's
  work and the wait for the driver while it handles another worker's result;
- **driver CPU per trial**: the driver process's CPU time (``time.process_time``, all threads)
  from the first trial to the end of the trial loop, over the trials: its own cost.

On a machine with fewer cores than nodes the workers share cores, so read the ratios between
steps against the core count, not the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sra_search.search.storage.attrs import EVAL_S, NODE, WALL_S

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def step(cluster: Any, model_dir: str, url: str, name: str, workers: int, trials: int, length: int = 256,
         search: int = 4) -> dict[str, Any]:  # fmt: skip
    """One study with ``workers`` worker actors on the cluster; throughput and overhead."""
    import optuna

    from benchmarks.reliability.study import study_text
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import parse_study

    text = study_text(model_dir, name=name, storage=url, trials=trials, search=search, chunk=2, heartbeat_s=5,
                      grace_s=20)  # fmt: skip
    text = text.replace("params = { length = 128 }", f"params = {{ length = {length} }}")
    spec = parse_study(text)
    cpu: dict[str, float] = {}

    def on_progress(p: Any) -> None:
        # The driver's own CPU time (all its threads) from the first trial to the end of the loop.
        if p.phase == "trials":
            cpu.setdefault("start", time.process_time())
        elif "start" in cpu and "end" not in cpu:
            cpu["end"] = time.process_time()

    t0 = time.perf_counter()
    Driver(spec, RunOptions(holdout=False, workers=workers, ray_address=cluster.gcs_address, on_progress=on_progress)).run()
    run_s = time.perf_counter() - t0
    done = [t for t in optuna.load_study(study_name=name, storage=url).trials if t.state.name in ("COMPLETE", "PRUNED")]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    over = [WALL_S.get(t) - EVAL_S.get(t) for t in done]
    return {
        "nodes": workers,
        "trials": len(done),
        "nodes_used": len({NODE.get(t) for t in done}),
        "run_s": round(run_s, 1),
        "trial_span_s": round(span, 2),
        "trials_per_s": round(len(done) / span, 3),
        "eval_s_mean": round(statistics.mean(EVAL_S.get(t) for t in done), 3),
        "driver_overhead_s_mean": round(statistics.mean(over), 3),
        "driver_overhead_s_max": round(max(over), 3),
        "driver_cpu_s_per_trial": round((cpu["end"] - cpu["start"]) / len(done), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", default="1,2,3", help="worker-node counts, increasing")
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--storage", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--length", type=int, default=256, help="passkey prompt tokens (longer: evaluation dominates)")
    ap.add_argument("--search", type=int, default=4, help="cases per trial (chunks of 2)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    counts = [int(n) for n in args.nodes.split(",")]

    from benchmarks.reliability.servers import Postgres, machine
    from benchmarks.reliability.study import make_tiny_model
    from benchmarks.local_cluster import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="sra-cluster-bench-"))
    model_dir = make_tiny_model(work / "tiny")
    rows: list[dict[str, Any]] = []
    pg = Postgres(work / "pg") if args.storage == "postgres" else None
    if pg is not None:
        pg.__enter__()
    # One cluster for every repeat: a driver process keeps the first token it reads, so a second
    # cluster (a new token) could not be joined from here. Between repeats the extra nodes go.
    cluster = LocalCluster(nodes=0, head_cpus=0).up()
    os.environ.update({k: v for k, v in cluster.client_env().items() if k.startswith("RAY_AUTH")})
    try:
        for rep in range(args.repeats):
            for n in counts:
                while len(cluster.workers) < n:
                    cluster.add_node(f"node_{chr(ord('a') + len(cluster.workers))}")
                name = f"scale-r{rep}-n{n}"
                url = pg.new_database(name.replace("-", "_")) if pg else f"sqlite:///{work / name}.db"
                row = step(cluster, model_dir, url, name, n, args.trials, args.length, args.search)
                row["repeat"] = rep
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
            for node in cluster.workers[counts[0]:]:
                cluster.kill_node(node.name, grace_s=5)
            cluster.workers = cluster.workers[: counts[0]]
    finally:
        import ray

        ray.shutdown()
        cluster.down(remove=True)
        if pg is not None:
            pg.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
    result = {"machine": machine(), "storage": args.storage, "trials": args.trials, "length": args.length,
              "search": args.search, "rows": rows}  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for r in rows:
        print(f"rep {r['repeat']} nodes {r['nodes']}: {r['trials']} trials in {r['trial_span_s']} s = {r['trials_per_s']} trials/s; "
              f"eval {r['eval_s_mean']} s; driver overhead {r['driver_overhead_s_mean']} s (max {r['driver_overhead_s_max']}), "
              f"driver CPU {r['driver_cpu_s_per_trial']} s per trial")


if __name__ == "__main__":
    main()
