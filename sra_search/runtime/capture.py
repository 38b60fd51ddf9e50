"""Capture one layer's attention weights before and after SRA (for plots and inspection)."""

from __future__ import annotations

import torch

from sra_search.config import SRAConfig
from sra_search.runtime import context


@torch.no_grad()
def capture_attention(model, config: SRAConfig, input_ids: torch.Tensor, layers: list[int]) -> dict[int, dict]:
    """Run one prefill of the first sequence of ``input_ids`` with the reference implementation and return,
    per layer in ``layers``: ``before`` and ``after`` (float32 ``[heads, n, n]`` post-softmax weights)
    and ``edits`` (the planned loop edits, absolute positions)."""
    with context.enable_sra(model, config, impl="reference") as _:
        session = context.session_of(model)
        session.capture_layers = frozenset(layers)
        model(input_ids[:1])
        return dict(session.captured)
