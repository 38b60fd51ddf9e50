"""What a storage holds: every study with its trial counts and best feasible parameters."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from sra_search.search.storage.attrs import BEST_EVIDENCE, ELAPSED_S, HOLDOUT, MODEL, OBJECTIVE, SPEC, baselines_of
from sra_search.search.results import best_feasible, pareto_feasible, trial_summary
from sra_search.search.storage.rdb import open_storage
from sra_search.urls import redact_url


def study_status(study: optuna.Study) -> dict[str, Any]:
    """Counts by state, best feasible trial (or feasible Pareto front), holdout and elapsed time."""
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    stored = study.user_attrs  # one storage read for every attribute below
    spec = SPEC.get(stored) or {}
    best = best_feasible(study)
    budget = spec.get("budget") or {}
    out: dict[str, Any] = {
        "study": study.study_name,
        "model": MODEL.get(stored),
        "objective": OBJECTIVE.get(stored),
        "directions": [d.name.lower() for d in study.directions],
        "trials": counts,
        "budget": budget,
        "elapsed_s": ELAPSED_S.get(stored),
        "best": trial_summary(best) if best else None,
        "best_evidence": BEST_EVIDENCE.get(stored),
        "holdout": HOLDOUT.get(stored),
        "baselines": {
            k: {"score": v.get("score"), "n_cases": v.get("n_cases")} for k, v in baselines_of(stored).items()
        },
    }
    if len(study.directions) > 1:
        out["pareto"] = [trial_summary(t) for t in pareto_feasible(study)]
    return out


def storage_status(url: str, study_name: str | None = None) -> dict[str, Any]:
    """Status of every study in the storage at ``url`` (or only ``study_name``)."""
    storage = open_storage(url)
    names = [s.study_name for s in optuna.study.get_all_study_summaries(storage, include_best_trial=False)]
    if study_name is not None:
        if study_name not in names:
            raise KeyError(f"no study named '{study_name}' in {redact_url(url)} (studies: {', '.join(names) or 'none'})")
        names = [study_name]
    studies = [study_status(optuna.load_study(study_name=n, storage=storage)) for n in names]
    return {"storage": redact_url(url), "studies": studies}
