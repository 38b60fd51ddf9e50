"""``sra-search report``: PNG plots and a Markdown summary of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sra_search.cli.output import fail, print_json, say, status


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    study: str = typer.Argument(..., help="Study name, or a study file (TOML) whose name and storage are used."),
    out: Path = typer.Option(..., "--out", help="Directory for the PNGs and summary.md."),
    storage: Optional[str] = typer.Option(None, help="Storage URL (default: the study file's, $SRA_SEARCH_STORAGE, sqlite:///sra-search.db)."),
    heatmap: bool = typer.Option(True, help="Also draw one layer's attention before/after SRA on a real prompt (loads the model)."),
    layer: int = typer.Option(10, min=0, help="Layer of the heat map."),
    json_out: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Optimisation history, score vs perplexity, importances, sensitivity and an attention heat map."""
    import optuna

    from sra_search.search.studyfile.schema import StudyFileError, load_study_file, resolve_storage_url
    from sra_search.search.storage.rdb import STORAGE_ERRORS, open_storage

    model_name = None
    try:
        if study.endswith(".toml"):
            spec = load_study_file(study)
            name, url, model_name = spec.name, spec.storage_url(storage), spec.model
        else:
            name, url = study, resolve_storage_url(storage)
        opened = open_storage(url)  # read only: a missing SQLite file is refused, not created
    except (StudyFileError, *STORAGE_ERRORS) as e:
        fail(str(e))
    try:
        st = optuna.load_study(study_name=name, storage=opened)
    except KeyError:
        fail(f"no study named {name!r} in that storage; `sra-search status` lists them")
    from sra_search.search.storage.attrs import MODEL

    model_name = model_name or MODEL.get(st)

    draw = None
    if heatmap and model_name:
        def draw(path: Path):
            from sra_search.config import SRAConfig
            from sra_search.demo import passkey_prompt
            from sra_search.models import load_model
            from sra_search.report.heatmap import attention_heatmap
            from sra_search.search.results import best_feasible, trial_config

            best = best_feasible(st)
            cfg = (trial_config(best) if best is not None else None) or SRAConfig.paper_public()
            with status(f"loading {model_name} for the heat map"):
                model, tok = load_model(model_name)
            prompt, _ = passkey_prompt(tok, 512, seed=0)
            return attention_heatmap(model, tok, prompt, cfg, min(layer, model.config.num_hidden_layers - 2), path)

    from sra_search.report.summary import write_report

    summary = write_report(st, out, draw)
    files = sorted(str(p) for p in Path(out).iterdir() if p.suffix in (".png", ".md"))
    if json_out:
        print_json({"study": name, "summary": str(summary), "files": files})
    else:
        for f in files:
            say(f"wrote {f}")
