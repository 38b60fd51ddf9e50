"""Per-case outcomes of one evaluation: the compact record workers return and comparisons pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sra_search.runtime.stats import SRASummary

from objectives.results import EvalResult
from objectives.signal import SIGNAL_METRIC


@dataclass(frozen=True)
class Outcomes:
    """Scores of cases ``offset ..`` of one split, case by case, with SRA's statistics (or none).

    Unlike :class:`~objectives.results.EvalResult` it carries no predictions, so it is cheap to
    ship from a Ray worker and to keep per trial.
    """

    task: str
    split: str
    offset: int
    higher_is_better: bool
    score: float
    """The task's main metric over these cases."""
    case_ids: tuple[str, ...]
    """Stable case keys (``task:params-hash:split:index``), the pairing of paired tests."""
    case_scores: tuple[float, ...]
    prompt_tokens: tuple[int, ...]
    stats: SRASummary | None = None
    eval_s: float = 0.0
    case_signals: tuple[float, ...] = ()
    """Each case's gold log-likelihood signal (:mod:`objectives.signal`), when it was asked for; else empty."""

    @property
    def n_cases(self) -> int:
        return len(self.case_scores)

    @classmethod
    def of(cls, result: EvalResult) -> "Outcomes":
        """The outcomes of an :func:`objectives.evaluate` result."""
        return cls(
            task=result.task,
            split=result.split,
            offset=result.offset,
            higher_is_better=result.higher_is_better,
            score=float(result.score),
            case_ids=tuple(c.key for c in result.cases),
            case_scores=tuple(float(c.score) for c in result.cases),
            prompt_tokens=tuple(int(c.prompt_tokens) for c in result.cases),
            stats=result.sra_stats,
            eval_s=float(result.wall_time_s),
            case_signals=tuple(float(c.metrics[SIGNAL_METRIC]) for c in result.cases)
            if result.cases and all(SIGNAL_METRIC in c.metrics for c in result.cases) else (),
        )  # fmt: skip

    @classmethod
    def merge(cls, parts: Iterable["Outcomes"]) -> "Outcomes":
        """Consecutive chunks of one split as one. The merged score is the mean of the case
        scores (the main metric of every chunked task); a single part keeps its own score."""
        parts = list(parts)
        if not parts:
            raise ValueError("no outcomes to merge")
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        scores = tuple(s for p in parts for s in p.case_scores)
        return cls(
            task=first.task,
            split=first.split,
            offset=first.offset,
            higher_is_better=first.higher_is_better,
            score=sum(scores) / len(scores) if scores else float("nan"),
            case_ids=tuple(i for p in parts for i in p.case_ids),
            case_scores=scores,
            prompt_tokens=tuple(t for p in parts for t in p.prompt_tokens),
            stats=SRASummary.merge(p.stats for p in parts) if any(p.stats for p in parts) else None,
            eval_s=sum(p.eval_s for p in parts),
            case_signals=tuple(x for p in parts for x in p.case_signals) if all(p.case_signals for p in parts) else (),
        )

    def prompt_range(self) -> dict[str, Any]:
        """``{min, mean, max}`` prompt tokens of the cases."""
        lens = list(self.prompt_tokens) or [0]
        return {"min": min(lens), "mean": sum(lens) / len(lens), "max": max(lens)}
