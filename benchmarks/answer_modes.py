"""When is the cheap surrogate valid? Per-case agreement of teacher-forced (primed) scoring with
free-answer scoring, and the cost per case of each, on the same cases, in the same run.

    PYTHONPATH=. .venv/bin/python benchmarks/answer_modes.py --models smollm2-135m,gemma3-270m \
        --tasks passkey,niah --length 1024 --cases 24 [--params tau_in=...,c_e=64] [--json]

For each model and task, case ``i`` is scored twice, alternating: primed and teacher-forced
(``prime=true, scoring=teacher_forced``: the project's scoring before free answers), and free
(the default: the user's prompt, greedy answer, the gold found in it). With ``--params`` the same
is done under that SRA config too, and the paired SRA-minus-baseline delta of each scoring is
printed beside the other: the surrogate is valid for a search when the two deltas agree, not
only when the accuracies do. Prints the command, the machine, and per row: accuracy of each
scoring, the 2x2 agreement (both right, only teacher-forced, only free, both wrong), Cohen's
kappa, and seconds per case of each with their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FORCED = {"prime": True, "scoring": "teacher_forced"}


def _kappa(a: list[float], b: list[float]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if pe == 1 else (po - pe) / (1 - pe)


def _score(model, tok, task: str, params: dict, cfg, n: int) -> tuple[list[float], list[float], float, float]:
    """Both scorings case by case, alternating, with their seconds per case."""
    import objectives

    forced, free, t_forced, t_free = [], [], 0.0, 0.0
    for i in range(n):
        t0 = time.perf_counter()
        r = objectives.evaluate(model, tok, task, cfg, task_params={**params, **FORCED}, n_cases=1, offset=i)
        t1 = time.perf_counter()
        g = objectives.evaluate(model, tok, task, cfg, task_params=params, n_cases=1, offset=i)
        t2 = time.perf_counter()
        forced.append(r.cases[0].score)
        free.append(g.cases[0].score)
        t_forced += t1 - t0
        t_free += t2 - t1
    return forced, free, t_forced / n, t_free / n


def _row(model_name, task, params, cfg_label, forced, free, s_forced, s_free) -> dict:
    n = len(forced)
    both = sum(1 for a, b in zip(forced, free) if a and b)
    only_f = sum(1 for a, b in zip(forced, free) if a and not b)
    only_g = sum(1 for a, b in zip(forced, free) if b and not a)
    return {
        "model": model_name, "task": task, "params": params, "sra": cfg_label, "n": n,
        "accuracy_teacher_forced": sum(forced) / n, "accuracy_free": sum(free) / n,
        "both_right": both, "only_teacher_forced": only_f, "only_free": only_g, "both_wrong": n - both - only_f - only_g,
        "agreement": (n - only_f - only_g) / n, "kappa": _kappa(forced, free),
        "s_per_case_teacher_forced": s_forced, "s_per_case_free": s_free, "cost_ratio_free": s_free / s_forced,
        "cases_teacher_forced": forced, "cases_free": free,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="smollm2-135m,gemma3-270m")
    ap.add_argument("--tasks", default="passkey,niah")
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--params", default=None, help="An SRA config 'tau_in=..,c_e=..' also scored both ways (others: paper_public).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from sra_search.statistics.paired import paired_test
    from sra_search import SRAConfig, load_model

    cfg = None
    if args.params:
        values = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.params.split(","))}
        cfg = SRAConfig(**{**SRAConfig.paper_public().model_dump(), **values})
    rows, deltas = [], []
    for model_name in filter(None, args.models.split(",")):
        model, tok = load_model(model_name)
        for task in filter(None, args.tasks.split(",")):
            params = {"length": args.length}
            print(f"{model_name} {task}: {args.cases} cases, both scorings ...", file=sys.stderr, flush=True)
            base = _score(model, tok, task, params, None, args.cases)
            rows.append(_row(model_name, task, params, None, *base))
            if cfg is not None:
                with_sra = _score(model, tok, task, params, cfg, args.cases)
                rows.append(_row(model_name, task, params, cfg.short(), *with_sra))
                d_forced = paired_test(with_sra[0], base[0], alternative="two-sided")
                d_free = paired_test(with_sra[1], base[1], alternative="two-sided")
                deltas.append({"model": model_name, "task": task, "teacher_forced": d_forced.verdict(),
                               "free": d_free.verdict(), "delta_teacher_forced": d_forced.delta, "delta_free": d_free.delta})  # fmt: skip
        del model
    report = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "load_average_1m": os.getloadavg()[0]},  # fmt: skip
        "length": args.length, "cases": args.cases, "rows": rows, "sra_deltas": deltas,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return report
    m = report["machine"]
    print(f"command: {report['command']}")
    print(f"machine: {m['cpu_count']} CPUs, torch {m['torch']} ({m['threads']} threads), load avg {m['load_average_1m']:.1f}")
    print("| model | task | SRA | n | acc. teacher-forced | acc. free | both right / only TF / only free / both wrong | agreement | kappa | s/case TF | s/case free | free/TF cost |")
    print("|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['task']} | {r['sra'] or 'off'} | {r['n']} | {r['accuracy_teacher_forced']:.2f} | "
              f"{r['accuracy_free']:.2f} | {r['both_right']} / {r['only_teacher_forced']} / {r['only_free']} / {r['both_wrong']} | "
              f"{r['agreement']:.2f} | {r['kappa']:.2f} | {r['s_per_case_teacher_forced']:.2f} | {r['s_per_case_free']:.2f} | "
              f"{r['cost_ratio_free']:.2f}x |")  # fmt: skip
    for d in deltas:
        print(f"{d['model']} {d['task']}: SRA - baseline, teacher-forced: {d['teacher_forced']}; free: {d['free']}")
    return report


if __name__ == "__main__":
    main()
