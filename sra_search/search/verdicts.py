"""The evidence behind a study's answer: the paired test of its best feasible trial against the
no-SRA baseline on the search cases the trial saw, recorded once in the study (``best_evidence``)
so that ``run``, ``status`` and ``report`` print it without recomputing.

The search cases chose the trial, so this test is optimistic (the winner's curse); the holdout
re-score (``holdout`` attr, ``baselines.rescore_holdout``) is the one to trust.
"""

from __future__ import annotations

from typing import Any

import optuna

from sra_search.search.results import best_feasible, expand_outcomes, recorded_for


def baseline_scores(study: optuna.Study) -> dict[str, float]:
    """Case key -> the baseline's score, from every baseline entry that recorded its keys."""
    out: dict[str, float] = {}
    for name, entry in study.user_attrs.items():
        if name.startswith("baseline:") and isinstance(entry, dict) and entry.get("case_keys"):
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
    outcomes = trial.user_attrs.get("outcomes")
    if not isinstance(outcomes, dict):
        return {}
    base = baseline_scores(study)
    higher = {n: e.get("higher_is_better", True) for n, e in study.user_attrs.items() if n.startswith("baseline:")}
    from objectives.evidence import paired_test  # scipy/statsmodels, and torch through objectives

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
    done = recorded_for(study, "best_evidence", best)
    if done is not None:
        return done
    out = {"trial": best.number, "split": "search", "tasks": search_evidence(study, best)}
    study.set_user_attr("best_evidence", out)
    return out
