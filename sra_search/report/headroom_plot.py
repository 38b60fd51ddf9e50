"""The headroom map as a picture: NIAH-style heat maps of accuracy over length (x) and depth (y).

Without a config one panel (the baseline); with one, three: baseline, SRA, and their paired
difference on a diverging scale centred on 0, each cell annotated with its value (the
difference with ``*`` where its two-sided p is below 0.05, uncorrected).
"""

from __future__ import annotations

from pathlib import Path

from objectives.headroom import HeadroomMap


def plot_map(hm: HeadroomMap, path: Path) -> Path:
    """Write the map's PNG to ``path`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows, cols = len(hm.depths), len(hm.lengths)

    def grid(attr: str) -> np.ndarray:
        g = np.full((rows, cols), np.nan)
        for c in hm.cells:
            value = getattr(c, attr)
            g[hm.depths.index(c.depth), hm.lengths.index(c.length)] = np.nan if value is None else value
        return g

    panels = [("baseline", grid("baseline"), "RdYlGn", 0.0, 1.0)]
    if hm.config is not None:
        panels.append(("SRA", grid("sra"), "RdYlGn", 0.0, 1.0))
        top = max(0.1, float(np.nanmax(np.abs(grid("delta")))) if np.isfinite(grid("delta")).any() else 0.1)
        panels.append(("SRA - baseline (paired)", grid("delta"), "RdBu", -top, top))
    pvals = grid("p_value")
    fig, axes = plt.subplots(1, len(panels), figsize=(1.2 + 1.1 * cols * len(panels), 1.4 + 0.55 * rows), squeeze=False)
    for ax, (title, g, cmap, lo, hi) in zip(axes[0], panels):
        im = ax.imshow(g, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", origin="upper")
        for i in range(rows):
            for j in range(cols):
                if np.isnan(g[i, j]):
                    continue
                text = f"{g[i, j]:+.2f}" if title.startswith("SRA -") else f"{g[i, j]:.2f}"
                if title.startswith("SRA -") and np.isfinite(pvals[i, j]) and pvals[i, j] < 0.05:
                    text += "*"
                ax.text(j, i, text, ha="center", va="center", fontsize=8)
        ax.set_xticks(range(cols), [str(n) for n in hm.lengths], fontsize=8)
        ax.set_yticks(range(rows), [f"{d:g}" for d in hm.depths], fontsize=8)
        ax.set_xlabel("prompt length (tokens)")
        ax.set_ylabel(f"{hm.placement} (0 = start)")
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(f"{hm.model} | {hm.task} | {hm.n_cases} {hm.split} cases per cell", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
