"""Heat map of one layer's attention before and after SRA, with the edited blocks outlined."""

from __future__ import annotations

from pathlib import Path

import torch

from sra_search.config import SRAConfig
from sra_search.runtime.capture import capture_attention

LOOP_COLOURS = {"inter": "#00e5ff", "outer": "#ff3d00"}


def attention_heatmap(model, tokenizer, prompt: str, config: SRAConfig, layer: int, out: Path, head: int | None = None) -> Path:
    """Write a PNG: mean (or one head's) attention of ``layer`` before and after SRA, log colour
    scale, rows = queries, columns = keys; edited rows and their target keys outlined per loop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(model.device)
    cap = capture_attention(model, config, ids, [layer])[layer]
    n = ids.shape[1]
    pick = (lambda w: w.mean(0)) if head is None else (lambda w: w[head])
    before, after = pick(cap["before"]), pick(cap["after"])
    floor = 1e-5
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.2), constrained_layout=True)
    vmax = float(max(before.max(), after.max()))
    for ax, w, title in ((axes[0], before, "before SRA"), (axes[1], after, "after SRA")):
        im = ax.imshow(torch.clamp(w, min=floor).numpy(), norm=LogNorm(vmin=floor, vmax=vmax), cmap="magma",
                       interpolation="nearest", aspect="auto")  # fmt: skip
        ax.set_title(f"layer {layer}, {'mean over heads' if head is None else f'head {head}'}: {title}")
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
        for e in cap["edits"]:
            colour = LOOP_COLOURS[e.loop]
            # The block of edited weights: query rows x target keys.
            ax.add_patch(Rectangle((e.target_start - 0.5, e.row_start - 0.5), e.target_end - e.target_start,
                                   e.row_end - e.row_start, fill=False, lw=1.6, ec=colour, label=f"{e.loop} loop"))  # fmt: skip
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
    handles = {p.get_label(): p for p in axes[1].patches}
    if handles:
        axes[1].legend(handles.values(), handles.keys(), loc="upper right", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight (log)")
    fig.suptitle(f"{n}-token prompt, {config.short()}", fontsize=10)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
