"""A race on 0/1 outcomes, simulated: how often a trial is pruned by the sign test
(:mod:`~sra_search.search.strategies.sign_pruner`), and how often the doubling rule of
:class:`~sra_search.search.strategies.racing.Racing` stops it short of ``max_cases``.

The two rules err differently. The sign test spends ``alpha`` over its looks, so a trial as good
as the incumbent is pruned at most ``alpha`` of the time. The doubling rule is not a test: at
each stage's end a trial behind the incumbent by one discordant case stops growing (with
``promote = "above"``, one that is only level stops too), so a trial as good as the incumbent
stops early about as often as a fair walk is below zero (or not above it) at a stage end, and a
better one can still stop on an unlucky start. That is the price of a lower
``initial_cases`` (fewer cases per trial, more good trials stopped on few cases); docs/search.md
gives both rates for the plans the decisions benchmark runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy.stats import binom

from sra_search.search.strategies.racing import keeps_racing
from sra_search.search.strategies.sign_pruner import looks


@dataclass(frozen=True)
class RaceRates:
    """Shares of simulated races."""

    pruned: float
    """Pruned by the sign test (inside a stage)."""
    stopped: float
    """Not pruned, but behind the incumbent at a stage's end before ``max_cases`` (the doubling rule)."""

    @property
    def short(self) -> float:
        """Either: the trial never reached ``max_cases``."""
        return self.pruned + self.stopped


def simulate_race(
    discordance: float, stages: Iterable[int], chunk: int, alpha: float, *, worse_by: float = 0.0,
    promote: str = "level", sims: int = 20_000, seed: int = 0,
) -> RaceRates:
    """Simulate ``sims`` races of one trial against the incumbent over ``stages`` (case counts).

    Each case is discordant with probability ``discordance``; a discordant case goes against the
    trial with probability ``0.5 + worse_by / 2`` (``worse_by = 0``: as good as the incumbent;
    above 0 worse, below 0 better). The sign test is asked after every chunk up to the last
    stage at ``alpha / looks``, and the trial's running mean is compared with the incumbent's at
    each stage's end but the last, as :class:`~sra_search.search.strategies.racing.Racing` does
    (:func:`~sra_search.search.strategies.racing.keeps_racing` under ``promote``).
    """
    stages = sorted(stages)
    top = stages[-1]
    per_look = alpha / looks(top, chunk)
    rng = np.random.default_rng(seed)
    disc = rng.random((sims, top)) < discordance
    against = rng.random((sims, top)) < 0.5 + worse_by / 2
    worse = np.cumsum(disc & against, axis=1)
    better = np.cumsum(disc & ~against, axis=1)
    pruned = np.zeros(sims, dtype=bool)
    stopped = np.zeros(sims, dtype=bool)
    for n in range(chunk, top, chunk):  # never after the chunk that reaches the last stage
        c, b = worse[:, n - 1], better[:, n - 1]
        p = binom.sf(c - 1, b + c, 0.5)
        p[(b + c) == 0] = 1.0
        pruned |= ~stopped & (p <= per_look)
        if n in stages:
            stopped |= ~pruned & ~keeps_racing((b - c) / n, promote)
    return RaceRates(float(pruned.mean()), float(stopped.mean()))


def false_prune_rate(
    discordance: float, stages: Iterable[int], chunk: int, alpha: float, *, worse_by: float = 0.0,
    sims: int = 20_000, seed: int = 0,
) -> float:
    """Share of races in which the sign test prunes the trial: with ``worse_by = 0`` (as good as
    the incumbent) the false-prune rate, above 0 the power. The doubling rule is left out (a
    trial it stops would be pruned no more), so this bounds what the test alone does."""
    stages = sorted(stages)
    return simulate_race(discordance, [stages[-1]], chunk, alpha, worse_by=worse_by, sims=sims, seed=seed).pruned
