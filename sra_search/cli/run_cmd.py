"""``sra-search run STUDY.toml``: run or resume a study, with live progress."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from sra_search.cli.output import console, fail, print_json, say

if TYPE_CHECKING:
    from sra_search.search.run_summary import RunSummary


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def _fmt_params(params: dict[str, Any] | None) -> str:
    if not params:
        return "-"
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _render(p: Any):
    """One rich renderable for a :class:`~sra_search.search.progress.Progress`."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.text import Text

    total = p.budget_trials
    head = Text.assemble(
        (f"{p.study} ", "bold"),
        (f"[{p.phase}] ", "cyan"),
        f"done {p.done}" + (f"/{total}" if total else ""),
        f"  complete {p.complete}  pruned {p.pruned}  failed {p.failed}  running {p.running}",
        f"  elapsed {_fmt_s(p.elapsed_s)}" + (f"/{_fmt_s(p.budget_time_s)}" if p.budget_time_s else ""),
        f"  ETA {_fmt_s(p.eta_s)}",
    )
    parts: list[Any] = [head]
    if total:
        parts.append(ProgressBar(total=total, completed=min(p.done, total), width=60))
    if p.best:
        parts.append(
            Text(f"best feasible: trial {p.best['number']} value {p.best['value']:.4g}  {_fmt_params(p.best['params'])}")
        )
    else:
        parts.append(Text("best feasible: none yet", style="dim"))
    if p.message:
        parts.append(Text(p.message, style="dim"))
    return Group(*parts)


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        study_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Study file (TOML), e.g. studies/smollm2-passkey.toml."),
        trials: Optional[int] = typer.Option(None, "--trials", min=1, max=1_000_000, help="Total trial budget (completed + pruned), overriding the file's."),
        time_s: Optional[float] = typer.Option(None, "--time", min=1, max=366 * 86400, help="Total time budget in seconds, overriding the file's."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=10_000, help="Number of worker actors."),
        storage: Optional[str] = typer.Option(None, "--storage", help="SQLAlchemy URL (default: the file's, else $SRA_SEARCH_STORAGE, else sqlite:///sra-search.db)."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray address ('auto' on a cluster); default: the file's, else a local Ray."),
        holdout: bool = typer.Option(True, "--holdout/--no-holdout", help="Re-score the best feasible trial on the holdout cases at the end."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object on stdout."),
    ) -> None:
        """Run a study to its budget; re-running the same study resumes it."""
        import logging

        from sra_search.search.studyfile.schema import StudyFileError, load_study_file

        try:
            spec = load_study_file(study_file)
        except StudyFileError as exc:
            fail(str(exc))

        from rich.live import Live

        from sra_search.search.driver import (
            Driver, EvaluationError, RunOptions, StorageUnavailableError, StudyMismatchError, WorkerSetupError,
        )

        import optuna

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would fight the live display
        live = Live(console=console, refresh_per_second=4, transient=json_out)
        on_progress = (lambda p: live.update(_render(p))) if console.is_terminal else _LineProgress()
        options = RunOptions(
            trials=trials,
            time_s=time_s,
            workers=workers,
            storage=storage,
            ray_address=ray_address,
            holdout=holdout,
            on_progress=on_progress,
            base_dir=str(study_file.parent),
        )
        try:
            driver = Driver(spec, options)
            if console.is_terminal:
                with live:
                    summary = driver.run()
            else:
                summary = driver.run()
        except (StudyFileError, StudyMismatchError, WorkerSetupError, EvaluationError, StorageUnavailableError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted: trials in flight were marked FAIL and re-enqueued; run again to resume", code=130)
        if json_out:
            print_json(summary.to_dict())
            return
        _print_summary(summary)


class _LineProgress:
    """Without a terminal (CI logs, ``ray job submit``): one line per phase change or finished trial."""

    def __init__(self) -> None:
        self._last: tuple | None = None

    def __call__(self, p: Any) -> None:
        key = (p.phase, p.message, p.complete, p.pruned, p.failed)
        if key == self._last:
            return
        self._last = key
        best = f"best #{p.best['number']} {p.best['value']:.4g}" if p.best else "best -"
        total = f"/{p.budget_trials}" if p.budget_trials else ""
        say(
            f"[{_fmt_s(p.elapsed_s)}] {p.study} {p.phase}: done {p.done}{total} (complete {p.complete}, "
            f"pruned {p.pruned}, failed {p.failed}, running {p.running}) {best} ETA {_fmt_s(p.eta_s)}"
            + (f" - {p.message}" if p.message else "")
        )


def _print_summary(s: RunSummary) -> None:
    from rich.table import Table

    t = s.trials
    say(
        (s.study, "bold"), f" ({s.model}, {s.objective}) in {s.storage}: "
        f"{t['complete']} complete, {t['pruned']} pruned, {t['fail']} failed, {t['waiting']} waiting; "
        f"{s.new_trials_done} new this run; total time {_fmt_s(s.elapsed_s)}"
    )
    best = s.best
    if best:
        table = Table(title=f"best feasible trial: {best['number']}")
        table.add_column("key")
        table.add_column("value")
        table.add_row("objective", f"{best['value']:.4g}")
        for k, v in (best.get("task_scores") or {}).items():
            table.add_row(f"score {k}", f"{v:.4g}")
        if best.get("perplexity_ratio") is not None:
            table.add_row("perplexity ratio", f"{best['perplexity_ratio']:.4f}")
        st = best.get("sra_stats") or {}
        if st:
            from objectives.compare import attention_for_band
            from sra_search.runtime.stats import SRASummary

            # As the attention constraint reads it: 1.0 when SRA edited no row (rows sum to 1).
            table.add_row("acc. attention mean", f"{attention_for_band(SRASummary.from_dict(st)):.4f}")
            if st.get("edited_share") is not None:
                table.add_row("edited row share", f"{st['edited_share']:.4f}")
        for k, v in (best.get("params") or {}).items():
            table.add_row(k, str(v))
        console.print(table)
    elif s.pareto:
        say(f"feasible Pareto front: {len(s.pareto)} trials (see `sra-search status --json`)")
    else:
        say(("no feasible trial yet", "yellow"))
    h = s.holdout
    if h:
        tasks = ", ".join(f"{k} {v['score']:.3g} (baseline {v['baseline']:.3g}, {v['n_cases']} cases)" for k, v in h["tasks"].items())
        say(f"holdout of trial {h['trial']}: objective {h['value']:.4g}; {tasks}")
    print_verdicts(s.best_evidence, s.holdout, has_best=s.best is not None)
    for warning in s.warnings:
        say(f"warning: {warning}")


def print_verdicts(best_evidence: dict[str, Any] | None, holdout: dict[str, Any] | None, *, has_best: bool) -> None:
    """The evidence in words: the best trial's paired test on the search cases that chose it
    (optimistic), and on the holdout cases (the one to trust)."""
    ev = best_evidence or {}
    for task, v in (ev.get("tasks") or {}).items():
        say(f"search cases, trial {ev['trial']}, {task}: {v['verdict']} (these cases chose the trial)")
    h = holdout or {}
    for task, v in (h.get("tasks") or {}).items():
        if v.get("verdict"):
            say(f"verdict, held-out cases, trial {h['trial']}, {task}: {v['verdict']}")
    if has_best and not any(v.get("verdict") for v in (h.get("tasks") or {}).values()):
        say("verdict: no held-out re-check yet, so no gain is shown (run without --no-holdout)")
