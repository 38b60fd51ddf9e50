"""GPU readiness report: SRA's runtime cost and free-answer scoring throughput on CUDA, one JSON file.

    bash benchmarks/gpu.sh [--out PATH] [--quick]      # or: python -m sra_search.bench.gpu ...

Models: SmolLM2-135M and Gemma 3 270M with their real shapes (read from the GGUF files this
project loads) and RANDOM weights, built from ``LlamaConfig`` / ``Gemma3TextConfig``: a GPU
machine without internet or model files can run it. Timings depend on shapes, not on weights;
SRA's share of edited rows does (random attention is flatter), so the edited-row counts in the
report are not those of the real models, and no accuracy is measured.

Per model and prompt length (a *cell*), in the same process, repeats alternated in order:

- runtime (``sra_search.bench.runtime.measure``): prefill time of the plain SDPA model
  (``baseline``) and of SRA's fast path (``enable_sra(model, cfg, impl="fast")``), extra peak
  CUDA memory of one prefill over the loaded model, greedy decode speed with and without the SRA
  block. Prefills keep the last position's logits only, as ``generate``'s prefill does.
- scoring: free answers as the scorer runs them (``objectives``' generate path: one case at a
  time, ``SRARun.batch`` around ``greedy_batch``), random-token prompts (no tokenizer there),
  a fixed number of new tokens (no stop token); cases per second, baseline and SRA.

Ratios are SRA / baseline: for times and memory above 1 means SRA costs more; for decode
tokens/s and cases/s below 1 means SRA is slower. A cell that fails (e.g. CUDA out of memory)
is recorded with its error and the run goes on; the report is written atomically after every
cell, so a run cut short leaves what it measured.

Imports nothing outside torch, transformers, pydantic (``sra_search.config``), numpy and the
standard library besides this repository's own modules (``tests/bench/test_gpu_report.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from sra_search.bench import runtime as rt
from sra_search.bench.machine import describe
from sra_search.bench.shapes import MODELS, build_model, random_ids, shape
from sra_search.values import json_safe

ROOT = Path(__file__).resolve().parents[2]
REPORT_ENV = "SRA_GPU_REPORT"
QUICK_ENV = "SRA_GPU_QUICK"
VARIANTS = ("baseline", "fast")
PREFILL_LOGITS = 1  # as generate's prefill: logits of the last position only

# Full run: lengths per model (runtime), scoring prompt lengths; sized for < 6 min on one H100.
FULL = {
    "lengths": {"smollm2-135m": [4096, 8192], "gemma3-270m": [4096, 8192, 32768]},
    "score_lengths": [1024, 4096],
    "repeats": 3,
    "decode_tokens": 32,
    "score_cases": 6,
    "new_tokens": 10,
    "time_budget_s": 300.0,
}
# Quick (CPU smoke test): few layers, tiny lengths, the same code path.
QUICK = {
    "lengths": {"smollm2-135m": [256], "gemma3-270m": [256]},
    "score_lengths": [256],
    "repeats": 2,
    "decode_tokens": 4,
    "score_cases": 2,
    "new_tokens": 4,
    "time_budget_s": None,
    "layers": {"smollm2-135m": 2, "gemma3-270m": 6},
    "sliding_window": 128,  # below the quick length, so Gemma's sliding layers really slide
}


class _NoTokenizer:
    """What ``objectives.forward.greedy_batch`` asks of a tokenizer when there are no stop strings."""

    def __init__(self, pad: int) -> None:
        self.pad_token_id = pad
        self.eos_token_id = None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def runtime_cell(model, length: int, plan: dict, progress) -> dict:
    """Prefill, memory and decode of baseline and fast path at ``length`` tokens."""
    device = next(model.parameters()).device
    ids = torch.tensor([random_ids(length, model.config.vocab_size, seed=length)], device=device)

    def memory(variant: str) -> int | None:
        if device.type != "cuda":
            return None  # the CPU smoke test: no allocator statistics
        return rt.cuda_peak_extra(model, ids, variant, PREFILL_LOGITS)

    row = rt.measure(
        model, ids, VARIANTS, plan["repeats"], plan["decode_tokens"], memory, progress,
        logits_to_keep=PREFILL_LOGITS, decode_warmup=2,
    )  # fmt: skip
    row["prefill_ratio"] = row["prefill_ratio"]["fast"]  # SRA / baseline, one number
    return row


def scoring_cell(model, length: int, plan: dict, progress) -> dict:
    """Free answers, one case at a time as the scorer runs them: cases per second, baseline and SRA."""
    from objectives.forward import greedy_batch
    from objectives.sra import SRARun

    from sra_search.bench.runtime import CONFIG

    device = next(model.parameters()).device
    n, new = plan["score_cases"], plan["new_tokens"]
    prompts = [random_ids(length, model.config.vocab_size, seed=100_000 + 1000 * length + i) for i in range(n)]
    tok = _NoTokenizer(int(model.config.pad_token_id or 0))
    configs = {"baseline": None, "sra": CONFIG}

    def score(variant: str, cases: list[list[int]]) -> tuple[float, list[int], SRARun]:
        run = SRARun(model, configs[variant])
        lengths = []
        _sync(device)
        start = time.perf_counter()
        for p in cases:
            with run.batch([len(p)]):
                lengths.append(len(greedy_batch(model, tok, [p], new)[0]))
        _sync(device)
        return time.perf_counter() - start, lengths, run

    for v in configs:  # warm-up: one case each way
        score(v, prompts[:1])
    rates: dict[str, list[float]] = {v: [] for v in configs}
    generated: dict[str, list[int]] = {}
    summary = None
    for i in range(plan["repeats"]):
        for v in list(configs) if i % 2 == 0 else list(configs)[::-1]:
            seconds, generated[v], run = score(v, prompts)
            rates[v].append(n / seconds)
            if v == "sra":
                summary = run.summary()
            progress(f"{length} tokens: scoring {v} {n / seconds:.2f} cases/s")
    med = {v: statistics.median(r) for v, r in rates.items()}
    return {
        "prompt_tokens": length,
        "cases": n,
        "new_tokens": new,
        "generated_tokens": generated,
        "cases_per_s": med,
        "ratio": med["sra"] / med["baseline"],
        "repeats": {"cases_per_s": rates},
        "sra_rows": None if summary is None else {"examined": summary.examined_rows, "edited": summary.edited_rows},
    }


def _error(exc: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": tb[-3000:]}


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def write_report(report: dict, path: Path) -> None:
    """Atomically (a temporary file in the same folder, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(json_safe(report), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_report_path(quick: bool) -> Path:
    """``$SRA_GPU_REPORT``, else ``$OUT/gpu-report.json``, else ``benchmarks/results/gpu-report.json``
    (``gpu-report-quick.json`` in quick mode, so a smoke test never overwrites a GPU report)."""
    if os.environ.get(REPORT_ENV):
        return Path(os.environ[REPORT_ENV])
    name = "gpu-report-quick.json" if quick else "gpu-report.json"
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / name
    return ROOT / "benchmarks" / "results" / name


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="benchmarks/gpu.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help=f"report path (default: ${REPORT_ENV}, $OUT/gpu-report.json, "
                   "benchmarks/results/gpu-report.json)")  # fmt: skip
    p.add_argument("--quick", action="store_true", help=f"CPU smoke test: few layers, tiny lengths (or {QUICK_ENV}=1)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    p.add_argument("--lengths", type=_ints, help="runtime prompt lengths for every model (default per model)")
    p.add_argument("--score-lengths", type=_ints, help="scoring prompt lengths")
    p.add_argument("--repeats", type=int, help="timed repeats per measurement, after one warm-up")
    p.add_argument("--decode-tokens", type=int, help="greedy tokens of the decode-speed measurement")
    p.add_argument("--score-cases", type=int, help="cases per scoring repeat")
    p.add_argument("--new-tokens", type=int, help="tokens generated per scored case")
    p.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    p.add_argument("--time-budget", type=float, help="seconds after which no new cell starts (cells left are recorded as skipped)")
    return p


def plan_from(args: argparse.Namespace) -> dict:
    plan = json.loads(json.dumps(QUICK if args.quick else FULL))
    if args.lengths:
        plan["lengths"] = {m: list(args.lengths) for m in MODELS}
    for key in ("score_lengths", "repeats", "decode_tokens", "score_cases", "new_tokens"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    if args.time_budget is not None:
        plan["time_budget_s"] = args.time_budget
    for key in ("repeats", "decode_tokens", "score_cases", "new_tokens"):
        if plan[key] < 1:
            raise SystemExit(f"gpu.sh: --{key.replace('_', '-')} must be at least 1")
    return plan


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.quick = args.quick or os.environ.get(QUICK_ENV, "") not in ("", "0")
    cuda = torch.cuda.is_available()
    if not args.quick and not cuda:
        print(f"gpu.sh: no CUDA device here; the full run needs one (a CPU smoke test: --quick or {QUICK_ENV}=1)",
              file=sys.stderr)  # fmt: skip
        return 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        print(f"gpu.sh: unknown model(s) {unknown}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    plan = plan_from(args)
    path = args.out or default_report_path(args.quick)
    device = torch.device("cuda" if cuda else "cpu")
    dtype = getattr(torch, args.dtype)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    machine = describe()
    if cuda:
        props = torch.cuda.get_device_properties(0)
        machine.update(cuda=torch.version.cuda, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                       gpu_capability=f"{props.major}.{props.minor}")  # fmt: skip
    report = {
        "benchmark": "gpu",
        "status": "running",
        "command": os.environ.get("SRA_GPU_COMMAND") or shlex.join([sys.executable, "-m", "sra_search.bench.gpu", *argv]),
        "quick": args.quick,
        "device": device.type,
        "dtype": args.dtype,
        "weights": "random (seeded), real model shapes: timings and memory only, no accuracy",
        "sra_config": rt.CONFIG.model_dump(),
        "sra_impl": "fast",
        "repeats": plan["repeats"],
        "plan": plan,
        "ratios": "SRA / baseline. prefill_ratio and peak_memory_ratio: above 1 = SRA costs more; "
        "decode_ratio (tokens/s) and scoring ratio (cases/s): below 1 = SRA is slower",
        "method": {
            "runtime": "medians of alternated repeats after one warm-up per variant; prefill = one forward with "
            "use_cache=True and logits of the last position only (as generate's prefill); memory = "
            "torch.cuda.max_memory_allocated during one prefill minus memory_allocated before it (model and "
            "inputs loaded), null off CUDA; decode = greedy tokens after a prefill, with and without the SRA block",
            "scoring": "free answers as the scorer runs them (objectives.forward.greedy_batch inside "
            "objectives.sra.SRARun.batch, one case at a time), random-token prompts, exactly new_tokens tokens "
            "per case; cases/s of the whole batch of cases, median over repeats",
        },
        "machine": machine,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_s": 0.0,
        "models": {},
        "errors": [],
    }
    log(f"gpu report -> {path} ({'quick, ' if args.quick else ''}{device.type}, {args.dtype}; "
        f"machine: {machine.get('gpu') or machine.get('cpu')})")  # fmt: skip

    def save(status: str = "running") -> None:
        report["status"] = status
        report["elapsed_s"] = round(time.perf_counter() - t0, 2)
        write_report(report, path)

    def over_budget() -> bool:
        budget = plan["time_budget_s"]
        return budget is not None and time.perf_counter() - t0 > budget

    def cell(entry: dict, section: str, name: str, length: int, fn) -> None:
        where = f"{name} {section} {length}"
        if over_budget():
            row = {"prompt_tokens": length, "error": f"skipped: time budget of {plan['time_budget_s']:g} s spent"}
        else:
            log(f"{where}: start")
            try:
                row = fn(length, lambda msg: log(f"{name} {msg}"))
            except Exception as exc:  # noqa: BLE001 - one failed cell must not end the report
                row = {"prompt_tokens": length, **_error(exc)}
                _free(device)
        if "error" in row:
            report["errors"].append(f"{where}: {row['error']}")
            log(f"{where}: ERROR {row['error'].splitlines()[0][:300]}")
        entry[section].append(row)
        save()

    save()
    for name in models:
        longest = max(plan["lengths"][name] + plan["score_lengths"]) + max(plan["decode_tokens"], plan["new_tokens"]) + 8
        entry: dict = {"runtime": [], "scoring": [], "error": None}
        report["models"][name] = entry
        model = None
        try:
            model = build_model(name, plan, longest, dtype, device)
            entry["shape"] = shape(model.config)
            entry["parameters"] = sum(p.numel() for p in model.parameters())
            entry["model_mib"] = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
            if cuda:
                entry["allocated_after_load_mib"] = torch.cuda.memory_allocated() / 2**20
            log(f"{name}: built, {entry['parameters'] / 1e6:.1f}M parameters, {entry['shape']['num_hidden_layers']} layers")
        except Exception as exc:  # noqa: BLE001
            entry.update(_error(exc))
            report["errors"].append(f"{name} build: {entry['error']}")
            log(f"{name}: ERROR building the model: {entry['error'][:300]}")
            save()
            _free(device)
            continue
        save()
        for length in plan["lengths"][name]:
            cell(entry, "runtime", name, length, lambda n, p: runtime_cell(model, n, plan, p))
        for length in plan["score_lengths"]:
            cell(entry, "scoring", name, length, lambda n, p: scoring_cell(model, n, plan, p))
        del model
        _free(device)
    save("complete")
    for line in summary_lines(report):
        log(line)
    log(f"report written: {path}")
    return 0


def summary_lines(report: dict) -> list[str]:
    """One line per cell: the ratios, or the error."""

    def f(x, fmt=".3f"):
        return "-" if x is None else format(x, fmt)

    out = []
    for name, entry in report["models"].items():
        if entry.get("error"):
            out.append(f"{name}: {entry['error'][:200]}")
        for r in entry["runtime"]:
            if "error" in r:
                out.append(f"{name} {r['prompt_tokens']:>6} runtime: {r['error'][:200]}")
                continue
            mem = r["peak_extra_mib"]
            out.append(
                f"{name} {r['prompt_tokens']:>6} prefill {f(r['prefill_s']['baseline'], '.4f')}s -> "
                f"{f(r['prefill_s']['fast'], '.4f')}s (x{f(r['prefill_ratio'])}), extra MiB {f(mem['baseline'], '.0f')} -> "
                f"{f(mem['fast'], '.0f')} (x{f(r['peak_memory_ratio'])}), decode tok/s "
                f"{f(r['decode_tokens_per_s']['baseline'], '.1f')} -> {f(r['decode_tokens_per_s']['fast'], '.1f')} "
                f"(x{f(r['decode_ratio'])})"
            )
        for r in entry["scoring"]:
            if "error" in r:
                out.append(f"{name} {r['prompt_tokens']:>6} scoring: {r['error'][:200]}")
                continue
            c = r["cases_per_s"]
            out.append(
                f"{name} {r['prompt_tokens']:>6} scoring cases/s {f(c['baseline'], '.2f')} -> {f(c['sra'], '.2f')} "
                f"(x{f(r['ratio'])})"
            )
    return out


if __name__ == "__main__":
    sys.exit(main())
