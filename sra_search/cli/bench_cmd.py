"""``sra-search bench``: the runtime benchmark (same code as ``benchmarks/runtime.py``)."""

from __future__ import annotations

import typer

from sra_search.cli.output import console, description_column, print_json, say

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
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Prefill time, peak memory and decode speed of SRA against the unmodified SDPA model."""
    show(model, [int(x) for x in lengths.split(",")], repeats, decode_tokens, reference, json_out)


def show(model: str, lengths: list[int], repeats: int, decode_tokens: int, reference: bool, json_out: bool) -> dict:
    """Run and print (table or JSON)."""
    from rich.progress import BarColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from sra_search.bench.runtime import CONFIG, run

    with Progress(description_column(), BarColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("benchmark", total=None)
        result = run(model, lengths, repeats, decode_tokens, reference, lambda d: bar.update(task, description=d))
    if json_out:
        print_json(result)
        return result
    m = result["machine"]
    say(f"command: {result['command']}")
    say(
        f"machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), "
        f"{m.get('memory_gib')} GiB, GPU: {m['gpu']}; torch {m['torch']}, transformers {m.get('transformers')}"
    )
    say(f"model: {model}; SRA: {CONFIG.short()}; {repeats} repeats, medians; decode {decode_tokens} tokens")
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

