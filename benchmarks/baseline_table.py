"""Baseline and the paper's public configuration per task and prompt length, on one model loaded
once: the tables of docs/objectives.md.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/baseline_table.py --model gemma3-270m \
        --tasks passkey,longchat_lines,kv_retrieval --lengths 512,1024,2048 --cases 24

Every row scores the same ``search`` cases with no SRA and with ``SRAConfig.paper_public()``
(``objectives.compare.rescore``, ``require_gain=False``). Printed per row: baseline and
paper_public accuracy with 95% Clopper-Pearson intervals (``scipy.stats.binomtest``), the paired
delta with its interval and one-sided p (``Comparison.evidence()``: exact McNemar for 0/1 scores),
cases SRA fixed / broke, the edited share and mean accumulated attention of the edited rows, and
seconds per case. ``--json`` prints the rows as JSON; ``--params task:key=value`` sets a task
parameter (repeatable), e.g. ``--params passkey:key_kind=words``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _interval(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return round(ci.low, 3), round(ci.high, 3)


def _task_params(specs: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for spec in specs:
        task, _, kv = spec.partition(":")
        key, _, value = kv.partition("=")
        if not (task and key and value):
            raise SystemExit(f"--params {spec!r}: use task:key=value")
        out.setdefault(task, {})[key] = int(value) if value.isascii() and value.isdigit() else value
    return out


def row(model, tok, task: str, params: dict, cases: int) -> dict:
    from objectives.compare import rescore

    from sra_search.config import SRAConfig

    t = time.perf_counter()
    cmp = rescore(model, tok, task, params, SRAConfig.paper_public(), split="search", n_cases=cases, require_gain=False)
    wall = time.perf_counter() - t
    ev = cmp.evidence()
    n = cmp.n_cases
    base_k = round(sum(cmp.baseline_case_scores))
    sra_k = round(sum(cmp.case_scores))
    stats = cmp.stats
    return {
        "task": task, "params": params, "cases": n, "prompt_tokens": cmp.prompt_tokens,
        "baseline": round(cmp.baseline_score, 3), "baseline_ci95": _interval(base_k, n),
        "paper_public": round(cmp.score, 3), "paper_public_ci95": _interval(sra_k, n),
        "delta": round(ev.delta, 3), "delta_ci90": [round(ev.ci_low, 3), round(ev.ci_high, 3)], "p_one_sided": ev.p_value,
        "test": ev.test, "fixed": ev.sra_only, "broke": ev.baseline_only,
        "edited_share": None if stats is None else stats.edited_share,
        "accumulated_mean": None if stats is None else stats.accumulated_attention_mean,
        "s_per_case_both": round(wall / max(n, 1), 2),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--tasks", default="passkey,longchat_lines,kv_retrieval")
    ap.add_argument("--lengths", default="512,1024,2048")
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--params", action="append", default=[], help="task:key=value (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from sra_search.models import load_model

    command = "PYTHONPATH=. " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    t0 = time.perf_counter()
    model, tok = load_model(args.model)
    load_s = time.perf_counter() - t0
    extra = _task_params(args.params)
    print(f"command: {command}\nmachine: {platform.platform()}, {os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}\nmodel {args.model} loaded in {load_s:.0f} s; "
          f"{args.cases} search cases per row, baseline and paper_public on the same cases, one repeat", flush=True)  # fmt: skip
    rows = []
    for task in args.tasks.split(","):
        for length in (int(x) for x in args.lengths.split(",")):
            r = row(model, tok, task, {"length": length, "seed": 0, **extra.get(task, {})}, args.cases)
            rows.append(r)
            if not args.json:
                print(f"| {task} | {length} | {r['prompt_tokens'].get('mean', '')} | {r['cases']} | "
                      f"{r['baseline']:.2f} [{r['baseline_ci95'][0]:.2f}, {r['baseline_ci95'][1]:.2f}] | "
                      f"{r['paper_public']:.2f} [{r['paper_public_ci95'][0]:.2f}, {r['paper_public_ci95'][1]:.2f}] | "
                      f"{r['delta']:+.2f} [{r['delta_ci90'][0]:+.2f}, {r['delta_ci90'][1]:+.2f}], p = {r['p_one_sided']:.3g} | "
                      f"{r['fixed']}/{r['broke']} | {r['edited_share'] or 0:.3f} | {r['accumulated_mean'] or 1:.3f} | "
                      f"{r['s_per_case_both']} |", flush=True)  # fmt: skip
    if args.json:
        print(json.dumps({"command": command, "load_s": round(load_s, 1), "rows": rows}, indent=2))
    print(f"total: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
