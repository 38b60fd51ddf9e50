"""``sra-search demo``: one passkey prompt on the default model, with and without SRA."""

from __future__ import annotations

import typer

from sra_search.cli.output import console, fail, print_json, status


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        model: str = typer.Option("smollm2-135m", help="Model name or local path."),
        length: int = typer.Option(1024, min=64, help="Target prompt length in tokens."),
        seed: int = typer.Option(0, help="Seed of the passkey."),
        s: float = typer.Option(5.0, "--s", min=0, help="Scale factor s_in = s_ou."),
        tau: float = typer.Option(0.5, "--tau", min=0, help="Elimination factor tau_in = tau_ou."),
        c_s: int = typer.Option(5, min=0, help="Attention-sink tokens kept out of the blocks."),
        c_e: int = typer.Option(50, min=1, help="Trailing tokens (outer-loop rows)."),
        per_layer: bool = typer.Option(False, help="Also print per-layer statistics."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Load the model, build a ~LENGTH-token passkey prompt and answer it with and without SRA."""
        from rich.table import Table

        from sra_search.config import SRAConfig
        from sra_search.demo import run_demo
        from sra_search.models import load_model

        config = SRAConfig(tau_in=tau, tau_ou=tau, s_in=s, s_ou=s, c_s=c_s, c_e=c_e)
        try:
            with status(f"loading {model}"):
                m, tok = load_model(model)
        except Exception as exc:  # noqa: BLE001 - a bad model name/path is user input, as in `eval`
            fail(f"--model: cannot load '{model}': {exc}")
        with status("answering"):
            n, runs = run_demo(m, tok, config, length, seed)
        if json_out:
            print_json(
                {
                    "model": model,
                    "prompt_tokens": n,
                    "config": config.model_dump(),
                    "runs": [
                        {
                            "label": r.label,
                            "answer": r.answer,
                            "correct": r.correct,
                            "seconds": r.seconds,
                            "stats": r.stats.to_dict(per_layer=per_layer) if r.stats else None,
                        }
                        for r in runs
                    ],
                }
            )
            return
        table = Table(title=f"passkey, {n} prompt tokens, {config.short()}")
        for col in ("run", "answer", "correct", "edited rows", "acc. attention mean", "seconds"):
            table.add_column(col)
        for r in runs:
            st = r.stats
            table.add_row(
                r.label,
                repr(r.answer),
                "yes" if r.correct else "no",
                f"{st.edited_rows}/{st.examined_rows}" if st else "-",
                f"{st.accumulated_attention_mean:.3f}" if st else "-",
                f"{r.seconds:.1f}",
            )
        console.print(table)
        if per_layer and runs[1].stats:
            t = Table(title="SRA per layer and loop")
            for col in ("layer", "loop", "examined", "edited", "removed mass", "acc. mean", "acc. max"):
                t.add_column(col)
            for s_ in runs[1].stats.per_layer():
                t.add_row(
                    str(s_.layer), s_.loop, str(s_.examined_rows), str(s_.edited_rows),
                    f"{s_.removed_mass_mean:.3f}", f"{s_.accumulated_attention_mean:.3f}",
                    f"{s_.accumulated_attention_max:.3f}",
                )
            console.print(t)
