"""Reading the attention mask transformers hands to attention: real tokens and allowed keys.

SRA's geometry counts positions from a sequence's first valid token (spec, "Geometry"),
so a left-padded row needs its offset. The attention function only sees the mask that
transformers built for the model's implementation, in one of three forms:

- ``None``: SDPA's mask function dropped it because causality alone is enough (no padding);
- a 4D ``[batch, 1, q, k]`` mask, boolean (True = attend) or additive float;
- a 2D ``[batch, k]`` padding mask (flash-attention implementations).

For a sliding-window layer the 4D mask already includes the window; transformers returns
``None`` there only when ``k_len < sliding_window``, where the window hides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Span:
    """Valid tokens ``[start, start + length)`` of one batch row, or why it cannot be edited."""

    start: int
    length: int
    problem: str | None = None


def valid_tokens(attention_mask: torch.Tensor | None, batch: int, length: int) -> torch.Tensor | None:
    """Bool ``[batch, length]`` of real tokens in a prefill (``q_len == k_len``), or None if all are."""
    if attention_mask is None:
        return None
    if attention_mask.dim() == 2:
        return attention_mask[:, -length:].bool()
    if attention_mask.dim() != 4:
        raise ValueError(f"unexpected attention mask of shape {tuple(attention_mask.shape)}")
    # The diagonal: token j attends to itself iff it is real. Unlike the last row it is not
    # cut by a sliding window.
    diag = torch.diagonal(attention_mask[:, 0, -length:, -length:], dim1=-2, dim2=-1)
    if diag.dtype == torch.bool:
        valid = diag
    else:
        valid = diag > torch.finfo(diag.dtype).min / 2
    return valid.expand(batch, length)


def sequence_spans(attention_mask: torch.Tensor | None, batch: int, length: int) -> list[Span]:
    """One :class:`Span` per batch row of a prefill forward of ``length`` tokens."""
    valid = valid_tokens(attention_mask, batch, length)
    if valid is None:
        return [Span(0, length)] * batch
    spans = []
    counts = valid.sum(dim=-1).tolist()
    firsts = valid.int().argmax(dim=-1).tolist()
    for row, (n, start) in enumerate(zip(counts, firsts)):
        n, start = int(n), int(start)
        if n == 0:
            spans.append(Span(0, 0, "row has no valid token"))
        elif not bool(valid[row, start : start + n].all()):
            spans.append(Span(start, n, "valid tokens are not contiguous (only left or right padding is supported)"))
        else:
            spans.append(Span(start, n))
    return spans


def first_key(row: int, sliding_window: int | None) -> int:
    """The first key query ``row`` (and every later row) can see: :func:`allowed_keys`' window
    rule ``q - sliding_window < k <= q`` solved for the smallest ``k`` (0 without a window)."""
    return 0 if sliding_window is None else max(0, row - sliding_window + 1)


def allowed_keys(
    attention_mask: torch.Tensor | None,
    q_len: int,
    k_len: int,
    rows: slice = slice(None),
    keys: slice = slice(None),
    device: torch.device | None = None,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """Bool ``[batch or 1, 1, rows, keys]``: which keys each query row may attend to.

    A 4D mask is used as it is: transformers' sliding-window masks already hide the keys outside
    the window. Otherwise causality is rebuilt (an explicit softmax that skipped it would attend
    to the future), and so is ``sliding_window`` when given, with transformers' semantics
    (``sliding_window_overlay``): query ``q`` sees key ``k`` iff ``q - sliding_window < k <= q``.
    """
    if attention_mask is not None and attention_mask.dim() == 4:
        m = attention_mask[:, :, rows, keys]
        return m if m.dtype == torch.bool else m > torch.finfo(m.dtype).min / 2
    if attention_mask is not None:
        device = attention_mask.device
    q_pos = torch.arange(q_len, device=device)[rows] + (k_len - q_len)
    k_pos = torch.arange(k_len, device=device)[keys]
    allowed = k_pos[None, :] <= q_pos[:, None]
    if sliding_window is not None:
        allowed &= k_pos[None, :] > q_pos[:, None] - sliding_window
    allowed = allowed[None, None]
    if attention_mask is None:
        return allowed
    return allowed & attention_mask[:, None, None, -k_len:][..., keys].bool()
