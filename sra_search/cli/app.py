"""The ``sra-search`` Typer application.

Each command lives in its own module under ``sra_search/cli/`` and exposes
``register(app)``. Heavy imports (torch, transformers, ray) happen inside the
commands so that ``--help`` stays instant.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sra_search.version import __version__

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
    "map_cmd",
    "export_cmd",
    "presets_cmd",
    "regress_cmd",
    "demo_cmd",
    "bench_cmd",
    "models_cmd",
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


# Commands that need an extra beyond the core; a missing module of that extra is reported as it,
# e.g. Optuna for `report` as [report] rather than [search]. Other commands name the extra of
# whichever module is missing (a data-set task in `eval` asks for [tasks]).
COMMAND_EXTRAS = {
    "run": "search",
    "status": "search",
    "dashboard": "search",
    "export": "search",
    "report": "report",
    "serve": "serve",
}


def command_path(args: list[str]) -> list[str]:
    """The (sub)command names at the head of ``args``, e.g. ``["presets", "show"]``."""
    # Duck-typed: typer >= 0.29 ships its own copy of click, whose Group is not click.Group.
    group = typer.main.get_command(app)
    path: list[str] = []
    for arg in args:
        if arg.startswith("-") or not hasattr(group, "get_command"):
            break
        sub = group.get_command(group.context_class(group), arg)
        if sub is None:
            break
        path.append(arg)
        group = sub
    return path


def main() -> None:
    """Console-script entry point.

    A command whose optional extra is not installed ends with one line naming the extra (exit 2,
    no traceback) -- the one place that turns a missing module into install advice.
    """
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - anything but a missing extra is re-raised untouched
        from sra_search.extras import install_hint, missing_extra

        path = command_path(sys.argv[1:])
        found = missing_extra(exc, prefer=COMMAND_EXTRAS.get(path[0]) if path else None)
        if found is None:
            raise
        extra, module = found
        from sra_search.cli.output import print_error

        name = " ".join(["sra-search", *path])
        print_error(f"'{name}' needs the [{extra}] extra: {install_hint(extra)} (module '{module}' is not installed)")
        sys.exit(2)
