"""The ``sra-search`` Typer application.

Each command lives in its own module under ``sra_search/cli/`` and exposes
``register(app)``. Heavy imports (torch, transformers, ray) happen inside the
commands so that ``--help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer

from sra_search import __version__

app = typer.Typer(
    name="sra-search",
    help="Find, publish and check Scaled ReAttention (SRA) settings per model and task.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Command modules, in the order they appear in --help. Adding a command = one module + one name here.
COMMAND_MODULES = [
    "run_cmd",
    "status_cmd",
    "dashboard_cmd",
    "report_cmd",
    "eval_cmd",
    "export_cmd",
    "presets_cmd",
    "regress_cmd",
    "demo_cmd",
    "bench_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sra-search {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Find, publish and check Scaled ReAttention (SRA) settings per model and task."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"sra_search.cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
