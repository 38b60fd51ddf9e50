"""State of one model inside an ``enable_sra`` block, and the per-forward planning both
implementations share: is this a prefill, which sequences are active, which rows to edit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from sra_search.config import SRAConfig
from sra_search.runtime.geometry import LoopEdit, inactive_reason, plan_layer
from sra_search.runtime.masks import sequence_spans
from sra_search.runtime.source import ConfigSource
from sra_search.runtime.stats import SRAStats


@dataclass(frozen=True)
class PlannedEdit(LoopEdit):
    """A loop edit placed in the batch: rows/targets made absolute in batch row ``sequence``."""

    sequence: int
    gem_share: float

    @classmethod
    def place(cls, sequence: int, offset: int, e: LoopEdit, gem_share: float) -> "PlannedEdit":
        return cls(
            e.loop,
            offset + e.row_start,
            offset + e.row_end,
            offset + e.target_start,
            offset + e.target_end,
            e.theta,
            e.scale,
            sequence=sequence,
            gem_share=gem_share,
        )


@dataclass
class Session:
    """One model under SRA: its config (or a config source such as a preset), layer count, prompt
    lengths, statistics."""

    config: SRAConfig | ConfigSource
    num_layers: int
    impl: str
    stats: SRAStats
    prompt_len: int | list[int] | None = None
    capture_layers: frozenset[int] = frozenset()
    """Layers whose attention weights the reference implementation keeps (for plots)."""
    captured: dict[int, dict] = field(default_factory=dict, repr=False)
    _forward: int = field(default=-1, repr=False)
    buffers: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    """Float32 work buffers of the fast path, reused by every chunk of every layer of the block."""

    def buffer(self, name: str, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """A float32 tensor of ``shape`` over the named buffer, grown when too small. Reusing it
        spares each recomputed chunk fresh allocations of tens of MiB (on a CPU, page faults and
        zeroing that profiled as a few percent of a 4k prefill)."""
        numel = math.prod(shape)
        buf = self.buffers.get(name)
        if buf is None or buf.numel() < numel or buf.device != device:
            buf = self.buffers[name] = torch.empty(numel, dtype=torch.float32, device=device)
        return buf[:numel].view(shape)

    def _prompt_len(self, sequence: int, valid: int) -> int:
        if self.prompt_len is None:
            return valid
        n = self.prompt_len if isinstance(self.prompt_len, int) else self.prompt_len[sequence]
        if n > valid:
            raise ValueError(
                f"prompt_len={n} for batch row {sequence} exceeds its {valid} valid tokens; "
                "prompt_len counts the prompt's real (non-padding) tokens"
            )
        return n

    def config_for(self, n: int) -> tuple[SRAConfig | None, str | None]:
        """The config for a prompt of ``n`` tokens (a source such as a preset picks it), or why none."""
        if isinstance(self.config, SRAConfig):
            return self.config, None
        cfg = self.config.config_for(n)
        if cfg is None:
            return None, self.config.no_config_reason(n)
        return cfg, None

    def plan(
        self, layer: int, query: torch.Tensor, key: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> list[PlannedEdit]:
        """The edits to apply in this attention call; empty unless it is a prefill.

        A prefill processes the prompt from its first token with an empty cache, which the
        attention call sees as ``q_len == k_len``. Decode steps (``q_len == 1 < k_len``) and
        cached continuations (``q_len < k_len``) are never edited.
        """
        batch, _, q_len, _ = query.shape
        if key.shape[2] != q_len:
            return []
        if isinstance(self.prompt_len, list) and len(self.prompt_len) != batch:
            raise ValueError(f"prompt_len has {len(self.prompt_len)} entries for a batch of {batch}")
        first_layer = layer == 0
        if first_layer:
            self._forward = self.stats.start_forward()
        edits: list[PlannedEdit] = []
        for row, span in enumerate(sequence_spans(attention_mask, batch, q_len)):
            if span.problem is not None:
                if first_layer:
                    self.stats.record_inactive(self._forward, row, span.problem)
                continue
            n = self._prompt_len(row, span.length)
            config, reason = self.config_for(n)
            if config is not None:
                reason = inactive_reason(n, self.num_layers, config)
            if reason is not None:
                if first_layer:
                    self.stats.record_inactive(self._forward, row, reason)
                continue
            edits.extend(
                PlannedEdit.place(row, span.start, e, config.gem_share)
                for e in plan_layer(n, self.num_layers, layer, config)
            )
        return edits
