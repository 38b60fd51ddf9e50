"""Fast path: SDPA computes every row; only the rows SRA may edit are recomputed.

For each planned loop edit, the editable rows are recomputed explicitly in float32 in
chunks, edited, multiplied by V and written over SDPA's output for the rows that passed
the gem test. Extra memory is ``heads x chunk_rows x n`` floats, never ``n x n``.
"""

from __future__ import annotations

from typing import Callable

import torch

from sra_search.runtime.edit import edit_rows
from sra_search.runtime.masks import allowed_keys
from sra_search.runtime.session import PlannedEdit, Session

# Upper bound on the float32 working set of one recomputed chunk (scores + weights + edit).
CHUNK_BYTES = 64 * 2**20


def _chunk_rows(heads: int, n_keys: int) -> int:
    return max(1, CHUNK_BYTES // (4 * 4 * heads * max(n_keys, 1)))


def _recompute(
    session: Session,
    layer: int,
    e: PlannedEdit,
    out: torch.Tensor,  # [batch, q_len, heads, head_dim], written in place
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    sliding_window: int | None,
) -> None:
    heads, q_len, head_dim = query.shape[1], query.shape[2], query.shape[3]
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    step = _chunk_rows(heads, e.row_end)
    for r0 in range(e.row_start, e.row_end, step):
        r1 = min(e.row_end, r0 + step)
        rows = r1 - r0
        # Causal: rows < r1 never see keys >= r1.
        q = query[e.sequence, :, r0:r1].float().reshape(kv_heads, groups, rows, head_dim)
        k = key[e.sequence, :, :r1].float().unsqueeze(1)  # [kv_heads, 1, r1, d]
        v = value[e.sequence, :, :r1].float().unsqueeze(1)
        scores = torch.matmul(q, k.transpose(-1, -2)).reshape(heads, rows, r1).mul_(scaling)
        # Over the whole key range: a sliding window (in the mask or rebuilt from `sliding_window`)
        # hides keys far from the diagonal, not just the future ones.
        allowed = allowed_keys(
            attention_mask, q_len, q_len, slice(r0, r1), slice(0, r1), query.device, sliding_window
        )
        mask = allowed[e.sequence if allowed.shape[0] > 1 else 0, 0]  # [rows, r1]
        scores.masked_fill_(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        # In place: rows failing the gem test are discarded below (they keep SDPA's output).
        visible = mask[:, e.target_start : e.target_end]  # targets lie before the rows (geometry)
        res = edit_rows(
            weights, e.target_start, e.target_end, e.theta, e.scale, e.gem_share, visible=visible, in_place=True
        )
        new = torch.matmul(res.weights.view(kv_heads, groups, rows, r1), v).reshape(heads, rows, head_dim)
        # Rows the edit leaves as they were (gem test failed, or nothing eliminated) keep
        # SDPA's output bit for bit.
        edited = res.changed.transpose(0, 1).unsqueeze(-1)  # [rows, heads, 1]
        block = out[e.sequence, r0:r1]
        out[e.sequence, r0:r1] = torch.where(edited, new.transpose(0, 1).to(out.dtype), block)
        session.stats.record(layer, e.loop, res.edited, res.removed, res.accumulated)


def fast_attention(
    session: Session,
    base: Callable,
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    **kwargs,
) -> torch.Tensor:
    """Returns the attention output ``[batch, q_len, heads, head_dim]``.

    ``kwargs`` go to ``base`` unchanged; their ``sliding_window`` also bounds the recomputed rows."""
    window = kwargs.get("sliding_window")
    if window is not None and key.shape[2] >= window and (attention_mask is None or attention_mask.dim() == 2):
        # transformers never drops the mask of a window that hides keys, but if a caller does, SDPA
        # (which ignores `sliding_window`) must not see more keys than the recomputed rows.
        attention_mask = allowed_keys(
            attention_mask, query.shape[2], key.shape[2], device=query.device, sliding_window=window
        )
    out, _ = base(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    edits = session.plan(module.layer_idx, query, key, attention_mask)
    if not edits:
        return out
    if torch.is_grad_enabled():
        out = out.clone()  # SDPA's output may be needed by autograd; do not overwrite it in place
    for e in edits:
        _recompute(session, module.layer_idx, e, out, query, key, value, attention_mask, scaling, window)
    return out
