"""One re-score path: a config next to the no-SRA baseline on the same cases, and its checks.

:func:`compare` holds every rule a comparison applies (the sign of a gain, the minimum gain, the
accumulated-attention band, the edited share, the perplexity bound). The search driver's
holdout, ``export`` and ``regress`` all end in it; :func:`rescore` is the in-process way to get
there (evaluate both sides, then compare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from sra_search.runtime.stats import SRASummary
from sra_search.values import json_safe

from sra_search.statistics.gain import gain, gain_counts
from objectives.outcomes import Outcomes

__all__ = [
    "Checks", "Comparison", "PerplexityText", "attention_for_band", "compare", "gain", "gain_counts",
    "perplexity_ratio", "rescore",
]  # fmt: skip


def perplexity_ratio(sra_perplexity: float, baseline_perplexity: float) -> float:
    """SRA's perplexity over the baseline's (``inf`` when the baseline's is zero)."""
    return sra_perplexity / baseline_perplexity if baseline_perplexity else math.inf


def attention_for_band(stats: SRASummary | None) -> float:
    """Mean accumulated attention of the edited rows; 1.0 when nothing was edited (rows sum to 1)."""
    if stats is None or stats.accumulated_attention_mean is None:
        return 1.0
    return stats.accumulated_attention_mean


@dataclass(frozen=True)
class Checks:
    """What a config must keep, next to the baseline, for its gain to count."""

    min_gain: float = 0.0
    attention_band: tuple[float, float] | None = None
    max_perplexity_ratio: float | None = None
    min_edited_share: float | None = None


@dataclass(frozen=True)
class PerplexityText:
    """The text the perplexity bound is measured on (a ``perplexity`` task's cases)."""

    params: dict[str, Any]
    split: str = "holdout"
    n_cases: int | None = None
    task: str = "perplexity"


@dataclass
class Comparison:
    """A config against the baseline on the same cases: scores, the gain, each check's failure."""

    task: str
    split: str
    offset: int
    higher_is_better: bool
    score: float
    baseline_score: float
    delta: float
    """SRA's score minus the baseline's (raw; for perplexity-like metrics negative is better)."""
    gain: float
    """``delta`` oriented so that positive is better."""
    case_ids: tuple[str, ...]
    case_scores: tuple[float, ...]
    baseline_case_scores: tuple[float, ...]
    prompt_tokens: dict[str, Any]
    stats: SRASummary | None = None
    perplexity_ratio: float | None = None
    eval_s: float = 0.0
    """Evaluation time behind the comparison (both sides and the perplexity text)."""
    failures: dict[str, str] = field(default_factory=dict)
    """Check name (``gain``, ``attention``, ``edited_share``, ``perplexity``) -> why it failed."""

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def n_cases(self) -> int:
        return len(self.case_scores)

    @property
    def edited_share(self) -> float | None:
        return self.stats.edited_share if self.stats else None

    def evidence(self, *, confidence: float = 0.95, seed: int = 0):
        """The paired test of the config against the baseline on these cases
        (:func:`sra_search.statistics.paired.paired_test`, one-sided: is the config better?)."""
        from sra_search.statistics.paired import paired_test  # scipy/statsmodels: the [stats] extra

        return paired_test(self.case_scores, self.baseline_case_scores, higher_is_better=self.higher_is_better,
                           confidence=confidence, seed=seed)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "stats"}
        d["stats"] = self.stats.to_dict() if self.stats else None
        d["n_cases"] = self.n_cases
        d["ok"] = self.ok
        return json_safe(d)


def compare(
    sra: Outcomes, baseline: Outcomes, checks: Checks = Checks(), *, perplexity_ratio: float | None = None,
    require_gain: bool = True,
) -> Comparison:
    """Pair ``sra`` with ``baseline`` (same task, split and cases) and apply ``checks``.

    ``perplexity_ratio`` is measured by the caller on the perplexity text; with
    ``checks.max_perplexity_ratio`` set, a missing ratio fails the check. ``require_gain=False``
    records the gain without making it a check (presets that do not claim one).
    """
    if sra.case_ids != baseline.case_ids[: len(sra.case_ids)] or len(baseline.case_ids) < len(sra.case_ids):
        raise ValueError(f"{sra.task}/{sra.split}: the baseline was measured on other cases than the config")
    n = len(sra.case_scores)
    base_cases = baseline.case_scores[:n]
    base_score = baseline.score if len(baseline.case_scores) == n else sum(base_cases) / n
    hib = sra.higher_is_better
    g = gain(sra.score, base_score, hib)
    failures: dict[str, str] = {}
    if require_gain and not gain_counts(g, checks.min_gain):
        failures["gain"] = (
            f"{sra.split} gain {g:+.4f} ({sra.score:.4f} vs baseline {base_score:.4f}) is not above the "
            f"minimum {checks.min_gain}"
        )
    stats = sra.stats
    if checks.attention_band is not None:
        low, high = checks.attention_band
        acc = stats.accumulated_attention_mean if stats else None
        if acc is None or not low <= acc <= high:
            failures["attention"] = f"{sra.split} accumulated attention mean {acc} outside [{low}, {high}]"
    if checks.min_edited_share is not None:
        share = (stats.edited_share if stats else None) or 0.0
        if share < checks.min_edited_share:
            failures["edited_share"] = f"{sra.split} edited share {share:.4f} below {checks.min_edited_share}"
    if checks.max_perplexity_ratio is not None and not (
        perplexity_ratio is not None and perplexity_ratio <= checks.max_perplexity_ratio
    ):
        shown = "None" if perplexity_ratio is None else f"{perplexity_ratio:.4f}"
        failures["perplexity"] = f"{sra.split} perplexity ratio {shown} above {checks.max_perplexity_ratio}"
    return Comparison(
        task=sra.task, split=sra.split, offset=sra.offset, higher_is_better=hib, score=sra.score,
        baseline_score=base_score, delta=sra.score - base_score, gain=g, case_ids=sra.case_ids,
        case_scores=sra.case_scores, baseline_case_scores=tuple(base_cases), prompt_tokens=sra.prompt_range(),
        stats=stats, perplexity_ratio=perplexity_ratio, eval_s=sra.eval_s + baseline.eval_s, failures=failures,
    )  # fmt: skip


def rescore(
    model, tokenizer, task: str, task_params: dict[str, Any], config, *, split: str = "holdout", n_cases: int,
    offset: int = 0, lengths: list[int] | None = None, checks: Checks = Checks(),
    perplexity: PerplexityText | None = None, baseline: Outcomes | None = None, require_gain: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Evaluate ``config`` and the baseline (unless given) on the same cases in this process,
    measure the perplexity ratio on ``perplexity``'s text, and :func:`compare`.

    ``lengths``: pool ``n_cases`` cases at each of these task ``length`` values (a length bucket
    is checked over its range, not at one length); ``None`` uses ``task_params`` as they are.
    """
    from objectives.evaluate import evaluate

    say = progress or (lambda _m: None)
    variants = [dict(task_params)] if not lengths else [{**task_params, "length": int(n)} for n in lengths]

    def measure(cfg, label: str) -> Outcomes:
        parts = []
        for params in variants:
            where = f" at length {params['length']}" if lengths else ""
            say(f"{task}: {label} on {n_cases} {split} cases{where}")
            result = evaluate(model, tokenizer, task, cfg, task_params=params, split=split, n_cases=n_cases, offset=offset)
            parts.append(Outcomes.of(result))
        return Outcomes.merge(parts)

    if baseline is None:
        baseline = measure(None, "baseline")
    with_sra = measure(config, "SRA")
    ratio = None
    ppl_s = 0.0
    if perplexity is not None:
        say(f"{task}: perplexity on the {perplexity.split} text")
        kw: dict[str, Any] = dict(task_params=perplexity.params, split=perplexity.split, n_cases=perplexity.n_cases)
        p_base = evaluate(model, tokenizer, perplexity.task, None, **kw)
        p_sra = evaluate(model, tokenizer, perplexity.task, config, **kw)
        ratio = perplexity_ratio(p_sra.score, p_base.score)
        ppl_s = p_base.wall_time_s + p_sra.wall_time_s
    out = compare(with_sra, baseline, checks, perplexity_ratio=ratio, require_gain=require_gain)
    out.eval_s += ppl_s
    return out
