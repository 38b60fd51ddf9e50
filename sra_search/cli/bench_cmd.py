"""``sra-search bench``: the runtime benchmark (same code as ``benchmarks/runtime.py``)."""

from __future__ import annotations

import typer

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
    from sra_search.bench.runtime import main as run_bench

    run_bench(
        model=model,
        lengths=[int(x) for x in lengths.split(",")],
        repeats=repeats,
        decode_tokens=decode_tokens,
        reference=reference,
        json_out=json_out,
    )
