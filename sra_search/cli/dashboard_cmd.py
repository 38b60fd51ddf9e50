"""``sra-search dashboard``: optuna-dashboard on the study storage, bound to 127.0.0.1."""

from __future__ import annotations

from typing import Optional

import typer

from sra_search.cli.output import fail, say


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        storage: Optional[str] = typer.Option(None, "--storage", help="SQLAlchemy URL (default: $SRA_SEARCH_STORAGE, else sqlite:///sra-search.db)."),
        port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    ) -> None:
        """Serve optuna-dashboard for the storage on http://127.0.0.1:PORT (local only; use an SSH tunnel from elsewhere)."""
        from sra_search.search.studyfile.schema import StudyFileError, resolve_storage_url
        from sra_search.search.storage.rdb import STORAGE_ERRORS, open_storage
        from sra_search.urls import redact_url

        try:
            from optuna_dashboard import run_server
        except ImportError:
            fail("optuna-dashboard is not installed: pip install optuna-dashboard")
        try:
            # Opened as status does: a mistyped SQLite path is refused, never created.
            url = resolve_storage_url(storage)
            opened = open_storage(url)
        except (StudyFileError, *STORAGE_ERRORS) as exc:
            fail(str(exc))
        # Bound to loopback on purpose: the dashboard has no authentication and can edit studies.
        say(f"optuna-dashboard for {redact_url(url)} on http://127.0.0.1:{port} (Ctrl-C to stop)")
        run_server(opened, host="127.0.0.1", port=port)
