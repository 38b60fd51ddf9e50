"""``sra-search regress``: re-evaluate presets; non-zero exit when one stopped paying off."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sra_search.cli.output import console, description_column, fail, print_json, say, styled


def register(app: typer.Typer) -> None:
    app.command()(regress)


def regress(
    presets: list[Path] = typer.Argument(None, help="Preset files; default: the latest version of every preset."),
    tolerance: float = typer.Option(0.02, min=0, help="Allowed drop of the SRA score below the recorded one."),
    registry: Optional[str] = typer.Option(None, "--registry", help="Preset directory (default: $SRA_SEARCH_PRESETS, presets/)."),
    junit: Optional[Path] = typer.Option(None, help="Also write a JUnit XML report here."),
    cases: Optional[int] = typer.Option(
        None, min=1, help="Re-run at most this many recorded cases per length of a version-2 bucket (the others "
        "keep their recorded outcomes in the paired test); default: all of them.",
    ),  # fmt: skip
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-run each preset's recorded evaluation with and without SRA and compare."""
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn
    from rich.table import Table

    from sra_search.presets import PresetFormatError, PresetNotFoundError, Registry, read_preset
    from sra_search.presets.registry import RegistryError
    from sra_search.presets.regress import junit_xml
    from sra_search.presets.regress import regress as run

    try:
        if presets:
            chosen = [read_preset(p) for p in presets]
        else:
            reg = Registry(registry)
            latest = {}
            for ref in reg.list():
                latest[(ref.model, ref.task)] = ref
            # A served registry lists HTTP locations: its presets are fetched through it.
            fetch = (lambda r: reg.get(r.model, r.task, r.version, include_unproven=True)) if reg.url else None
            chosen = [fetch(r) if fetch else read_preset(Path(r.location)) for r in latest.values()]
    except (PresetFormatError, PresetNotFoundError, RegistryError, ValueError) as e:
        fail(str(e))
    if not chosen:
        fail("no presets to check")
    with Progress(SpinnerColumn(), description_column(), TimeElapsedColumn(), console=console, transient=True) as bar:
        t = bar.add_task("regress", total=None)
        results = run(chosen, tolerance, progress=lambda d: bar.update(t, description=d), cases=cases)
    if junit:
        junit.write_text(junit_xml(results))
    if json_out:
        print_json({"passed": all(r.passed for r in results), "results": [r.to_dict() for r in results]})
    else:
        table = Table(title=f"regress (tolerance {tolerance})")
        for col in ("preset", "tokens", "recorded", "now", "baseline", "ppl ratio", "acc. attn", "cases", "re-run", "result"):
            table.add_column(col)
        for r in results:
            f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            table.add_row(
                f"{r.preset} v{r.version}", r.bucket, f(r.recorded_score), f(r.score), f(r.baseline_score),
                f(r.perplexity_ratio), f(r.accumulated_attention_mean), str(r.n_cases), str(r.rerun_cases),
                styled(("pass", "green")) if r.passed else styled(("FAIL", "red"), ": " + "; ".join(r.failures)),
            )  # fmt: skip
        console.print(table)
        for r in results:
            if r.verdict:
                say(f"{r.preset} v{r.version} [{r.bucket}]: {r.verdict}")
            if r.flipped:
                shown = ", ".join(r.flipped[:10]) + (f" (+{len(r.flipped) - 10} more)" if len(r.flipped) > 10 else "")
                say(f"{r.preset} v{r.version} [{r.bucket}]: {len(r.flipped)} case(s) flipped: {shown}")
    if not all(r.passed for r in results):
        raise typer.Exit(1)
