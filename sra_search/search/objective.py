"""Objective value and constraint values of a trial, from its (chunked) evaluation results.

Pure functions over plain numbers: the driver feeds them what the workers return.
Constraint values follow Optuna's convention: ``<= 0`` means feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from sra_search.search.schema import Constraints, StudyFile


def mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else float("nan")


def task_value(case_scores: list[float], baseline_scores: list[float] | None, target: str, higher_is_better: bool) -> float:
    """One task's contribution, oriented so that higher is better.

    ``delta`` subtracts the baseline's mean over the same cases (the first ``len(case_scores)``
    cases of the baseline, which was measured on the same split, offsets and order).
    """
    value = mean(case_scores)
    if target == "delta":
        if not baseline_scores or len(baseline_scores) < len(case_scores):
            raise ValueError("the baseline covers fewer cases than the trial")
        value -= mean(baseline_scores[: len(case_scores)])
    return value if higher_is_better else -value


def combine(weighted: list[tuple[float, float]]) -> float:
    """Weighted mean of task values; tasks not yet started are left out (their weight too)."""
    total = sum(w for w, _ in weighted)
    return sum(w * v for w, v in weighted) / total if total > 0 else float("nan")


@dataclass
class SraStatsTotal:
    """Aggregate of the ``sra_stats`` dicts of several chunks.

    The mean is weighted by edited rows; the p95 over chunks is approximated by their max.
    """

    edited_rows: int = 0
    examined_rows: int = 0
    _att_sum: float = 0.0
    p95: float | None = None
    chunks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, stats: dict[str, Any] | None) -> None:
        if not stats:
            return
        self.chunks += 1
        edited = int(stats.get("edited_rows") or 0)
        self.edited_rows += edited
        examined = stats.get("examined_rows", stats.get("rows_examined"))
        if examined is not None:
            self.examined_rows += int(examined)
        att = stats.get("accumulated_attention_mean")
        if edited and att is not None and math.isfinite(att):
            self._att_sum += float(att) * edited
        p95 = stats.get("accumulated_attention_p95")
        if p95 is not None and math.isfinite(p95):
            self.p95 = p95 if self.p95 is None else max(self.p95, p95)

    @property
    def attention_mean(self) -> float:
        """Mean accumulated attention of edited rows; 1.0 when nothing was edited (rows sum to 1)."""
        return self._att_sum / self.edited_rows if self.edited_rows else 1.0

    @property
    def edited_share(self) -> float | None:
        return self.edited_rows / self.examined_rows if self.examined_rows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "edited_rows": self.edited_rows,
            "examined_rows": self.examined_rows or None,
            "edited_share": self.edited_share,
            "accumulated_attention_mean": self.attention_mean,
            "accumulated_attention_p95": self.p95,
        }


def constraint_values(
    constraints: Constraints, *, perplexity_ratio: float | None, stats: SraStatsTotal
) -> dict[str, float]:
    """Optuna constraint values (``<= 0`` feasible) for the constraints the study sets."""
    out: dict[str, float] = {}
    if constraints.perplexity is not None:
        if perplexity_ratio is None or not math.isfinite(perplexity_ratio):
            out["perplexity_ratio"] = 1e6  # an exploded perplexity is as infeasible as it gets
        else:
            out["perplexity_ratio"] = perplexity_ratio - constraints.perplexity.max_ratio
    if constraints.attention is not None:
        att = stats.attention_mean
        out["attention_low"] = constraints.attention.low - att
        out["attention_high"] = att - constraints.attention.high
    if constraints.min_edited_share is not None:
        # No row examined (both loops off, or every prompt too short for SRA) edits nothing.
        share = stats.edited_share if stats.edited_share is not None else 0.0
        out["edited_share"] = constraints.min_edited_share - share
    return out


def is_feasible(constraints: dict[str, float]) -> bool:
    return all(v <= 0 for v in constraints.values())


def objective_label(spec: StudyFile) -> str:
    names = "+".join(t.name for t in spec.tasks)
    return f"{names} {'score - baseline' if spec.objective.target == 'delta' else 'score'}"
