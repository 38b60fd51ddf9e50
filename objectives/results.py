"""Result types of :func:`objectives.evaluate`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sra_search.runtime.stats import SRASummary
from sra_search.values import json_safe


class CaseResult(BaseModel):
    """Score of one case. ``metrics`` may hold ``answer_nll``/``answer_tokens`` and ``ppl_nll``/``ppl_tokens``."""

    id: str
    key: str = ""
    """Stable pairing id ``task:params-hash:split:index`` (:meth:`Task.case_key`)."""
    score: float
    prompt_tokens: int
    prediction: str
    gold: Any
    metrics: dict[str, float] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)


class EvalResult(BaseModel):
    """A task evaluated on one chunk of one split, with or without SRA."""

    task: str
    params: dict[str, Any]
    split: str
    offset: int
    n_cases: int
    main_metric: str
    higher_is_better: bool
    score: float = Field(description="The main metric (accuracy in [0, 1]; perplexity for the perplexity task).")
    metrics: dict[str, float]
    cases: list[CaseResult]
    prompt_tokens: dict[str, float] = Field(description="min / mean / max prompt tokens of the cases.")
    sra: dict[str, Any] | None = Field(None, description="The SRAConfig used, or None for the baseline.")
    sra_stats: SRASummary | None = None
    batch_size: int | None = None
    wall_time_s: float

    def summary(self) -> dict[str, Any]:
        """Everything but the per-case list, JSON-safe."""
        return json_safe(self.model_dump(exclude={"cases"}))

    def to_json_dict(self, cases: bool = True) -> dict[str, Any]:
        return json_safe(self.model_dump(exclude=None if cases else {"cases"}))


class PairResult(BaseModel):
    """Baseline and SRA on the same cases."""

    baseline: EvalResult
    sra: EvalResult

    @property
    def delta(self) -> float:
        """SRA score minus baseline score (for perplexity, negative is better)."""
        return self.sra.score - self.baseline.score

    def changed_cases(self) -> dict[str, int]:
        """Cases SRA fixed and broke (by case score), for exact-match tasks."""
        base = {c.id: c.score for c in self.baseline.cases}
        fixed = sum(1 for c in self.sra.cases if c.score > base.get(c.id, c.score))
        broke = sum(1 for c in self.sra.cases if c.score < base.get(c.id, c.score))
        return {"fixed": fixed, "broke": broke}
