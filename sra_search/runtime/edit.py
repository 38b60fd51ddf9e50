"""The spec's edit of attention rows ("The edit of one row"), vectorised over heads and rows."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class RowEdit:
    """Result of :func:`edit_rows`: new weights plus what the statistics need."""

    weights: torch.Tensor  # same shape as the input; rows failing the gem test are unchanged
    edited: torch.Tensor  # bool [..., rows]: the gem test passed
    removed: torch.Tensor  # float32 [..., rows]: removed mass r (meaningful where edited)
    accumulated: torch.Tensor  # float32 [..., rows]: 1 + (s - 1) * r (meaningful where edited)

    @property
    def changed(self) -> torch.Tensor:
        """Rows whose weights differ from the input: edited and something was eliminated."""
        return self.edited & (self.removed > 0)


def edit_rows(
    weights: torch.Tensor,
    target_start: int,
    target_end: int,
    theta: float,
    scale: float,
    gem_share: float,
    *,
    visible: torch.Tensor | None = None,
    in_place: bool = False,
) -> RowEdit:
    """Apply elimination and scaled redistribution to post-softmax rows.

    ``weights`` is float32 ``[..., rows, keys]``, each row a causal softmax row (masked keys are 0).
    ``[target_start, target_end)`` indexes the key axis. Steps 1-6 of the spec, in order.

    ``visible`` (bool, broadcastable to ``[..., rows, target_len]``; ``None`` = all) says which
    target keys each row's own mask lets it see (spec, "Sliding-window layers"). It is passed
    explicitly because a visible key's weight can underflow to exactly 0 just like a hidden one's.
    Hidden target keys get share 0 and never receive weight; a row whose whole target is hidden
    fails the gem test.

    ``in_place=True`` (the fast path) edits ``weights`` itself and *every* row of it, so rows
    failing the gem test are then not meaningful: the caller must keep those rows' own output
    (``edited`` says which). It saves two full copies of the rows.
    """
    if weights.dtype != torch.float32:
        raise TypeError("edit_rows works on float32 weights; upcast first")
    target = weights[..., target_start:target_end]
    if visible is not None:
        visible = visible.to(device=weights.device, dtype=torch.bool).expand_as(target)
    # 1. Gem test: a row is edited only if some visible target weight survives elimination.
    #    (A hidden key's weight is 0, so the `visible` term only states the rule.)
    survives = target > theta
    edited = (survives if visible is None else survives & visible).any(dim=-1)
    if in_place:
        # 2-3 in three passes and no boolean mask of the rows' size (a mask, a `where` and a
        # `masked_fill_` were the costly passes of the edit on CPU). `threshold` zeroes exactly the
        # entries <= theta; the removed mass is the row sum's drop, exactly 0 when nothing was
        # eliminated (the same sum of the same numbers), equal to the eliminated entries' sum
        # up to rounding otherwise.
        before = weights.sum(dim=-1)
        new = torch.nn.functional.threshold(weights, theta, 0.0, inplace=True)
        removed = (before - new.sum(dim=-1)).clamp_min_(0.0)
        _redistribute(new, removed, target_start, target_end, scale, gem_share, visible)  # 4-5.
    else:
        # 2. Elimination over the whole row (a new tensor: `weights` stays as it was).
        kept = torch.where(weights > theta, weights, torch.zeros((), dtype=weights.dtype, device=weights.device))
        # 3. Removed mass r = 1 - sum(E). Summed from the eliminated entries, which is the same
        #    number for a softmax row but exactly 0 when nothing is eliminated (no float noise).
        removed = (weights - kept).sum(dim=-1)
        # 4-5. Shares on the target and the scaled redistribution.
        _redistribute(kept, removed, target_start, target_end, scale, gem_share, visible)
        new = torch.where(edited.unsqueeze(-1), kept, weights)
    # 6. Accumulated attention (the row sum after the edit).
    accumulated = 1.0 + (scale - 1.0) * removed
    return RowEdit(weights=new, edited=edited, removed=removed, accumulated=accumulated)


def _redistribute(
    kept: torch.Tensor,
    removed: torch.Tensor,
    start: int,
    end: int,
    scale: float,
    gem_share: float,
    visible: torch.Tensor | None,
) -> None:
    """Steps 4-5 on eliminated rows ``kept``, in place: add ``s * r`` over the target keys in
    proportion to their shares (1 for a surviving entry, ``gem_share`` for an eliminated visible
    one, 0 for a hidden one)."""
    kept_target = kept[..., start:end]
    shares = torch.where(kept_target > 0, 1.0, gem_share).to(kept.dtype)
    if visible is not None:
        shares = shares.masked_fill_(~visible, 0.0)
    # A row with no visible target has total 0; it fails the gem test and is discarded by the
    # caller, but must not fill the buffer with NaN (in_place rows are multiplied by V first).
    total = shares.sum(dim=-1, keepdim=True)
    total = torch.where(total > 0, total, 1.0)
    kept_target += scale * removed.unsqueeze(-1) * shares / total
