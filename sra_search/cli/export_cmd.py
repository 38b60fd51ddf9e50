"""``sra-search export``: studies (one per length bucket) -> a new preset version."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sra_search.cli.output import console, description_column, fail, print_json, say, styled


def register(app: typer.Typer) -> None:
    app.command()(export)


def export(
    studies: list[Path] = typer.Argument(..., help="Study files, one per prompt-length bucket of one model and task."),
    to: Path = typer.Option(Path("presets"), "--to", help="Preset directory to write into."),
    storage: Optional[str] = typer.Option(None, help="Storage URL (default: each study file's, $SRA_SEARCH_STORAGE, sqlite:///sra-search.db)."),
    force: bool = typer.Option(False, help="Write a preset marked beats_baseline=false even if a bucket does not pay off."),
    min_gain: float = typer.Option(0.0, min=0, help="Smallest held-out gain over baseline that counts (0: any positive gain)."),
    candidates: int = typer.Option(1, min=1, max=20, help="Best feasible trials per study to re-score on holdout (each counts in the multiple-test correction)."),
    alpha: float = typer.Option(0.05, min=0.0001, max=0.5, help="Significance level of the gate (one-sided paired test, Holm over the buckets)."),
    holdout_cases: int = typer.Option(150, "--holdout-cases", min=1, help="Held-out cases per bucket, spread over its lengths."),
    n_lengths: int = typer.Option(4, "--lengths", min=1, max=16, help="Task lengths per bucket the held-out cases span (low end to high end)."),
    transfer_cases: int = typer.Option(48, "--transfer-cases", min=1, max=100_000, help="Held-out cases per bucket on the task's unseen prompt template (the transfer check)."),
    range_cases: int = typer.Option(16, "--range-cases", min=0, max=100_000, help="Search cases per length from which each bucket's length range is chosen before its held-out check; 0 = the study's whole range."),
    refine: int = typer.Option(2, "--refine", min=0, max=8, help="Bisections at each edge of the chosen length range, on search cases (0: the --lengths scan alone places the edges)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-score each study's best feasible trial on held-out cases over its bucket's lengths next to
    the baseline, and publish a new preset version with the buckets whose gain a paired test shows
    (p <= alpha after Holm, interval above --min-gain) and that keep their constraints."""
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn
    from rich.table import Table

    from objectives import ObjectiveError
    from sra_search.search.decisions.export import ExportError
    from sra_search.search.decisions.export import export as run
    from sra_search.presets.attempts import LedgerError
    from sra_search.presets.store import PresetWriteError
    from sra_search.search.studyfile.schema import StudyFileError
    from sra_search.search.storage.rdb import STORAGE_ERRORS

    try:
        with Progress(SpinnerColumn(), description_column(), TimeElapsedColumn(), console=console, transient=True) as bar:
            t = bar.add_task("export", total=None)
            result = run(studies, to, storage=storage, force=force, min_gain=min_gain, candidates=candidates,
                         alpha=alpha, holdout_cases=holdout_cases, n_lengths=n_lengths, range_cases=range_cases, transfer_cases=transfer_cases,
                         refine=refine, progress=lambda d: bar.update(t, description=d))  # fmt: skip
    except (ExportError, LedgerError, StudyFileError, PresetWriteError, ObjectiveError, *STORAGE_ERRORS) as e:
        fail(str(e))
    if json_out:
        print_json({
            "written": str(result.path) if result.path and not result.unchanged else None,
            "path": str(result.path) if result.path else None,
            "version": result.preset.version if result.preset else None,
            "unchanged": result.unchanged,
            "attempt": result.attempt,
            "beats_baseline": result.ok,
            "buckets": [b.to_dict() for b in result.buckets],
        })  # fmt: skip
    else:
        table = Table(title="held-out re-check")
        for col in ("study", "tokens", "trial", "score", "baseline", "delta", "ppl ratio", "acc. attn", "result"):
            table.add_column(col)
        for b in result.buckets:
            m = b.bucket.metrics if b.bucket else None
            f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            table.add_row(
                b.study, f"{b.min_tokens}-{b.max_tokens}", str(b.trial), f(m and m.score), f(m and m.baseline_score),
                f(m and m.delta), f(m and m.perplexity_ratio), f(m and m.accumulated_attention_mean),
                styled(("ok", "green")) if b.ok else styled(("no", "red"), ": " + "; ".join(b.reasons)),
            )  # fmt: skip
        console.print(table)
        say(f"export attempt {result.attempt} of this model and task (attempts.json beside its versions)")
        for b in result.buckets:
            if b.lengths_chosen:
                say(f"{b.study}, trial {b.trial}: {b.lengths_chosen}")
            if b.verdict:
                say(f"{b.min_tokens}-{b.max_tokens} tokens: {b.verdict}")
            tr = b.bucket.transfer if b.bucket else None
            if tr is not None:
                say(
                    f"{b.min_tokens}-{b.max_tokens} tokens, unseen template '{tr.template}': {tr.score:.3f} vs baseline "
                    f"{tr.baseline_score:.3f} ({tr.delta:+.3f}, p = {tr.p_value:.3g}, n = {tr.n_cases}): "
                    + ("holds" if tr.holds else "SRA loses")
                )  # fmt: skip
        if result.unchanged:
            say(f"unchanged: {result.path} (version {result.preset.version}) already records this measurement; nothing written")
        elif result.path:
            say(f"wrote {result.path} (version {result.preset.version}, beats_baseline={result.ok})")
            if result.ok and not result.all_ok:
                say(("buckets marked 'no' are left out: prompts of those lengths run without SRA", "yellow"))
        else:
            say(("nothing written", "yellow"), ": no bucket's gain is shown on held-out cases (see above); --force records them as a finding")
    if result.path is None:
        raise typer.Exit(1)
