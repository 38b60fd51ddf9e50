"""``sra-search presets list|show|lengths|validate|schema`` and ``sra-search serve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from sra_search.cli.output import console, fail, print_json, say

presets = typer.Typer(help="List, show and validate published presets.", no_args_is_help=True)

REGISTRY_HELP = "Preset directory or http(s) URL of `sra-search serve` (default: $SRA_SEARCH_PRESETS, then presets/)."
SCHEMA_PATH = Path("presets/schema/preset-v3.json")


def register(app: typer.Typer) -> None:
    app.add_typer(presets, name="presets")
    app.command()(serve)


def _registry(location: Optional[str]):
    from sra_search.presets import Registry
    from sra_search.urls import redact_url

    if location and "://" in location and not location.startswith(("http://", "https://")):
        fail(f"--registry: {redact_url(location)!r} is neither a directory nor an http(s) URL of `sra-search serve`")
    if location and "://" not in location and not Path(location).is_dir():
        fail(f"--registry: no such directory '{location}'")
    return Registry(location)


def _listed(reg):
    """``reg.list()``, or one line naming the registry when it cannot be read (a URL that does not answer)."""
    from sra_search.presets.registry import RegistryError

    try:
        return reg.list()
    except RegistryError as e:
        fail(str(e))


@presets.command("list")
def list_(
    registry: Optional[str] = typer.Option(None, "--registry", help=REGISTRY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every published preset version."""
    from dataclasses import asdict

    from rich.table import Table

    refs = _listed(_registry(registry))
    if json_out:
        print_json([asdict(r) for r in refs])
        return
    table = Table(title="presets")
    for col in ("model", "task", "version", "location"):
        table.add_column(col)
    for r in refs:
        table.add_row(r.model, r.task, str(r.version), r.location)
    if refs:
        console.print(table)
    else:
        say("no presets found")


@presets.command()
def show(
    model: str = typer.Argument(..., help="Model key, e.g. smollm2-135m."),
    task: str = typer.Argument(..., help="Task name, e.g. passkey."),
    version: str = typer.Option("latest", help="Version number or 'latest'."),
    registry: Optional[str] = typer.Option(None, "--registry", help=REGISTRY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the preset JSON."),
) -> None:
    """One preset: its buckets, configs and held-out metrics."""
    from rich.table import Table

    p = _preset(registry, model, task, version)
    if json_out:
        print_json(p.model_dump(mode="json"))
        return
    say(
        (p.name, "bold"), f" v{p.version}  model={p.model.source} ({p.model.architecture}, {p.model.num_layers} layers)  "
        f"beats_baseline={p.beats_baseline}  study={p.provenance.study}"
    )
    table = Table()
    for col in ("tokens", "config", "score", "baseline", "delta", "ppl ratio", "acc. attn", "cases"):
        table.add_column(col)
    for b in p.buckets:
        m = b.metrics
        table.add_row(
            f"{b.min_tokens}-{b.max_tokens}", b.config.short(), f"{m.score:.3f}", f"{m.baseline_score:.3f}",
            f"{m.delta:+.3f}", f"{m.perplexity_ratio:.3f}" if m.perplexity_ratio else "-",
            f"{m.accumulated_attention_mean:.3f}" if m.accumulated_attention_mean else "-", str(m.n_cases),
        )  # fmt: skip
    console.print(table)
    _print_verdicts(p)


def _preset(registry: Optional[str], model: str, task: str, version: str):
    """The preset, findings included, or one line saying why it cannot be read."""
    from sra_search.presets import PresetFormatError, PresetNotFoundError
    from sra_search.presets.registry import RegistryError

    try:
        return _registry(registry).get(model, task, version, include_unproven=True)
    except (PresetNotFoundError, PresetFormatError, RegistryError, ValueError) as e:
        fail(str(e))


def _print_verdicts(p) -> None:
    from sra_search.extras import MissingExtraError, install_hint
    from sra_search.presets.lengths import bucket_evidence

    try:
        tests = [bucket_evidence(b) for b in p.buckets]
    except MissingExtraError as e:  # the core install: the table above is all it can show
        say(f"paired verdicts need the [{e.extra}] extra: {install_hint(e.extra)}")
        return
    for b, evidence in zip(p.buckets, tests):
        recorded = b.metrics.evidence
        label = f"{b.min_tokens}-{b.max_tokens}"
        if evidence is None or recorded is None:
            say(f"{label}: version-1 bucket, no per-case outcomes: no paired test recorded")
            continue
        verdict = evidence.verdict(recorded.alpha, b.evaluation.min_gain, p_value=recorded.p_adjusted)
        say(f"{label}: {verdict}")
    if any(len(b.evaluation.lengths or []) > 1 for b in p.buckets):
        say(f"per prompt length: sra-search presets lengths {p.model.name} {p.task.name} --version {p.version}")


@presets.command()
def lengths(
    model: str = typer.Argument(..., help="Model key, e.g. smollm2-135m."),
    task: str = typer.Argument(..., help="Task name, e.g. passkey."),
    version: str = typer.Option("latest", help="Version number or 'latest'."),
    registry: Optional[str] = typer.Option(None, "--registry", help=REGISTRY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A preset's held-out cases split by prompt length, each length with its paired test
    (from the recorded per-case outcomes; nothing is re-run)."""
    from rich.table import Table

    from sra_search.presets.lengths import by_length

    p = _preset(registry, model, task, version)
    rows = [(b, r) for b in p.buckets for r in by_length(b)]
    if json_out:
        print_json([
            {"bucket": [b.min_tokens, b.max_tokens], "length": r.length, "evidence": r.evidence.to_dict(),
             "verdict": r.evidence.verdict(b.metrics.evidence.alpha, b.evaluation.min_gain)}
            for b, r in rows
        ])  # fmt: skip
        return
    if not rows:
        fail(f"{p.name} v{p.version} is a version-1 preset: it recorded no per-case outcomes to split", code=1)
    table = Table(title=f"{p.name} v{p.version}: held-out cases by prompt length (unadjusted p)")
    for col in ("bucket", "length", "cases", "baseline", "SRA", "paired delta [CI], p: verdict"):
        table.add_column(col)
    for b, r in rows:
        e = r.evidence
        table.add_row(
            f"{b.min_tokens}-{b.max_tokens}", str(r.length), str(e.n), f"{e.baseline_mean:.3f}", f"{e.sra_mean:.3f}",
            e.verdict(b.metrics.evidence.alpha, b.evaluation.min_gain),
        )  # fmt: skip
    console.print(table)


@presets.command()
def validate(
    paths: list[Path] = typer.Argument(None, exists=True, dir_okay=False, help="Preset files; default: every preset in the registry."),
    registry: Optional[str] = typer.Option(None, "--registry", help=REGISTRY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check preset files against the schema; exits 1 if any is invalid."""
    from sra_search.presets import PresetFormatError, read_preset

    files = list(paths or [Path(r.location) for r in _listed(_registry(registry))])
    results = []
    for f in files:
        try:
            read_preset(f)
            results.append({"file": str(f), "ok": True, "error": None})
        except PresetFormatError as e:
            results.append({"file": str(f), "ok": False, "error": str(e)})
    if json_out:
        print_json(results)
    else:
        for r in results:
            if r["ok"]:
                say(("ok", "green"), "   ", r["file"])
            else:
                say(("bad", "red"), "  ", r["error"])
        say(f"{sum(r['ok'] for r in results)}/{len(results)} valid")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@presets.command()
def schema(
    out: Path = typer.Option(SCHEMA_PATH, help="Where to write the JSON Schema."),
    check: bool = typer.Option(False, help="Exit 1 if the file differs from the schema of the code."),
) -> None:
    """Write (or check) the preset JSON Schema generated from the pydantic model."""
    from sra_search.presets.schema import Preset

    text = json.dumps(Preset.model_json_schema(), indent=2) + "\n"
    if check:
        if not out.is_file() or out.read_text() != text:
            fail(f"{out} is out of date; run `sra-search presets schema`", code=1)
        say(f"{out} is current")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    say(f"wrote {out}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind. Anything but loopback exposes the API: see README."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port."),
    registry: Optional[str] = typer.Option(None, "--registry", help="Preset directory (default as for `presets`)."),
) -> None:
    """Serve the preset registry read-only over HTTP (FastAPI)."""
    import uvicorn

    from sra_search.presets.server import create_app

    reg = _registry(registry)
    if reg.url:
        fail("--registry must be a directory for `serve`")
    if host not in ("127.0.0.1", "localhost", "::1"):
        say(("warning:", "yellow"), f" binding {host}: the preset API has no authentication and is reachable from "
            "other machines; put it behind a proxy that authenticates (docs/reliability.md)")
    uvicorn.run(create_app(reg), host=host, port=port, log_level="info")
