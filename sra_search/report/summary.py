"""``sra-search report``: every plot of a study plus a short Markdown summary linking them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import optuna

from sra_search.report import study_plots


def _evidence_plots(study: optuna.Study, out_dir: Path) -> dict[str, Path | None]:
    """Per task: the best trial's paired delta and interval as cases accumulate, on the held-out
    cases when it was re-checked there, else on the search cases it saw."""
    from sra_search.report.evidence_plot import evidence_plot
    from sra_search.search.results import best_feasible
    from sra_search.search.decisions.verdicts import baseline_scores, paired_with_baseline
    from sra_search.search.storage.attrs import HOLDOUT, OUTCOMES

    holdout = HOLDOUT.get(study) or {}
    best = best_feasible(study) if len(study.directions) == 1 else None
    if holdout.get("outcomes"):
        records, where, number = holdout["outcomes"], "held-out", holdout.get("trial")
    elif best is not None and isinstance(OUTCOMES.get(best), dict):
        records, where, number = OUTCOMES.get(best), "search", best.number
    else:
        return {}
    base = baseline_scores(study)
    out: dict[str, Path | None] = {}
    for task, record in records.items():
        paired = paired_with_baseline(record, base)
        if paired is None:
            continue
        title = f"trial {number}, {task}: SRA vs baseline on {where} cases"
        out[f"Evidence as cases accumulate ({task}, {where})"] = evidence_plot(
            *paired, out_dir / f"evidence_{task}.png", title=title
        )
    return out


def write_report(
    study: optuna.Study,
    out_dir: Path,
    heatmap: Callable[[Path], Path | None] | None = None,
) -> Path:
    """Write the PNGs and ``summary.md`` into ``out_dir``; returns the summary's path.

    ``heatmap(path)``, when given, draws the attention heat map (it needs the model).
    """
    from sra_search.search.status import study_status

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        "Optimisation history": study_plots.history(study, out_dir / "history.png"),
        "Score vs perplexity": study_plots.score_vs_perplexity(study, out_dir / "score_vs_perplexity.png"),
        "Parameter importances": study_plots.importances(study, out_dir / "importances.png"),
        "Sensitivity": study_plots.sensitivity(study, out_dir / "sensitivity.png"),
    }
    plots.update(_evidence_plots(study, out_dir))
    if heatmap is not None:
        plots["Attention before and after SRA"] = heatmap(out_dir / "attention_heatmap.png")
    status = study_status(study)
    lines = [f"# Study `{study.study_name}`", ""]
    lines.append(f"- model: `{status.get('model')}`; objective: {status.get('objective')}")
    t = status["trials"]
    lines.append(
        f"- trials: {t.get('complete', 0)} complete, {t.get('pruned', 0)} pruned, {t.get('fail', 0)} failed, "
        f"{t.get('running', 0)} running; elapsed {status.get('elapsed_s')} s"
    )
    for key, base in (status.get("baselines") or {}).items():
        lines.append(f"- baseline `{key.removeprefix('baseline:')}`: score {base.get('score')} on {base.get('n_cases')} cases")
    best = status.get("best")
    if best:
        lines.append(f"- best feasible: trial {best['number']}, value {best['value']}, parameters `{best['params']}`")
    else:
        lines.append("- no feasible trial yet")
    for task, v in ((status.get("best_evidence") or {}).get("tasks") or {}).items():
        lines.append(f"- search cases (they chose the trial, so this is optimistic), {task}: {v['verdict']}")
    holdout = status.get("holdout") or {}
    for task, v in (holdout.get("tasks") or {}).items():
        lines.append(
            f"- held-out re-check of trial {holdout['trial']}, {task}: score {v['score']:.4g} vs baseline "
            f"{v['baseline']:.4g} on {v['n_cases']} cases; {v.get('verdict') or 'no paired test recorded'}"
        )
    lines.append("")
    for title, path in plots.items():
        lines.append(f"## {title}")
        lines.append(f"![{title}]({path.name})" if path else "_not enough finished trials for this plot_")
        lines.append("")
    summary = out_dir / "summary.md"
    summary.write_text("\n".join(lines))
    return summary
