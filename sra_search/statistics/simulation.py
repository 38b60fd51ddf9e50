"""Calibration of the export gate by simulation: how often it publishes, with and without a real gain.

The gate is the one :meth:`sra_search.statistics.paired.PairedEvidence.shown` applies: a one-sided exact
McNemar test at ``alpha`` and the paired-bootstrap lower bound ``>= min_gain``, run through the real
:func:`sra_search.statistics.paired.paired_test`. Each simulated study draws ``n_cases`` paired 0/1 outcomes:

- the baseline is right with probability ``baseline_rate``;
- SRA gives the baseline's answer except on a random ``redraw`` share of the cases, where its
  answer is drawn afresh, right with probability ``baseline_rate + effect / redraw``. SRA's accuracy
  is then ``baseline_rate + effect`` and the arms are positively correlated; ``redraw = 1`` makes them
  independent, the most discordant (hence the hardest for a paired test) of these designs.

The gate's outcome depends on a study only through (b, c, n), so studies are drawn vectorised with
numpy and :func:`paired_test` runs once per distinct (b, c) (only where its exact p, recomputed first
with the same ``binomtest``, can pass). ``python -m sra_search.statistics.simulation``
prints the rates and the smallest held-out size with the wanted power.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from sra_search.statistics.paired import paired_test
from sra_search.statistics.power import cases_needed
from sra_search.values import json_safe

DEFAULT_STUDIES = 1000
RECOMMENDED_HELD_OUT = 150
"""Held-out cases at which the gate shows +0.15 over 0.6 in >= 80% of studies even with independent arms."""


@dataclass(frozen=True)
class GateRate:
    """How often the gate published among ``n_studies`` simulated studies of ``n_cases`` each."""

    n_cases: int
    n_studies: int
    baseline_rate: float
    effect: float
    redraw: float
    alpha: float
    min_gain: float
    seed: int
    published: int
    rate: float
    mean_discordant: float
    """Average number of discordant pairs per study."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return json_safe(asdict(self))

    def __str__(self) -> str:
        return (
            f"n = {self.n_cases:4d}, effect {self.effect:+.2f} at {self.baseline_rate:.2f}, redraw {self.redraw:.2f}: "
            f"published {self.published}/{self.n_studies} = {self.rate:.3f}"
        )


def simulate_counts(
    n_cases: int,
    *,
    baseline_rate: float = 0.6,
    effect: float = 0.0,
    redraw: float = 0.5,
    n_studies: int = DEFAULT_STUDIES,
    seed: int = 0,
) -> np.ndarray:
    """``(n_studies, 2)`` counts (b = SRA-only right, c = baseline-only right) of simulated studies."""
    fresh_rate = baseline_rate + (effect / redraw if redraw > 0 else 0.0)
    if not (0.0 <= baseline_rate <= 1.0 and 0.0 < redraw <= 1.0 and 0.0 <= fresh_rate <= 1.0):
        raise ValueError(
            f"no such design: baseline {baseline_rate}, effect {effect}, redraw {redraw} "
            f"(needs 0 < redraw <= 1 and baseline + effect / redraw in [0, 1])"
        )
    rng = np.random.default_rng(seed)
    shape = (n_studies, n_cases)
    base = rng.random(shape) < baseline_rate
    redrawn = rng.random(shape) < redraw
    fresh = rng.random(shape) < fresh_rate
    sra = np.where(redrawn, fresh, base)
    return np.stack([(sra & ~base).sum(axis=1), (~sra & base).sum(axis=1)], axis=1)


def gate_rate(
    n_cases: int,
    *,
    baseline_rate: float = 0.6,
    effect: float = 0.0,
    redraw: float = 0.5,
    n_studies: int = DEFAULT_STUDIES,
    alpha: float = 0.05,
    min_gain: float = 0.0,
    seed: int = 0,
) -> GateRate:
    """Simulate ``n_studies`` studies and count how many the export gate publishes."""
    counts = simulate_counts(
        n_cases, baseline_rate=baseline_rate, effect=effect, redraw=redraw, n_studies=n_studies, seed=seed
    )
    published = 0
    pairs, multiplicity = np.unique(counts, axis=0, return_counts=True)
    for (b, c), times in zip(pairs.tolist(), multiplicity.tolist()):
        if _gate(b, c, n_cases, alpha=alpha, min_gain=min_gain):
            published += times
    return GateRate(
        n_cases=n_cases, n_studies=n_studies, baseline_rate=baseline_rate, effect=effect, redraw=redraw,
        alpha=alpha, min_gain=min_gain, seed=seed, published=published, rate=published / n_studies,
        mean_discordant=float(counts.sum(axis=1).mean()),
    )  # fmt: skip


def _gate(b: int, c: int, n: int, *, alpha: float, min_gain: float) -> bool:
    """The export gate on a study with b SRA-only and c baseline-only right answers out of n."""
    if min_gain >= 0 and (b <= c or stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue > alpha):
        return False  # paired_test's own p (same binomtest) fails the gate: skip its bootstrap
    rest = n - b - c
    sra = [1] * b + [0] * c + [1] * rest
    base = [0] * b + [1] * c + [1] * rest
    return paired_test(sra, base, alternative="greater", confidence=1 - alpha).shown(alpha, min_gain)


def design_discordance(baseline_rate: float, effect: float, redraw: float) -> float:
    """Expected discordant share of the simulated design: ``redraw * (p (1 - x) + (1 - p) x)``."""
    fresh = baseline_rate + effect / redraw
    return redraw * (baseline_rate * (1 - fresh) + (1 - baseline_rate) * fresh)


def smallest_n(
    target: float = 0.8,
    *,
    low: int | None = None,
    high: int = 1000,
    step: int = 5,
    **kwargs: Any,
) -> GateRate | None:
    """The first ``n_cases`` (from ``low`` in steps of ``step``) at which the gate publishes >= ``target``.

    A linear scan, since a discrete test's power is not monotone in n. ``low`` defaults to 80% of
    :func:`sra_search.statistics.power.cases_needed` for the design. ``kwargs`` go to :func:`gate_rate`.
    """
    if low is None:
        base, effect, redraw = kwargs.get("baseline_rate", 0.6), kwargs.get("effect", 0.0), kwargs.get("redraw", 0.5)
        predicted = cases_needed(
            effect, base, alpha=kwargs.get("alpha", 0.05), power=target,
            discordance=design_discordance(base, effect, redraw) if effect > 0 else None,
        )  # fmt: skip
        low = max(5, int(0.8 * predicted)) if predicted <= high else high
    for n in range(low, high + 1, step):
        rate = gate_rate(n, **kwargs)
        if rate.rate >= target:
            return rate
    return None


def main(argv: list[str] | None = None) -> int:
    """Print the gate's publication rate without an effect and with one, and the held-out size needed."""
    parser = argparse.ArgumentParser(prog="python -m sra_search.statistics.simulation", description=__doc__.split("\n")[0])
    parser.add_argument("--n-cases", type=int, default=None, help="held-out cases per study (default: search)")
    parser.add_argument("--baseline", type=float, default=0.6)
    parser.add_argument("--effect", type=float, default=0.15)
    parser.add_argument("--studies", type=int, default=DEFAULT_STUDIES)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--min-gain", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=int, default=5, help="step of the held-out size scan")
    args = parser.parse_args(argv)
    common = dict(n_studies=args.studies, alpha=args.alpha, min_gain=args.min_gain, seed=args.seed)
    design = dict(baseline_rate=args.baseline, effect=args.effect)
    for redraw in (0.5, 1.0):
        needed = smallest_n(redraw=redraw, step=args.step, **design, **common)
        predicted = cases_needed(
            args.effect, args.baseline, discordance=design_discordance(args.baseline, args.effect, redraw)
        )
        print(f"smallest n with power >= 0.8: {needed if needed else 'none up to 1000'} (predicted {predicted})")
    sizes = [args.n_cases] if args.n_cases else [50, 100, 150, 200]
    for n in sizes:
        for redraw in (0.2, 0.5, 1.0):
            print("no effect:  ", gate_rate(n, baseline_rate=args.baseline, redraw=redraw, **common))
        for redraw in (0.5, 1.0):
            if args.baseline + args.effect / redraw <= 1:
                print("with effect:", gate_rate(n, redraw=redraw, **design, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

