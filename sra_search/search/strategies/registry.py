"""The registered search strategies, and the one a study file asks for.

Adding a strategy = one module with a :class:`~sra_search.search.strategies.base.SearchStrategy`
subclass and its line in :data:`STRATEGIES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna

from sra_search.search.strategies.base import SearchStrategy
from sra_search.search.strategies.fixed_chunks import FixedChunks
from sra_search.search.strategies.racing import Racing

if TYPE_CHECKING:
    from sra_search.search.baselines import Baselines
    from sra_search.search.studyfile.schema import StudyFile

STRATEGIES: tuple[type[SearchStrategy], ...] = (FixedChunks, Racing)


def strategy_class(kind: str) -> type[SearchStrategy]:
    """The strategy serving ``[pruner] kind``."""
    for cls in STRATEGIES:
        if kind in cls.kinds:
            return cls
    known = sorted(k for cls in STRATEGIES for k in cls.kinds)
    raise ValueError(f"pruner.kind = {kind!r}: no search strategy serves it (known: {', '.join(known)})")


def strategy_for(spec: StudyFile, keys: Baselines) -> SearchStrategy:
    """The study's strategy, bound to its tasks' baseline keys."""
    return strategy_class(spec.pruner.kind)(spec, keys)


def make_pruner(spec: StudyFile) -> optuna.pruners.BasePruner:
    """The study's pruner; none for multi-objective studies (Optuna cannot prune those)."""
    if spec.multi_objective:
        return optuna.pruners.NopPruner()
    return strategy_class(spec.pruner.kind).make_pruner(spec)
