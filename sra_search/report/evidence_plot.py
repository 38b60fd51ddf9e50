"""How the evidence for a config grew: its paired delta against the baseline and the interval
around it, as cases accumulate (in the order they were evaluated)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sra_search.statistics.paired import paired_test


def evidence_curve(
    sra_scores: Sequence[float], baseline_scores: Sequence[float], *, higher_is_better: bool = True,
    alpha: float = 0.05, min_cases: int = 4, points: int = 24,
) -> list[dict]:
    """The paired test on the first k cases, for about ``points`` values of k from ``min_cases`` to all."""
    n = len(sra_scores)
    if n < min_cases:
        return []
    step = max(1, (n - min_cases) // max(1, points - 1))
    ks = sorted(set(range(min_cases, n + 1, step)) | {n})
    out = []
    for k in ks:
        ev = paired_test(sra_scores[:k], baseline_scores[:k], higher_is_better=higher_is_better, n_resamples=1999)
        out.append({"n": k, "delta": ev.delta, "ci_low": ev.ci_low, "ci_high": ev.ci_high, "p_value": ev.p_value,
                    "shown": ev.shown(alpha)})  # fmt: skip
    return out


def evidence_plot(
    sra_scores: Sequence[float], baseline_scores: Sequence[float], path: Path, *, title: str,
    higher_is_better: bool = True, alpha: float = 0.05,
) -> Path | None:
    """Write the curve as a PNG; ``None`` (nothing written) with fewer than 4 paired cases."""
    curve = evidence_curve(sra_scores, baseline_scores, higher_is_better=higher_is_better, alpha=alpha)
    if not curve:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [c["n"] for c in curve]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(n, [c["ci_low"] for c in curve], [c["ci_high"] for c in curve], alpha=0.25, color="#1f77b4",
                    label="interval (BCa bootstrap; lower bound one-sided 95%)")  # fmt: skip
    ax.plot(n, [c["delta"] for c in curve], marker="o", color="#1f77b4", label="paired delta (SRA - baseline)")
    shown = [c for c in curve if c["shown"]]
    if shown:
        ax.scatter([c["n"] for c in shown], [c["delta"] for c in shown], color="#2ca02c", zorder=3,
                   label=f"gain shown (p <= {alpha:g})")  # fmt: skip
    ax.axhline(0.0, color="black", linewidth=0.8, linestyle=":")
    last = curve[-1]
    ax.set_title(f"{title}\nn = {last['n']}: delta {last['delta']:+.3f}, p = {last['p_value']:.3g}", fontsize=10)
    ax.set_xlabel("cases (in evaluation order)")
    ax.set_ylabel("gain per case" if higher_is_better else "gain per case (lower is better, sign flipped)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
