"""``python -m benchmarks.reliability`` (or ``python benchmarks/reliability``): run the scenarios, print the figures."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a path: put the repository, not this folder, first on sys.path.
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.reliability import __doc__ as DOC  # noqa: E402
from benchmarks.reliability.scenarios import driver_kills, shared_study, storage_outage, worker_kills  # noqa: E402
from benchmarks.reliability.servers import Postgres, machine  # noqa: E402
from benchmarks.reliability.study import make_tiny_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=DOC.split("\n\n")[0])
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
        "command": "PYTHONPATH=. " + " ".join(shlex.quote(a) for a in [".venv/bin/python", "-m", "benchmarks.reliability", *sys.argv[1:]]),
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
