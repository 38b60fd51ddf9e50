"""``sra-search eval``: score a task with and without SRA, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from sra_search.cli.output import console, description_column, fail, print_json, say, status
from sra_search.values import finite_or_none


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def parse_pairs(items: list[str], what: str, commas: bool = True) -> dict[str, Any]:
    """``["k=v", "a=1,b=2"]`` -> ``{"k": "v", "a": 1, "b": 2}``; a malformed item names itself.

    With ``commas=False`` each item is one pair, so values may contain commas. Each value is parsed
    within bounds (:func:`~sra_search.values.parse_value`); one too deep or too long names its key.
    """
    from sra_search.values import parse_value

    out: dict[str, Any] = {}
    for item in items:
        parts = item.split(",") if commas else [item]
        for part in filter(None, (p.strip() for p in parts)):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                fail(f"{what}: expected key=value, got '{part}'")
            try:
                out[key.strip()] = parse_value(value.strip())
            except ValueError as exc:
                fail(f"{what}: '{key.strip()}': {exc}")
    return out


def _long_ints(data: Any, validate, source: str) -> None:
    """Stop with one line naming each integer too long for Python to read, and its field's range."""
    from sra_search.validation import long_int_problems

    problems = long_int_problems(data, validate)
    if problems:
        fail(f"{source}: " + "; ".join(f"'{'.'.join(map(str, path)) or '(config)'}': {msg}" for path, msg in problems))


def _config_error(exc: Exception, source: str) -> str:
    from pydantic import ValidationError

    from sra_search.validation import error_items

    if isinstance(exc, ValidationError):
        parts = []
        for field, msg, err in error_items(exc):
            msg = "unknown SRA parameter" if err["type"] == "extra_forbidden" else msg
            parts.append(f"'{field or '(config)'}': {msg}")
        return f"{source}: " + "; ".join(parts)
    return f"{source}: {exc}"


def load_preset(path: Path):
    """A published preset (``schema_version`` 1: each case gets the bucket of its prompt length),
    or an :class:`SRAConfig` from a JSON file: the config itself or an object with a ``config`` key."""
    from sra_search.config import SRAConfig
    from sra_search.presets import PresetFormatError, read_preset

    from sra_search.presets.read import parse_json

    if not path.exists():
        fail(f"--preset: cannot read {path}: no such file")
    if not path.is_file():
        fail(f"--preset: cannot read {path}: not a regular file")
    try:
        data = parse_json(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        fail(f"--preset: cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"--preset: {path} is not UTF-8 text")
    except RecursionError:
        fail(f"--preset: {path} is nested too deeply to be a preset")
    except (ValueError, PresetFormatError) as exc:  # JSONDecodeError, duplicate keys
        fail(f"--preset: {path} is not valid JSON ({str(exc).splitlines()[0]})")
    if isinstance(data, dict) and "schema_version" in data:
        try:
            return read_preset(path)
        except PresetFormatError as exc:
            fail(f"--preset: {exc}")
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict):
        fail(f"--preset: {path} holds no SRA config object")
    _long_ints(data, lambda d: SRAConfig.model_validate(d, strict=True), f"--preset: {path}")
    try:
        return SRAConfig.model_validate(data, strict=True)  # JSON has types: `true` is not a number
    except Exception as exc:  # noqa: BLE001 - shown to the user
        fail(_config_error(exc, f"--preset {path}"))


def build_config(params: Optional[str], preset: Optional[Path]):
    """The SRA config of the run: ``--preset``, else the paper's public config updated by ``--params``."""
    from sra_search.config import SRAConfig

    if params and preset:
        fail("give either --params or --preset, not both")
    if preset is not None:
        return load_preset(preset)
    base = SRAConfig.paper_public().model_dump()
    if params:
        base.update(parse_pairs([params], "--params"))
    _long_ints(base, lambda d: SRAConfig.model_validate(d, strict=True), "--params")
    try:
        # strict: `tau_in=true` or `inter=1` is a typo to name, not a value to coerce.
        return SRAConfig.model_validate(base, strict=True)
    except Exception as exc:  # noqa: BLE001
        fail(_config_error(exc, "--params"))


def _fmt(x: float | None, digits: int = 3) -> str:
    x = finite_or_none(x)
    return "-" if x is None else f"{x:.{digits}f}"


def _table(task_label: str, results: list[tuple[str, Any]], perplexity: bool):
    from rich.table import Table

    base = results[0][1] if results and results[0][0] == "baseline" else None
    main = results[0][1].main_metric
    table = Table(title=task_label, title_style="bold")
    table.add_column("run")
    table.add_column(main, justify="right")
    table.add_column("delta", justify="right")
    if perplexity:
        table.add_column("perplexity", justify="right")
    table.add_column("acc. attn mean", justify="right")
    table.add_column("acc. attn p95", justify="right")
    table.add_column("edited rows", justify="right")
    table.add_column("time (s)", justify="right")
    for label, r in results:
        st = r.sra_stats
        delta = "" if base is None or r is base else f"{r.score - base.score:+.3f}"
        row = [label, _fmt(r.score), delta]
        if perplexity:
            row.append(_fmt(r.metrics.get("perplexity")))
        row += [
            _fmt(st.accumulated_attention_mean if st else None),
            _fmt(st.accumulated_attention_p95 if st else None),
            str(st.edited_rows) if st else "-",
            f"{r.wall_time_s:.1f}",
        ]
        table.add_row(*row)
    return table


def _evidence(by: dict[str, Any]):
    """The one-sided paired test of SRA against the baseline on the cases both scored."""
    from objectives.compare import compare
    from objectives.outcomes import Outcomes

    return compare(Outcomes.of(by["sra"]), Outcomes.of(by["baseline"]), require_gain=False).evidence()


def eval_command(
    task: str = typer.Option(..., "--task", "-t", help="Task: passkey, longchat_lines, kv_retrieval, summarization, longbench, perplexity."),
    model: str = typer.Option("smollm2-135m", help="Model name or local path."),
    length: Optional[int] = typer.Option(None, help="Target prompt length in tokens (tasks with a 'length' parameter)."),
    cases: int = typer.Option(32, "--cases", "-n", min=1, help="Number of cases."),
    split: str = typer.Option("search", help="Case split: search or holdout."),
    offset: int = typer.Option(0, min=0, help="Index of the first case in the split."),
    seed: Optional[int] = typer.Option(None, help="Case seed (task default: 0)."),
    task_param: list[str] = typer.Option([], "--task-param", "-p", help="Task parameter key=value (repeatable)."),
    params: Optional[str] = typer.Option(None, help="SRA parameters 'tau_in=0.5,s_in=3,...'; others keep the paper's public values."),
    preset: Optional[Path] = typer.Option(None, help="A published preset file (bucket picked per prompt length), or JSON with an SRAConfig (or a 'config' key)."),
    baseline: bool = typer.Option(True, help="Also run without SRA."),
    perplexity: bool = typer.Option(False, "--perplexity", help="Also report perplexity of the last tokens of prompt + gold."),
    perplexity_tokens: int = typer.Option(200, min=1, help="Tokens scored by --perplexity."),
    batch_size: Optional[int] = typer.Option(None, min=1, help="Rows per forward (default: 1 on CPU, by token budget on a GPU)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    with_cases: bool = typer.Option(False, "--with-cases", help="Include per-case results in --json."),
) -> None:
    """Score a task without and with SRA on the same cases, side by side."""
    import objectives
    from objectives import ObjectiveError

    tparams = parse_pairs(task_param, "--task-param", commas=False)
    if length is not None:
        tparams["length"] = length
    if seed is not None:
        tparams["seed"] = seed
    config = build_config(params, preset)
    try:
        _long_ints(tparams, objectives.task_class(task).Params.model_validate, "--task-param")
        task_obj = objectives.get(task, **tparams)
        if split not in ("search", "holdout"):
            raise ObjectiveError(f"--split: unknown split '{split}' (splits: search, holdout)")
    except ObjectiveError as exc:
        fail(str(exc))

    from sra_search.models import load_model

    try:
        with status(f"loading {model}"):
            mdl, tok = load_model(model)
    except Exception as exc:  # noqa: BLE001 - a bad model name/path is user input
        fail(f"--model: cannot load '{model}': {exc}")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    runs = ([("baseline", None)] if baseline else []) + [("sra", config)]
    results = []
    with Progress(
        description_column(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=json_out,
    ) as bar:  # fmt: skip
        for label, cfg in runs:
            tid = bar.add_task(f"{task} {label}", total=cases)
            try:
                res = objectives.evaluate(
                    mdl, tok, task_obj, cfg, split=split, n_cases=cases, offset=offset, batch_size=batch_size,
                    perplexity_tokens=perplexity_tokens if perplexity else 0,
                    progress=lambda done, total, tid=tid: bar.update(tid, completed=done, total=total),
                )  # fmt: skip
            except ObjectiveError as exc:
                fail(str(exc))
            results.append((label, res))

    by = dict(results)
    if json_out:
        out: dict[str, Any] = {
            "model": model,
            "task": task_obj.describe(),
            "split": split,
            "offset": offset,
            "n_cases": cases,
            "config": config.model_dump(mode="json"),
        }
        for label, res in results:
            out[label] = res.to_json_dict(cases=with_cases)
        if "baseline" in by:
            out["delta"] = by["sra"].score - by["baseline"].score
            out["changed_cases"] = objectives.PairResult(baseline=by["baseline"], sra=by["sra"]).changed_cases()
            evidence = _evidence(by)
            out["evidence"] = evidence.to_dict() | {"verdict": evidence.verdict()}
        print_json(out)
        return
    first = results[0][1]
    label = (
        f"{task} | {split} cases {offset}..{offset + cases - 1} | prompt tokens "
        f"{first.prompt_tokens['min']:.0f}-{first.prompt_tokens['max']:.0f}"
    )
    console.print(_table(label, results, perplexity))
    say(f"SRA: {config.short() if hasattr(config, 'short') else f'preset {config.name} v{config.version}'}")
    if "baseline" in by:
        ch = objectives.PairResult(baseline=by["baseline"], sra=by["sra"]).changed_cases()
        say(f"cases SRA improved: {ch['fixed']}, worsened: {ch['broke']}")
        say(f"SRA vs baseline, paired on the same cases: {_evidence(by).verdict()}")
