"""Plots of a study: optimisation history, score vs perplexity, importances, sensitivity.

Each function writes one PNG and returns its path, or returns ``None`` with nothing written
when the study holds too little for that plot (say, one finished trial).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from sra_search.search.storage.attrs import BASELINE_PREFIX, OBJECTIVE, PERPLEXITY_RATIO, SPEC, baselines_of


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _feasible(t: optuna.trial.FrozenTrial) -> bool:
    return all(v <= 0 for v in t.constraints.values())


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE]) if t.values]


def _scatter_by_feasibility(
    ax, trials: list[optuna.trial.FrozenTrial], x: Callable[[optuna.trial.FrozenTrial], Any], *,
    infeasible_label: str = "infeasible", feasible_on_top: bool = False,
) -> None:  # fmt: skip
    """The first objective of ``trials`` against ``x(trial)``: feasible ones as blue dots,
    infeasible ones (a constraint failed) as grey crosses."""
    feasible = [t for t in trials if _feasible(t)]
    infeasible = [t for t in trials if not _feasible(t)]
    for group, colour, marker, label, zorder in (
        (feasible, "#1f77b4", "o", "feasible", 3),
        (infeasible, "#bbbbbb", "x", infeasible_label, 2),
    ):
        on_top = {"zorder": zorder} if feasible_on_top else {}  # else matplotlib's default, in call order
        ax.scatter([x(t) for t in group], [t.values[0] for t in group], c=colour, marker=marker, label=label, **on_top)


def baseline_objective(study: optuna.Study) -> float | None:
    """The objective the model scores without SRA on the search cases (from the baselines the
    driver stored in the study), or ``None`` when the study does not hold them all."""
    from sra_search.search.objective import combine, task_value

    spec = SPEC.get(study) or {}
    target = (spec.get("objective") or {}).get("target", "score")
    weighted = []
    for task in spec.get("tasks") or []:
        found = [v for k, v in baselines_of(study).items() if k.startswith(f"{BASELINE_PREFIX}{task.get('name')}:search:")]
        if len(found) != 1 or not found[0].get("case_scores"):
            return None  # missing, or ambiguous (another baseline under the same task name)
        scores = found[0]["case_scores"][: (task.get("cases") or {}).get("search") or None]
        value = task_value(scores, scores, target, bool(found[0].get("higher_is_better", True)))
        weighted.append((float(task.get("weight", 1.0)), value))
    return combine(weighted) if weighted else None


def _baseline_line(ax, study: optuna.Study) -> None:
    base = baseline_objective(study)
    if base is not None:
        ax.axhline(base, ls=":", c="#2ca02c", label=f"no SRA ({base:.3g})")


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out


def _finish(fig, ax, study: optuna.Study, out: Path, xlabel: str, title: str) -> Path:
    """Label ``ax`` (the objective on y), title it after the study, grid and legend; write the PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(OBJECTIVE.get(study, "objective"))
    ax.set_title(f"{study.study_name}: {title}")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out)


def history(study: optuna.Study, out: Path) -> Path | None:
    """Objective per trial, feasible and infeasible marked, best feasible so far as a line, the
    no-SRA baseline as a dotted one."""
    trials = _complete(study)
    if not trials:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    _scatter_by_feasibility(
        ax, trials, lambda t: t.number, infeasible_label="infeasible (a constraint failed)", feasible_on_top=True
    )
    best, xs, ys = None, [], []
    for t in sorted(trials, key=lambda t: t.number):
        if _feasible(t) and (best is None or (t.values[0] > best if maximize else t.values[0] < best)):
            best = t.values[0]
        if best is not None:
            xs.append(t.number)
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", c="#d62728", label="best feasible so far")
    _baseline_line(ax, study)
    pruned = study.get_trials(deepcopy=False, states=[TrialState.PRUNED])
    return _finish(fig, ax, study, out, "trial", f"optimisation history ({len(trials)} complete, {len(pruned)} pruned)")


def score_vs_perplexity(study: optuna.Study, out: Path) -> Path | None:
    """Objective against the perplexity ratio; the Pareto front for two-objective studies."""
    trials = [t for t in _complete(study) if PERPLEXITY_RATIO.get(t) is not None]
    if not trials:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _scatter_by_feasibility(ax, trials, lambda t: PERPLEXITY_RATIO.get(t))
    if len(study.directions) > 1:
        front = sorted(study.best_trials, key=lambda t: PERPLEXITY_RATIO.get(t, 0))
        ax.plot([PERPLEXITY_RATIO.get(t) for t in front], [t.values[0] for t in front],
                c="#d62728", marker="D", label="Pareto front")  # fmt: skip
    spec = SPEC.get(study) or {}
    limit = ((spec.get("constraints") or {}).get("perplexity") or {}).get("max_ratio")
    if limit:
        ax.axvline(limit, ls="--", c="#d62728", alpha=0.6, label=f"max ratio {limit}")
    return _finish(fig, ax, study, out, "perplexity ratio (SRA / baseline)", "score vs perplexity")


def importances(study: optuna.Study, out: Path) -> Path | None:
    """fANOVA parameter importances (Optuna's), for the first objective."""
    if len(_complete(study)) < 3:
        return None
    from optuna.visualization.matplotlib import plot_param_importances

    try:
        with warnings.catch_warnings():  # Optuna marks its matplotlib plots experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            ax = plot_param_importances(
                study, target=(lambda t: t.values[0]) if len(study.directions) > 1 else None
            )
    except (ValueError, RuntimeError):  # e.g. no parameter varied across complete trials
        return None
    ax.set_title(f"{study.study_name}: parameter importances")
    return _save(ax.figure, out)


def sensitivity(study: optuna.Study, out: Path) -> Path | None:
    """Objective against each varied parameter (the sensitivity curve of a grid sweep), with
    the no-SRA baseline as a dotted line."""
    trials = _complete(study)
    varied = sorted({k for t in trials for k in t.params if len({tt.params.get(k) for tt in trials}) > 1})
    if not trials or not varied:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(varied), figsize=(4.5 * len(varied), 4), squeeze=False)
    for ax, name in zip(axes[0], varied):
        having = [t for t in trials if name in t.params]
        pts = sorted((t.params[name], t.values[0]) for t in having)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], c="#1f77b4", alpha=0.5)
        _scatter_by_feasibility(ax, having, lambda t: t.params[name])
        _baseline_line(ax, study)
        xs = [p[0] for p in pts]
        if all(isinstance(x, (int, float)) and x > 0 for x in xs) and max(xs) >= 10 * min(xs):
            ax.set_xscale("log")  # grids over tau or s are spaced by ratios
        ax.set_xlabel(name)
        ax.set_ylabel(OBJECTIVE.get(study, "objective"))
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{study.study_name}: sensitivity")
    return _save(fig, out)
