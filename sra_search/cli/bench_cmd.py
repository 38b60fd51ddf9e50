"""``sra-search bench``: the runtime benchmark (same code as ``benchmarks/runtime.py``) and the
free-answer scoring benchmark (the GPU report's scoring cell, on any device)."""

from __future__ import annotations

import shlex
import sys
from typing import Literal

import typer

from sra_search.cli.output import console, description_column, print_json, say

Logits = Literal["all", "last"]

bench = typer.Typer(help="Benchmarks.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bench, name="bench")


@bench.command("runtime")
def runtime(
    model: str = typer.Option("smollm2-135m", help="Model name or local path."),
    lengths: str = typer.Option("1024,2048,4096", help="Comma-separated prompt lengths in tokens."),
    repeats: int = typer.Option(3, min=1, help="Timed repeats per measurement (median reported)."),
    decode_tokens: int = typer.Option(32, min=1, help="Greedy tokens for the decode-speed measurement."),
    reference: bool = typer.Option(True, help="Also time the full-matrix reference implementation."),
    logits: Logits = typer.Option(
        "all", help="Logits a prefill computes: 'all' positions (the tables' default) or the 'last' only, as generate does."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Prefill time, peak memory and decode speed of SRA against the unmodified SDPA model."""
    show(model, [int(x) for x in lengths.split(",")], repeats, decode_tokens, reference, json_out, logits)


def show(
    model: str, lengths: list[int], repeats: int, decode_tokens: int, reference: bool, json_out: bool,
    logits: str = "all",
) -> dict:  # fmt: skip
    """Run and print (table or JSON)."""
    from rich.progress import BarColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from sra_search.bench.runtime import CONFIG, run

    with Progress(description_column(), BarColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("benchmark", total=None)
        result = run(model, lengths, repeats, decode_tokens, reference, lambda d: bar.update(task, description=d),
                     logits_to_keep=1 if logits == "last" else None)  # fmt: skip
    if json_out:
        print_json(result)
        return result
    m = result["machine"]
    say(f"command: {result['command']}")
    say(
        f"machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), "
        f"{m.get('memory_gib')} GiB, GPU: {m['gpu']}; torch {m['torch']}, transformers {m.get('transformers')}"
    )
    say(f"model: {model}; SRA: {CONFIG.short()}; {repeats} repeats, medians; decode {decode_tokens} tokens; "
        f"prefill logits: {logits}")  # fmt: skip
    table = Table(title="SRA runtime vs unmodified SDPA (ratios: lower is better for time/memory)")
    for col in (
        "tokens", "base prefill s", "fast prefill s", "fast/base", "ref prefill s", "ref/base",
        "base extra MiB", "fast extra MiB", "mem fast/base", "base dec tok/s", "fast dec tok/s", "dec fast/base",
    ):
        table.add_column(col, justify="right")
    for r in result["results"]:
        p, pr = r["prefill_s"], r["prefill_ratio"]
        table.add_row(
            str(r["prompt_tokens"]),
            f"{p['baseline']:.3f}",
            f"{p['fast']:.3f}",
            f"{pr['fast']:.3f}",
            f"{p['reference']:.3f}" if "reference" in p else "-",
            f"{pr['reference']:.3f}" if "reference" in pr else "-",
            f"{r['peak_extra_mib']['baseline']:.0f}",
            f"{r['peak_extra_mib']['fast']:.0f}",
            f"{r['peak_memory_ratio']:.3f}" if r["peak_memory_ratio"] else "-",
            f"{r['decode_tokens_per_s']['baseline']:.1f}",
            f"{r['decode_tokens_per_s']['fast']:.1f}",
            f"{r['decode_ratio']:.3f}",
        )
    console.print(table)
    return result


@bench.command("scoring")
def scoring(
    model: str = typer.Option("smollm2-135m", help="Model name or local path."),
    length: int = typer.Option(1024, min=64, help="Prompt tokens per case."),
    cases: int = typer.Option(6, min=1, help="Cases per timed repeat."),
    new_tokens: int = typer.Option(10, min=1, help="Greedy tokens generated per case."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats per variant, alternated (median reported)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What a free-answer case costs with and without SRA: cases per second, as a study spends them."""
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from sra_search.bench.gpu import scoring_cell
    from sra_search.bench.machine import describe
    from sra_search.bench.runtime import CONFIG
    from sra_search.models import load_model

    plan = {"score_cases": cases, "new_tokens": new_tokens, "repeats": repeats}
    with Progress(description_column(), BarColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"loading {model}", total=None)
        loaded, _ = load_model(model)
        cell = scoring_cell(loaded, length, plan, lambda d: bar.update(task, description=d))
    result = {
        "benchmark": "scoring",
        "command": shlex.join(["sra-search", *sys.argv[1:]]),
        "model": model,
        "sra_config": CONFIG.model_dump(),
        "machine": describe(),
        "target": {"ratio_min": 1 / 1.05, "meaning": "SRA's cases/s at least 1/1.05 of the baseline's"},
        **cell,
    }
    if json_out:
        print_json(result)
        return
    m, c = result["machine"], cell["cases_per_s"]
    say(f"command: {result['command']}")
    say(f"machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads); torch {m['torch']}")
    say(f"model: {model}; SRA: {CONFIG.short()}; {cases} random-token prompts of {length} tokens, "
        f"{new_tokens} greedy tokens each, one case at a time; {repeats} repeats alternated, medians")  # fmt: skip
    say(f"cases/s: baseline {c['baseline']:.3f}, SRA {c['sra']:.3f}; "
        f"cost per case SRA/baseline {1 / cell['ratio']:.3f}x")  # fmt: skip
