"""HTTP load test of the preset registry API (``sra-search serve``).

Starts the real server (``sra-search serve``, uvicorn, default log level) on 127.0.0.1 at a free
port over a temporary copy of the shipped presets (``presets/``), then for a fixed time a few
client threads, each with its own keep-alive ``httpx.Client``, send a mix of requests:

- ``list``: ``GET /presets``;
- ``latest``: ``GET /presets/{model}/{task}?include_unproven=true`` (the shipped passkey v3 is a
  finding, so plain ``latest`` would be a 404 by design);
- ``get``: ``GET /presets/{model}/{task}?version=N`` for a listed version;
- ``404``: a model that does not exist (expected 404).

A request counts as an error when it raises (connection, timeout) or its status is not the one
expected (200, or 404 for ``404``). Printed per repeat and as the median over repeats: requests/s,
p50/p99 latency, error counts, with the command and the machine (cores, load average: the server
and the clients share the machine's cores).

    nice -n 19 .venv/bin/python benchmarks/serve_load.py --duration 20 --clients 4 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MIX = (("list", 3), ("latest", 3), ("get", 3), ("404", 1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def temp_registry(into: Path) -> Path:
    """The shipped presets (model/task/vN.json), without the schema files."""
    reg = into / "registry"
    for path in sorted((ROOT / "presets").glob("*/*/v*.json")):
        if path.parts[-3] == "schema":
            continue
        dest = reg / path.relative_to(ROOT / "presets")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return reg


def start_server(registry: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from sra_search.cli.app import main; main()", "serve",
           "--registry", str(registry), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer /healthz within 60 s")


def _requests(base: str, refs: list[dict], rng: random.Random):
    """An endless stream of (kind, url, expected status), in the proportions of MIX."""
    kinds = [k for k, w in MIX for _ in range(w)]
    pairs = sorted({(r["model"], r["task"]) for r in refs})
    while True:
        kind = rng.choice(kinds)
        if kind == "list":
            yield kind, f"{base}/presets", 200
        elif kind == "latest":
            m, t = rng.choice(pairs)
            yield kind, f"{base}/presets/{m}/{t}?include_unproven=true", 200
        elif kind == "get":
            r = rng.choice(refs)
            yield kind, f"{base}/presets/{r['model']}/{r['task']}?version={r['version']}&include_unproven=true", 200
        else:
            yield kind, f"{base}/presets/no-such-model/{rng.choice(pairs)[1]}", 404


def _client(base: str, refs: list[dict], seed: int, stop_at: float, out: list) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=10) as client:
        for kind, url, expected in _requests(base, refs, rng):
            if time.perf_counter() >= stop_at:
                return
            t0 = time.perf_counter()
            try:
                status = client.get(url).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            out.append((kind, time.perf_counter() - t0, status, status == expected))


def one_repeat(base: str, refs: list[dict], clients: int, duration_s: float, seed: int) -> dict:
    results: list[list] = [[] for _ in range(clients)]
    start = time.perf_counter()
    threads = [threading.Thread(target=_client, args=(base, refs, seed * 100 + i, start + duration_s, results[i]))
               for i in range(clients)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    rows = [r for part in results for r in part]
    lat = sorted(r[1] for r in rows)
    errors: dict[str, int] = {}
    for kind, _, status, ok in rows:
        if not ok:
            key = f"{kind}:{status}"
            errors[key] = errors.get(key, 0) + 1
    return {
        "requests": len(rows),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(rows) / wall, 1),
        "p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "by_kind": {k: sum(1 for r in rows if r[0] == k) for k, _ in MIX},
    }


def machine() -> dict:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
        "nice": os.nice(0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="Seconds of load per repeat.")
    ap.add_argument("--clients", type=int, default=4, help="Concurrent client threads.")
    ap.add_argument("--repeats", type=int, default=3, help="Repeats (the median is reported).")
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = ap.parse_args()
    info = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "machine": machine(),
            "clients": args.clients, "duration_s": args.duration, "mix": dict(MIX)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        registry = temp_registry(Path(tmp))
        port = free_port()
        server = start_server(registry, port)
        try:
            base = f"http://127.0.0.1:{port}"
            refs = httpx.get(f"{base}/presets", timeout=10).json()
            info["presets"] = len(refs)
            repeats = [one_repeat(base, refs, args.clients, args.duration, seed) for seed in range(args.repeats)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    info["repeats"] = repeats
    info["median"] = {k: statistics.median(r[k] for r in repeats) for k in ("requests_per_s", "p50_ms", "p99_ms", "errors")}
    info["machine"]["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"command: {info['command']}")
    print(f"machine: {info['machine']}")
    print(f"{info['presets']} presets, {args.clients} clients, {args.duration:g} s per repeat, mix {dict(MIX)}")
    for i, r in enumerate(repeats):
        print(f"repeat {i}: {r['requests']} requests, {r['requests_per_s']} req/s, p50 {r['p50_ms']} ms, "
              f"p99 {r['p99_ms']} ms, errors {r['errors']} {r['errors_by_kind'] or ''}")  # fmt: skip
    m = info["median"]
    print(f"median of {len(repeats)}: {m['requests_per_s']} req/s, p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms, errors {m['errors']}")


if __name__ == "__main__":
    main()
