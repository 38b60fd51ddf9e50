"""``sra-search map``: where a task leaves a model room to gain, and what a config does there."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import typer

from sra_search.cli.output import console, description_column, fail, print_json, say, status


def register(app: typer.Typer) -> None:
    app.command("map")(map_command)


def _numbers(text: str, what: str, kind: type) -> list[Any]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            value = kind(part)
        except ValueError:
            fail(f"{what}: {part!r} is not a{'n integer' if kind is int else ' number'}; e.g. {what} 512,1024")
        out.append(value)
    return out


def _cache_path(model_key: str, fingerprint: str, cache: Optional[Path]) -> Path:
    from sra_search.catalog import cache_dir

    # The fingerprint ties cached outcomes to the exact weights; the case key to the exact case.
    name = f"{model_key}-{fingerprint.removeprefix('sha256:')[:16]}.json"
    return (cache or cache_dir() / "map-baselines") / name


def _table(hm) -> Any:
    from rich.table import Table

    from sra_search.statistics.paired import format_p

    table = Table()
    for col in ("length", hm.placement, "tokens", "baseline [95% CI]"):
        table.add_column(col, justify="right")
    if hm.config is not None:
        for col in ("SRA [95% CI]", "paired delta [95% CI]", "p (2-sided)", "fixed/broke"):
            table.add_column(col, justify="right")
    for c in hm.cells:
        row = [str(c.length), f"{c.depth:g}", f"{c.prompt_tokens:.0f}" if c.prompt_tokens == c.prompt_tokens else "-",
               f"{c.baseline:.2f} [{c.baseline_ci[0]:.2f}, {c.baseline_ci[1]:.2f}]"]  # fmt: skip
        if c.sra is not None:
            row += [
                f"{c.sra:.2f} [{c.sra_ci[0]:.2f}, {c.sra_ci[1]:.2f}]",
                f"{c.delta:+.2f} " + ("[-]" if math.isnan(c.delta_ci[0]) else f"[{c.delta_ci[0]:+.2f}, {c.delta_ci[1]:+.2f}]"),
                format_p(c.p_value),
                f"{c.fixed}/{c.broke}",
            ]
        table.add_row(*row)
    return table


def map_command(
    model: str = typer.Argument(..., help="Model name (sra-search models) or local path."),
    task: str = typer.Argument(..., help="A retrieval task with a needle depth: passkey, niah, longchat_lines, kv_retrieval."),
    lengths: str = typer.Option(..., help="Prompt lengths in tokens, comma-separated, e.g. 512,1024,2048."),
    depths: str = typer.Option("0,0.25,0.5,0.75,1", help="Needle depths in [0, 1], comma-separated (0 = start)."),
    task_param: list[str] = typer.Option([], "--task-param", "-p", help="Task parameter key=value (repeatable), e.g. -p needle=multikey."),
    params: Optional[str] = typer.Option(None, help="SRA parameters 'tau_in=0.5,s_in=3,...' (others: the paper's public values)."),
    preset: Optional[Path] = typer.Option(None, help="A published preset file, or JSON with an SRAConfig (or a 'config' key)."),
    cases: int = typer.Option(10, "--cases", "-n", min=1, max=100_000, help="Cases per cell."),
    split: str = typer.Option("search", help="Case split: search or holdout (a map that picks a study's regime uses search)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for map.png and map.json."),
    cache: Optional[Path] = typer.Option(None, help="Folder of the baseline cache (default: $SRA_SEARCH_CACHE/map-baselines)."),
    json_out: bool = typer.Option(False, "--json", help="Print the map as one JSON object on stdout."),
) -> None:
    """Baseline accuracy per (length, depth) cell and, with --params or --preset, SRA's on the same
    cases with the paired difference, its interval and p; draws the three heat maps with --out."""
    import objectives
    from objectives import ObjectiveError
    from objectives.headroom import BaselineCache, check_grid, measure_map, placement_name
    from sra_search.cli.eval_cmd import build_config, parse_pairs
    from sra_search.extras import require

    require("stats", what="the map's intervals and paired tests")
    if out is not None:
        require("report", what="the map's PNG")
    grid_lengths, grid_depths = _numbers(lengths, "--lengths", int), _numbers(depths, "--depths", float)
    tparams = parse_pairs(task_param, "--task-param", commas=False)
    config = build_config(params, preset) if (params or preset) else None
    try:
        if split not in ("search", "holdout"):
            raise ObjectiveError(f"--split: unknown split '{split}' (splits: search, holdout)")
        place = placement_name(task)
        for name in ("length", place, f"{place}_min", f"{place}_max"):
            if name in tparams:
                raise ObjectiveError(f"--task-param {name}: the map sets it per cell; use --lengths and --depths")
        check_grid(grid_lengths, grid_depths, None)
        for n in grid_lengths:  # every cell's parameters valid before the model loads
            objectives.get(task, **tparams, length=n, **{place: grid_depths[0]})
    except ObjectiveError as exc:
        fail(str(exc))
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out: {out} exists and is not a directory")

    from sra_search.models import load_model
    from sra_search.presets.fingerprint import model_fingerprint
    from sra_search.presets.schema import model_key

    try:
        with status(f"loading {model}"):
            mdl, tok = load_model(model)
    except Exception as exc:  # noqa: BLE001 - a bad model name/path is user input
        fail(f"MODEL: cannot load '{model}': {exc}")
    context = getattr(mdl.config.get_text_config(), "max_position_embeddings", None)
    try:
        check_grid(grid_lengths, grid_depths, context)
    except ObjectiveError as exc:
        fail(str(exc))
    base_cache = BaselineCache(_cache_path(model_key(model), model_fingerprint(mdl), cache))

    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), description_column(), TimeElapsedColumn(), console=console,
                  transient=json_out) as bar:  # fmt: skip
        tid = bar.add_task("map", total=None)
        try:
            hm = measure_map(
                mdl, tok, task, tparams, grid_lengths, grid_depths, config=config, n_cases=cases, split=split,
                cache=base_cache, model_label=model, progress=lambda m: bar.update(tid, description=m),
            )  # fmt: skip
        except ObjectiveError as exc:
            fail(str(exc))
    written: dict[str, str] = {}
    if out is not None:
        from sra_search.report.headroom_plot import plot_map

        out.mkdir(parents=True, exist_ok=True)
        written["png"] = str(plot_map(hm, out / "map.png"))
        data = json.dumps(hm.to_dict(), indent=2) + "\n"
        tmp = out / ".map.json.tmp"
        tmp.write_text(data, encoding="utf-8")
        tmp.replace(out / "map.json")
        written["json"] = str(out / "map.json")
    if json_out:
        print_json(hm.to_dict() | {"files": written, "baseline_cache": str(base_cache.path)})
        return
    # The model may be a long path: on a line of its own, not a table title that wraps.
    say(f"{hm.model} | {hm.task} | {hm.n_cases} {hm.split} cases per cell")
    console.print(_table(hm))
    if hm.config is not None:
        say("p: two-sided exact McNemar per cell, not corrected for the number of cells.")
    for kind, path in written.items():
        say(f"wrote {path}")
