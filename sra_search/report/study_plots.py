"""Plots of a study: optimisation history, score vs perplexity, importances, sensitivity.

Each function writes one PNG and returns its path, or returns ``None`` with nothing written
when the study holds too little for that plot (say, one finished trial).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _feasible(t: optuna.trial.FrozenTrial) -> bool:
    return all(v <= 0 for v in t.constraints.values())


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE]) if t.values]


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out


def history(study: optuna.Study, out: Path) -> Path | None:
    """Objective per trial, feasible and infeasible marked, best feasible so far as a line."""
    trials = _complete(study)
    if not trials:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    feas = [t for t in trials if _feasible(t)]
    infeas = [t for t in trials if not _feasible(t)]
    ax.scatter([t.number for t in feas], [t.values[0] for t in feas], c="#1f77b4", label="feasible", zorder=3)
    ax.scatter([t.number for t in infeas], [t.values[0] for t in infeas], c="#bbbbbb", marker="x",
               label="infeasible (a constraint failed)", zorder=2)  # fmt: skip
    best, xs, ys = None, [], []
    for t in sorted(trials, key=lambda t: t.number):
        if _feasible(t) and (best is None or (t.values[0] > best if maximize else t.values[0] < best)):
            best = t.values[0]
        if best is not None:
            xs.append(t.number)
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", c="#d62728", label="best feasible so far")
    pruned = study.get_trials(deepcopy=False, states=[TrialState.PRUNED])
    ax.set_xlabel("trial")
    ax.set_ylabel(study.user_attrs.get("objective", "objective"))
    ax.set_title(f"{study.study_name}: optimisation history ({len(trials)} complete, {len(pruned)} pruned)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out)


def score_vs_perplexity(study: optuna.Study, out: Path) -> Path | None:
    """Objective against the perplexity ratio; the Pareto front for two-objective studies."""
    trials = [t for t in _complete(study) if t.user_attrs.get("perplexity_ratio") is not None]
    if not trials:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for group, colour, marker, label in (
        ([t for t in trials if _feasible(t)], "#1f77b4", "o", "feasible"),
        ([t for t in trials if not _feasible(t)], "#bbbbbb", "x", "infeasible"),
    ):
        ax.scatter([t.user_attrs["perplexity_ratio"] for t in group], [t.values[0] for t in group],
                   c=colour, marker=marker, label=label)  # fmt: skip
    if len(study.directions) > 1:
        front = sorted(study.best_trials, key=lambda t: t.user_attrs.get("perplexity_ratio", 0))
        ax.plot([t.user_attrs.get("perplexity_ratio") for t in front], [t.values[0] for t in front],
                c="#d62728", marker="D", label="Pareto front")  # fmt: skip
    spec = study.user_attrs.get("spec") or {}
    limit = ((spec.get("constraints") or {}).get("perplexity") or {}).get("max_ratio")
    if limit:
        ax.axvline(limit, ls="--", c="#d62728", alpha=0.6, label=f"max ratio {limit}")
    ax.set_xlabel("perplexity ratio (SRA / baseline)")
    ax.set_ylabel(study.user_attrs.get("objective", "objective"))
    ax.set_title(f"{study.study_name}: score vs perplexity")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out)


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
    """Objective against each varied parameter (the sensitivity curve of a grid sweep)."""
    trials = _complete(study)
    varied = sorted({k for t in trials for k in t.params if len({tt.params.get(k) for tt in trials}) > 1})
    if not trials or not varied:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(varied), figsize=(4.5 * len(varied), 4), squeeze=False)
    for ax, name in zip(axes[0], varied):
        pts = sorted((t.params[name], t.values[0], _feasible(t)) for t in trials if name in t.params)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], c="#1f77b4", alpha=0.5)
        ax.scatter([p[0] for p in pts if p[2]], [p[1] for p in pts if p[2]], c="#1f77b4", label="feasible")
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], c="#bbbbbb", marker="x",
                   label="infeasible")  # fmt: skip
        ax.set_xlabel(name)
        ax.set_ylabel(study.user_attrs.get("objective", "objective"))
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{study.study_name}: sensitivity")
    return _save(fig, out)
