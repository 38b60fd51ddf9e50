"""``sra-search status``: the studies of a storage, their trial counts and best feasible parameters."""

from __future__ import annotations

from typing import Optional

import typer

from sra_search.cli.output import console, fail, print_json, say


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        storage: Optional[str] = typer.Option(None, "--storage", help="SQLAlchemy URL (default: $SRA_SEARCH_STORAGE, else sqlite:///sra-search.db)."),
        study: Optional[str] = typer.Option(None, "--study", help="Only this study."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    ) -> None:
        """List the studies in the storage with trial counts and best feasible parameters."""
        from rich.table import Table

        from sra_search.search.studyfile.schema import StudyFileError, resolve_storage_url
        from sra_search.search.status import storage_status
        from sra_search.search.storage.rdb import STORAGE_ERRORS

        try:
            url = resolve_storage_url(storage)
            result = storage_status(url, study)  # a missing SQLite file is refused, not created
        except (StudyFileError, KeyError, *STORAGE_ERRORS) as exc:
            fail(str(exc).strip("'\""))
        except Exception as exc:  # the database refused or is unreachable: say so, without a traceback
            import sqlalchemy.exc

            if not isinstance(exc, (sqlalchemy.exc.SQLAlchemyError, optuna_errors())):
                raise
            from sra_search.urls import redact_url

            cause = getattr(exc, "orig", None) or exc.__cause__ or exc
            fail(f"cannot read storage {redact_url(url)}: {type(cause).__name__}: {' '.join(str(cause).split())[:300]}")
        if json_out:
            print_json(result)
            return
        say(f"studies in {result['storage']}")  # a line, not the title: a title wraps to the table's width
        table = Table()
        for col in ("study", "model", "objective", "complete", "pruned", "failed", "running", "best", "best params", "holdout"):
            table.add_column(col)
        for s in result["studies"]:
            t = s["trials"]
            best = s.get("best")
            params = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in (best or {}).get("params", {}).items())
            h = s.get("holdout")
            table.add_row(
                s["study"], str(s.get("model")), str(s.get("objective")), str(t["complete"]), str(t["pruned"]),
                str(t["fail"]), str(t["running"]),
                f"#{best['number']} {best['value']:.4g}" if best else ("pareto: %d" % len(s.get("pareto") or []) if s.get("pareto") is not None else "-"),
                params or "-",
                f"#{h['trial']} {h['value']:.4g}" if h else "-",
            )
        console.print(table)
        from sra_search.cli.run_cmd import print_verdicts

        for s in result["studies"]:
            if s.get("best_evidence") or s.get("holdout"):
                say(f"{s['study']}:")
                print_verdicts(s.get("best_evidence"), s.get("holdout"), has_best=bool(s.get("best")))


def optuna_errors() -> type[Exception]:
    import optuna

    return optuna.exceptions.StorageInternalError
