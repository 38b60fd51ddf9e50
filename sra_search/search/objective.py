"""Objective value and constraint values of a trial, from its (chunked) evaluation results.

Pure functions over numbers and :class:`~sra_search.runtime.stats.SRASummary` records: the
driver feeds them what the workers return. Constraint values follow Optuna's convention:
``<= 0`` means feasible.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable, Sequence

from sra_search.search.results import is_feasible
from sra_search.search.studyfile.schema import Constraints, StudyFile

if TYPE_CHECKING:
    from sra_search.runtime.stats import SRASummary

# objectives.compare is imported where it is used: importing objectives loads torch, which the
# driver's start-up, `status` and `report` do not need.


def mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else float("nan")


def task_value(
    case_scores: Sequence[float], baseline_scores: Sequence[float] | None, target: str, higher_is_better: bool
) -> float:
    """One task's contribution, oriented so that higher is better.

    ``delta`` subtracts the baseline's mean over the same cases (the first ``len(case_scores)``
    cases of the baseline, which was measured on the same split, offsets and order).
    """
    from objectives.compare import gain

    baseline = 0.0
    if target == "delta":
        if not baseline_scores or len(baseline_scores) < len(case_scores):
            raise ValueError("the baseline covers fewer cases than the trial")
        baseline = mean(baseline_scores[: len(case_scores)])
    return gain(mean(case_scores), baseline, higher_is_better)


def combine(weighted: list[tuple[float, float]]) -> float:
    """Weighted mean of task values; tasks not yet started are left out (their weight too)."""
    total = sum(w for w, _ in weighted)
    return sum(w * v for w, v in weighted) / total if total > 0 else float("nan")


def constraint_values(
    constraints: Constraints, *, perplexity_ratio: float | None, stats: SRASummary | None
) -> dict[str, float]:
    """Optuna constraint values (``<= 0`` feasible) for the constraints the study sets."""
    from objectives.compare import attention_for_band

    out: dict[str, float] = {}
    if constraints.perplexity is not None:
        if perplexity_ratio is None or not math.isfinite(perplexity_ratio):
            out["perplexity_ratio"] = 1e6  # an exploded perplexity is as infeasible as it gets
        else:
            out["perplexity_ratio"] = perplexity_ratio - constraints.perplexity.max_ratio
    if constraints.attention is not None:
        att = attention_for_band(stats)
        out["attention_low"] = constraints.attention.low - att
        out["attention_high"] = att - constraints.attention.high
    if constraints.min_edited_share is not None:
        # No row examined (both loops off, or every prompt too short for SRA) edits nothing.
        share = stats.edited_share if stats is not None and stats.edited_share is not None else 0.0
        out["edited_share"] = constraints.min_edited_share - share
    return out


def outside_band(attention: float, low: float, high: float, margin: float) -> bool:
    """Whether ``attention`` lies outside ``[low, high]`` by more than ``margin``: the one rule the
    band stop (:func:`band_stop`) and its benchmark (``benchmarks/band_stop.py``) apply."""
    return attention < low - margin or attention > high + margin


def band_stop(constraints: Constraints, stats: SRASummary, n_cases: int) -> str | None:
    """Why a trial's SRA statistics after ``n_cases`` cases already put it outside the attention
    band by more than ``stop_margin`` (so its remaining cases would be spent on an infeasible
    trial), or ``None``: no band, no margin set, or no row edited yet."""
    from objectives.compare import attention_for_band

    band = constraints.attention
    if band is None or band.stop_margin is None or not stats.edited_rows:
        return None
    att = attention_for_band(stats)
    if not outside_band(att, band.low, band.high, band.stop_margin):
        return None
    return (f"attention band: {att:.3f} after {n_cases} cases, outside {band.low}-{band.high} "
            f"by more than stop_margin {band.stop_margin}")  # fmt: skip


def objective_label(spec: StudyFile) -> str:
    names = "+".join(t.name for t in spec.tasks)
    return f"{names} {'score - baseline' if spec.objective.target == 'delta' else 'score'}"


__all__ = ["mean", "task_value", "combine", "constraint_values", "outside_band", "band_stop", "is_feasible", "objective_label"]
