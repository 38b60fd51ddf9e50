"""Fast path: SDPA computes every row; only the rows SRA may edit are recomputed.

For each planned loop edit, the editable rows are recomputed explicitly in float32 in
chunks, edited, multiplied by V and written over SDPA's output for the rows that passed
the gem test. Extra memory is ``heads x chunk_rows x keys`` floats, never ``n x n``.

Where the time goes (docs/architecture.md, "Where SRA's prefill time goes"): the recomputed
rows' two matmuls and softmax are the floor; everything else is kept to passes over the rows
that need no boolean masks of their size. A chunk's keys start where its first row's sliding
window starts (keys before it are hidden from every row of the chunk, so leaving them out
changes no weight), and without a padding or window mask only the chunk's own diagonal block
is masked.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import torch
from torch.profiler import record_function

from sra_search.runtime.edit import edit_rows
from sra_search.runtime.masks import allowed_keys, first_key
from sra_search.runtime.session import PlannedEdit, Session

# Upper bound on the float32 working set of one recomputed chunk (scores + weights + edit).
CHUNK_BYTES = 64 * 2**20


PROFILE_SCOPES = False
"""Name the fast path's parts (``sra::rows``, ``sra::edit``, ...) for torch's profiler.
``benchmarks/profile_prefill.py`` turns it on; off by default because a named scope costs
microseconds per call even with no profiler running, on every layer of every decode step."""


def _scope(name: str):
    return record_function(name) if PROFILE_SCOPES else nullcontext()


def _chunk_rows(heads: int, n_keys: int) -> int:
    return max(1, CHUNK_BYTES // (4 * 4 * heads * max(n_keys, 1)))


def _mask_chunk(
    scores: torch.Tensor,  # [heads, rows, k1 - k0], masked in place
    attention_mask: torch.Tensor | None,
    sequence: int,
    q_len: int,
    r0: int,
    r1: int,
    k0: int,
) -> torch.Tensor | None:
    """Hide the keys rows ``[r0, r1)`` may not see among keys ``[k0, r1)``; returns the rows'
    visibility mask ``[rows, keys]``, or ``None`` when every key before a row is visible."""
    if attention_mask is None:
        # Causality alone: keys before r0 are visible to every row; only the diagonal block
        # [r0, r1) x [r0, r1) hides its upper triangle.
        tri = torch.ones(r1 - r0, r1 - r0, dtype=torch.bool, device=scores.device).triu_(1)
        scores[..., r0 - k0 :].masked_fill_(tri, float("-inf"))
        return None
    allowed = allowed_keys(attention_mask, q_len, q_len, slice(r0, r1), slice(k0, r1), scores.device)
    mask = allowed[sequence if allowed.shape[0] > 1 else 0, 0]  # [rows, keys]
    scores.masked_fill_(~mask, float("-inf"))
    return mask


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
    step = _chunk_rows(heads, e.row_end - first_key(e.row_start, sliding_window))
    for r0 in range(e.row_start, e.row_end, step):
        r1 = min(e.row_end, r0 + step)
        k0 = first_key(r0, sliding_window)
        # Target keys before k0 are hidden from every row of the chunk: they get share 0 and
        # cannot pass the gem test, so the visible target is [t0, target_end).
        t0 = max(e.target_start, k0)
        if t0 >= e.target_end:
            # No row of the chunk sees its target: every row fails the gem test and keeps SDPA's
            # output; the rows still count as examined, as in the reference.
            session.stats.record_unedited(layer, e.loop, heads * (r1 - r0))
            continue
        rows = r1 - r0
        with _scope("sra::rows"):
            # One bmm per KV head over its query heads' rows (GQA): K and V are never expanded.
            # The scaling goes on the few query rows, not on the scores.
            q = (query[e.sequence, :, r0:r1].float() * scaling).reshape(kv_heads, groups * rows, head_dim)
            k = key[e.sequence, :, k0:r1].float()  # [kv_heads, keys, d]; causal: keys < r1
            scores = session.buffer("scores", (kv_heads, groups * rows, r1 - k0), query.device)
            torch.bmm(q, k.transpose(1, 2), out=scores)
            scores = scores.view(heads, rows, r1 - k0)
        with _scope("sra::mask"):
            mask = _mask_chunk(scores, attention_mask, e.sequence, q_len, r0, r1, k0)
        with _scope("sra::rows"):
            weights = torch.softmax(scores, dim=-1, out=session.buffer("weights", scores.shape, query.device))
        with _scope("sra::edit"):
            # Targets lie before the rows (geometry). In place: rows failing the gem test are
            # discarded below (they keep SDPA's output).
            visible = None if mask is None else mask[:, t0 - k0 : e.target_end - k0]
            res = edit_rows(
                weights, t0 - k0, e.target_end - k0, e.theta, e.scale, e.gem_share, visible=visible, in_place=True
            )
        with _scope("sra::rows"):
            v = value[e.sequence, :, k0:r1].float()  # [kv_heads, keys, d]
            new = torch.bmm(res.weights.view(kv_heads, groups * rows, r1 - k0), v).view(heads, rows, head_dim)
        with _scope("sra::write"):
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
    with _scope("sra::sdpa"):
        out, _ = base(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    with _scope("sra::plan"):
        edits = session.plan(module.layer_idx, query, key, attention_mask)
    if not edits:
        return out
    if torch.is_grad_enabled():
        out = out.clone()  # SDPA's output may be needed by autograd; do not overwrite it in place
    for e in edits:
        _recompute(session, module.layer_idx, e, out, query, key, value, attention_mask, scaling, window)
    return out
