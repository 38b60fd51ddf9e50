"""The one rule for the sign of a gain, shared by comparisons, statistics and the search."""

from __future__ import annotations


def gain(score: float, baseline: float, higher_is_better: bool) -> float:
    """How much better ``score`` is than ``baseline``: positive is better, whatever the metric's sense."""
    return score - baseline if higher_is_better else baseline - score


def gain_counts(value: float, min_gain: float) -> bool:
    """A gain counts when it is above zero, or at least ``min_gain`` when one is set."""
    return value > 0 if min_gain == 0 else value >= min_gain
