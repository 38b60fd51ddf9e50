"""Cases per second of ``passkey`` scored teacher-forced (one forward per case) versus with
``model.generate`` (greedy, as many new tokens as the answer plus one), in the same run.

    PYTHONPATH=. .venv/bin/python benchmarks/scoring.py --length 1024 --cases 8 --repeats 2

``--keys`` lists the pass keys measured, each in the same run: ``digits`` (the task's default,
a 5-digit number, ~6 answer tokens) and ``words:N`` (N words mixing numbers and rare
vocabulary; ``words:50`` is the paper's key, Section 5.2, ~190 answer tokens). A case costs one
prefill on both paths; ``generate`` adds one decode step per answer token, so the ratio grows
with the answer's length.

Prints the command, the machine, the repeats and the ratio; ``--json`` prints one JSON object.
Both paths score the same cases and must agree case by case (checked and reported).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _machine() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _generate_scores(model, tok, task, cases, cfg, max_new: int | None) -> list[bool]:
    from objectives.forward import greedy_batch

    out = []
    for case in cases:
        a = len(case.answer_ids)
        n = max_new or a + 1
        if cfg is None:
            gen = greedy_batch(model, tok, [case.prompt_ids], n)[0]
        else:
            from sra_search import enable_sra

            with enable_sra(model, cfg, prompt_len=len(case.prompt_ids)):
                gen = greedy_batch(model, tok, [case.prompt_ids], n)[0]
        out.append(gen[:a] == case.answer_ids and (len(gen) == a or task.answer_complete(tok, gen[a])))
    return out


def _measure(model, tok, task, cfg, args) -> dict:
    import objectives

    cases = task.cases(tok, n_cases=args.cases)  # built once, outside the timings
    # Warm-up (first-call allocations) on one case, for both paths.
    objectives.evaluate(model, tok, task, cfg, n_cases=1, batch_size=1)
    _generate_scores(model, tok, task, cases[:1], cfg, args.max_new_tokens)

    tf_times, gen_times, tfb_times = [], [], []
    tf_scores = gen_scores = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        r = objectives.evaluate(model, tok, task, cfg, n_cases=args.cases, batch_size=args.batch_size)
        tf_times.append(time.perf_counter() - t0)
        tf_scores = [c.score == 1.0 for c in r.cases]
        t0 = time.perf_counter()
        objectives.evaluate(model, tok, task, cfg, n_cases=args.cases, batch_size=args.batched)
        tfb_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gen_scores = _generate_scores(model, tok, task, cases, cfg, args.max_new_tokens)
        gen_times.append(time.perf_counter() - t0)

    tf, tfb, gen = (statistics.median(x) for x in (tf_times, tfb_times, gen_times))
    return {
        "task_params": task.describe()["params"],
        "answer_tokens_mean": statistics.mean(len(c.answer_ids) for c in cases),
        "prompt_tokens_mean": statistics.mean(len(c.prompt_ids) for c in cases),
        "teacher_forced_cases_per_s": args.cases / tf,
        "teacher_forced_batched_cases_per_s": args.cases / tfb,
        "generate_cases_per_s": args.cases / gen,
        "ratio": gen / tf,
        "ratio_batched": gen / tfb,
        "agree": tf_scores == gen_scores,
        "accuracy": sum(tf_scores) / len(tf_scores),
        "times_s": {"teacher_forced": tf_times, "teacher_forced_batched": tfb_times, "generate": gen_times},
    }


def _key_params(spec: str) -> dict:
    kind, _, n = spec.partition(":")
    if kind == "digits" and not n:
        return {"key_kind": "digits"}
    if kind == "words" and n.isdigit():
        return {"key_kind": "words", "key_words": int(n)}
    raise SystemExit(f"--keys: '{spec}' is not a key; use 'digits' or 'words:N' (e.g. digits,words:50)")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--keys", default="digits,words:50",
                    help="Comma-separated pass keys to measure: 'digits' and/or 'words:N' (words:50 is the paper's).")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=2, help="Timed repeats of each path (median reported).")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="Teacher-forced rows per forward (default: evaluate()'s, one case per forward on CPU).")  # fmt: skip
    ap.add_argument("--batched", type=int, default=4, help="Rows per forward of the second, batched teacher-forced run.")
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="Tokens generate() produces per case (default: answer length + 1, the least that decides the case).")  # fmt: skip
    ap.add_argument("--sra", action="store_true", help="Run both paths under SRAConfig.paper_public().")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    keys = [_key_params(k.strip()) for k in args.keys.split(",") if k.strip()]

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import objectives
    from sra_search import SRAConfig, load_model

    model, tok = load_model(args.model)
    cfg = SRAConfig.paper_public() if args.sra else None
    # Primed and teacher-forced against primed generate: the comparison this benchmark times.
    forced = {"prime": True, "scoring": "teacher_forced"}
    rows = [_measure(model, tok, objectives.get("passkey", length=args.length, **forced, **k), cfg, args) for k in keys]
    report = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "machine": _machine(),
        "model": args.model,
        "length": args.length,
        "cases": args.cases,
        "repeats": args.repeats,
        "sra": cfg.model_dump() if cfg else None,
        "target_ratio": 3.0,
        "keys": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"command:  {report['command']}")
        m = report["machine"]
        print(f"machine:  {m['processor']}, {m['cpu_count']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), "
              f"load avg {m['load_average_1m']:.1f}")  # fmt: skip
        print(f"workload: passkey at {args.length} tokens, {args.cases} cases per key, {args.repeats} repeats (median), "
              f"SRA={'paper_public' if cfg else 'off'}; generate = batch 1, answer length + 1 new tokens")  # fmt: skip
        print(f"| key | answer tokens | teacher-forced cases/s (default batching) | teacher-forced, batch {args.batched} | generate | "
              f"ratio | ratio, batch {args.batched} | agree | accuracy |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in rows:
            p = r["task_params"]
            key = p["key_kind"] if p["key_kind"] == "digits" else f"words:{p['key_words']}"
            print(f"| {key} | {r['answer_tokens_mean']:.1f} | {r['teacher_forced_cases_per_s']:.3f} | "
                  f"{r['teacher_forced_batched_cases_per_s']:.3f} | {r['generate_cases_per_s']:.3f} | "
                  f"**{r['ratio']:.2f}x** | {r['ratio_batched']:.2f}x | {r['agree']} | {r['accuracy']:.2f} |")  # fmt: skip
        print("target: ratio >= 3x")
    return report


if __name__ == "__main__":
    main()
