"""The evidence behind a study's answer: the paired test of its best feasible trial against the
no-SRA baseline on the search cases the trial saw, recorded once in the study (``best_evidence``)
so that ``run``, ``status`` and ``report`` print it without recomputing.

The search cases chose the trial, so this test is optimistic (the winner's curse); the holdout
re-score (``holdout`` attr, ``baselines.rescore_holdout``) is the one to trust.
"""

from __future__ import annotations

from typing import Any, Mapping

import optuna

from sra_search.search.results import best_feasible, expand_outcomes, recorded_for
from sra_search.search.storage.attrs import BEST_EVIDENCE, OUTCOMES, baselines_of


def baseline_scores(study: optuna.Study | Mapping[str, Any]) -> dict[str, float]:
    """Case key -> the baseline's score, from every baseline entry that recorded its keys
    (``study``: a study, or its user attributes already read)."""
    out: dict[str, float] = {}
    for entry in baselines_of(study).values():
        if entry.get("case_keys"):
            out.update(zip(entry["case_keys"], (float(s) for s in entry["case_scores"])))
    return out


def paired_with_baseline(record: dict[str, Any], base: dict[str, float]) -> tuple[list[float], list[float]] | None:
    """A :func:`compact_outcomes` record and the baseline's scores on the same cases, by case key;
    ``None`` when a case has no baseline score to pair with."""
    keys, scores = expand_outcomes(record)
    if not keys or not all(k in base for k in keys):
        return None
    return scores, [base[k] for k in keys]


def search_evidence(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, dict[str, Any]]:
    """Per task: the one-sided paired test of ``trial`` against the baseline on the cases it saw
    (``{evidence, verdict}``); tasks whose cases cannot be paired by key are left out."""
    outcomes = OUTCOMES.get(trial)
    if not isinstance(outcomes, dict):
        return {}
    stored = study.user_attrs  # one storage read for both
    base = baseline_scores(stored)
    higher = {n: e.get("higher_is_better", True) for n, e in baselines_of(stored).items()}
    from sra_search.statistics.paired import paired_test  # scipy/statsmodels: the [stats] extra

    out = {}
    for task, record in outcomes.items():
        paired = paired_with_baseline(record, base)
        if paired is None:
            continue
        hib = next((h for n, h in higher.items() if f":{task}:" in n), True)
        ev = paired_test(*paired, higher_is_better=hib)
        out[task] = {"evidence": ev.to_dict(), "verdict": ev.verdict()}
    return out


def record_best_evidence(study: optuna.Study) -> dict[str, Any] | None:
    """Compute and store ``best_evidence = {trial, tasks}`` for the current best feasible trial
    (single-objective studies); kept as is while the best trial does not change."""
    best = best_feasible(study)
    if best is None:
        return None
    done = recorded_for(study, BEST_EVIDENCE, best)
    if done is not None:
        return done
    out = {"trial": best.number, "split": "search", "tasks": search_evidence(study, best)}
    BEST_EVIDENCE.set(study, out)
    return out
