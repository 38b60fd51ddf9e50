"""Reference implementation: the whole attention matrix in float32, edited as the spec says.

Written to be read next to ``docs/sra-spec.md``, not to be fast: memory grows with n x n
per head. The fast path (``fast.py``) must give the same logits; the tests check it.
"""

from __future__ import annotations

import torch

from sra_search.runtime.edit import edit_rows
from sra_search.runtime.masks import allowed_keys
from sra_search.runtime.session import Session


def reference_attention(
    session: Session,
    module: torch.nn.Module,
    query: torch.Tensor,  # [batch, heads, q_len, head_dim]
    key: torch.Tensor,  # [batch, kv_heads, k_len, head_dim]
    value: torch.Tensor,  # [batch, kv_heads, k_len, head_dim]
    attention_mask: torch.Tensor | None,
    scaling: float,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """Returns the attention output ``[batch, q_len, heads, head_dim]`` in the query's dtype.

    ``sliding_window`` is the layer's window (None: full attention); it matters only when the
    mask does not already carry it (see ``masks.allowed_keys``)."""
    batch, heads, q_len, _ = query.shape
    k_len = key.shape[2]
    # Grouped-query attention: each key/value head serves `groups` query heads, as in the model.
    groups = heads // key.shape[1]
    k = key.float().repeat_interleave(groups, dim=1)
    v = value.float().repeat_interleave(groups, dim=1)

    # Softmax(Q K^T * scaling) with the model's mask; causality (and the window) rebuilt when the
    # mask is None.
    scores = torch.matmul(query.float(), k.transpose(-1, -2)) * scaling
    allowed = allowed_keys(attention_mask, q_len, k_len, device=query.device, sliding_window=sliding_window)
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    # Padding query rows may see no key at all; their output is never used.
    weights = torch.nan_to_num(weights, nan=0.0)

    edits = session.plan(module.layer_idx, query, key, attention_mask)
    capture = module.layer_idx in session.capture_layers
    if capture:
        session.captured[module.layer_idx] = {"before": weights[0].detach().cpu().clone(), "edits": edits}
    # The inter loop's rows come before the outer loop's in `plan`, and the rows are disjoint.
    for e in edits:
        rows = weights[e.sequence, :, e.row_start : e.row_end, :]
        # The target keys each row may see: a key its mask hides never receives weight.
        mask = allowed[e.sequence if allowed.shape[0] > 1 else 0]  # [1, q_len, k_len]
        visible = mask[:, e.row_start : e.row_end, e.target_start : e.target_end]
        res = edit_rows(rows, e.target_start, e.target_end, e.theta, e.scale, e.gem_share, visible=visible)
        weights[e.sequence, :, e.row_start : e.row_end, :] = res.weights
        session.stats.record(module.layer_idx, e.loop, res.edited, res.removed, res.accumulated)

    if capture:
        session.captured[module.layer_idx]["after"] = weights[0].detach().cpu().clone()
    out = torch.matmul(weights, v)  # [batch, heads, q_len, head_dim]
    return out.transpose(1, 2).contiguous().to(query.dtype)
