"""``sra-search models``: the models the service loads by name, and whether they are here."""

from __future__ import annotations

import json

import typer

from sra_search.cli.output import console


def _ranges(layers: tuple[int, ...]) -> str:
    """``0-4,6-10`` for a sorted tuple of layer indices (``-`` when empty)."""
    if not layers:
        return "-"
    parts, start, prev = [], layers[0], layers[0]
    for i in (*layers[1:], None):
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}-{prev}" if prev > start else str(start))
        if i is not None:
            start = prev = i
    return ",".join(parts)


def register(app: typer.Typer) -> None:
    @app.command()
    def models(
        as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per model)."),
    ) -> None:
        """List the models loadable by name: architecture, layers, sliding-window layers, install state.

        Reads no weights; any other model is given as a local directory (or hub id) instead.
        """
        from rich.table import Table
        from rich.text import Text

        from sra_search.catalog import KNOWN

        rows = []
        for m in KNOWN.values():
            row = m.to_dict()
            row["problem"] = m.problem()
            row["installed"] = row["problem"] is None
            rows.append(row)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table("name", "architecture", "layers", "sliding-window layers", "window", "chat", "installed")
        for m, row in zip(KNOWN.values(), rows):
            table.add_row(
                Text(m.name), Text(m.architecture), str(m.layers), _ranges(m.sliding_layers),
                str(m.sliding_window or "-"), "yes" if m.chat_template else "no (base model)",
                "yes" if row["installed"] else Text(row["problem"]),
            )  # fmt: skip
        console.print(table)
