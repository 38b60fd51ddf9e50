"""Can a trial's first chunk tell that its accumulated attention misses the study's band?

A study's attention band (``[constraints] attention``, paper: 1.1-1.4) is a constraint on the
mean accumulated attention of the rows SRA edits, over all of a trial's cases. Recorded studies
spend 40-54% of their cases on trials that end infeasible, most of them below the band
(docs/search.md, "A continuous signal"). ``[constraints.attention] stop_margin`` stops a trial
after a chunk whose running attention lies outside the band by more than the margin. This
benchmark measures the rule's risk on recorded configs near the band: each config is scored
chunk by chunk on the recordings' search cases, and for each margin it counts

- **stops**: configs the first chunk would stop (the cases they would not spend), and
- **false stops**: configs stopped whose attention over every case lies inside the band.

It also prints the largest gap between the first chunk's attention and every case's. Per-chunk
statistics are kept in ``--cache`` (a pickle, written after each config), so a re-run only
analyses::

    PYTHONPATH=. .venv/bin/python benchmarks/band_stop.py \\
        benchmarks/results/decisions-niah512/recordings/bench-tpe-median-{0,1,2}.json --near 0.05 \\
        --cache runs/band-niah512.pkl --json > benchmarks/results/band-stop-niah512.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import keyed_pickle  # noqa: E402
from benchmarks.case_signal import config_key, model_of  # noqa: E402
from benchmarks.racing_replay import load  # noqa: E402
from sra_search.runtime.stats import SRASummary  # noqa: E402
from sra_search.search.objective import outside_band  # noqa: E402
from sra_search.search.studyfile.schema import AttentionConstraint  # noqa: E402

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05)


@dataclass(frozen=True)
class MarginRisk:
    """What stopping after the first chunk at one margin does to the scored configs."""

    margin: float
    stops: int
    false_stops: int
    cases_saved: int


def chunk_attention(model_pair: tuple[Any, Any], task: dict[str, Any], config, n: int, chunk: int) -> list[dict[str, Any]]:  # noqa: ANN001
    """Per-chunk SRA statistics (``SRASummary.to_dict``) of ``config`` on search cases ``0 .. n-1``."""
    import objectives

    model, tok = model_pair
    out = []
    for offset in range(0, n, chunk):
        res = objectives.evaluate(model, tok, task["name"], config, split="search", n_cases=min(chunk, n - offset),
                                  offset=offset, task_params=task["params"])  # fmt: skip
        out.append((res.sra_stats or SRASummary()).to_dict())
    return out


def attention(parts: list[dict[str, Any]]) -> float:
    """The band's attention over ``parts`` (merged as the driver merges a trial's chunks)."""
    from objectives.compare import attention_for_band

    return attention_for_band(SRASummary.merge(SRASummary.from_dict(p) for p in parts))


def risks(per_config: dict[str, list[dict[str, Any]]], band: AttentionConstraint, n: int, chunk: int) -> list[MarginRisk]:
    rows = []
    for m in MARGINS:
        stops = false = 0
        for parts in per_config.values():
            if outside_band(attention(parts[:1]), band.low, band.high, m):
                stops += 1
                false += band.low <= attention(parts) <= band.high
        rows.append(MarginRisk(m, stops, false, stops * (n - chunk)))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recordings", nargs="+", help="recorded studies (.json from racing_replay.py --save)")
    p.add_argument("--near", type=float, default=0.1, help="score the configs whose recorded attention is within this of the band's low or high edge")
    p.add_argument("--cache", type=Path, help="pickle keeping the per-chunk statistics between runs")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    recs = [load(r) for r in args.recordings]
    spec = recs[0].spec
    task = spec["tasks"][0]
    n, chunk = int(task["cases"]["search"]), int(task.get("chunk", 4))
    band = AttentionConstraint(**(spec.get("constraints", {}).get("attention") or {}))
    key = {"model": spec["model"], "task": task["name"], "params": task["params"], "n": n, "chunk": chunk}
    doc = keyed_pickle.read(args.cache, key, "--cache", "per-chunk statistics") if args.cache else None
    per_config: dict[str, list[dict[str, Any]]] = dict((doc or {}).get("chunks", {}))
    configs = {}
    for rec in recs:
        for t in rec.trials:
            if t.constraints and "attention_low" in t.constraints:
                att = band.low - t.constraints["attention_low"]
                if min(abs(att - band.low), abs(att - band.high)) <= args.near:
                    configs[config_key(t.config)] = t.config
    t0 = time.perf_counter()
    for i, (k, config) in enumerate(sorted(configs.items())):
        if k in per_config:
            continue
        per_config[k] = chunk_attention(model_of(spec["model"]), task, config, n, chunk)
        if args.cache:
            keyed_pickle.write(args.cache, key, chunks=per_config)
        print(f"  config {i + 1}/{len(configs)} scored", file=sys.stderr)
    scored = {k: per_config[k] for k in configs}
    gaps = [abs(attention(v[:1]) - attention(v)) for v in scored.values()]
    rows = risks(scored, band, n, chunk)
    how = {"command": " ".join(["benchmarks/band_stop.py", *(argv if argv is not None else sys.argv[1:])]),
           "machine": "this 2-core CPU machine", "configs": len(scored), "cases": n, "chunk": chunk,
           "band": [band.low, band.high], "scored_s": round(time.perf_counter() - t0, 1)}  # fmt: skip
    first_vs_all = {"max_gap": max(gaps, default=float("nan")), "mean_gap": sum(gaps) / len(gaps) if gaps else float("nan")}
    if args.json:
        print(json.dumps({**how, "first_chunk_vs_all": first_vs_all, "margins": [asdict(r) for r in rows]}, indent=2))
        return 0
    print(f"{len(scored)} configs within {args.near} of an edge of the band {band.low}-{band.high}, {n} cases in chunks of {chunk}")
    print(f"first chunk's attention against every case's: largest gap {first_vs_all['max_gap']:.4f}, mean {first_vs_all['mean_gap']:.4f}")
    print(f"{'margin':>6} {'stops':>6} {'false stops':>12} {'cases saved':>12}")
    for r in rows:
        print(f"{r.margin:>6.2f} {r.stops:>6} {r.false_stops:>12} {r.cases_saved:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
