"""Statistics a forward under SRA reports (spec: "Statistics a forward must be able to report").

Counts are per *head row*: one query row of one attention head. A layer with 9 heads and
40 rows in a loop examines 360 head rows. Values are kept as device tensors while the model
runs (no host sync inside the forward) and reduced when read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

LOOPS = ("inter", "outer")


@dataclass(frozen=True)
class InactiveSequence:
    """A batch row for which SRA did nothing in one prefill, and why."""

    forward: int  # index of the prefill forward inside the enable_sra block (0-based)
    sequence: int  # batch row
    reason: str


@dataclass(frozen=True)
class LayerLoopStats:
    """Summary of one loop in one layer, over every forward recorded."""

    layer: int
    loop: str
    rows_examined: int
    rows_edited: int
    removed_mass_mean: float
    accumulated_attention_mean: float
    accumulated_attention_max: float


@dataclass
class _Bucket:
    examined: int = 0
    removed: list[torch.Tensor] = field(default_factory=list)
    accumulated: list[torch.Tensor] = field(default_factory=list)


def _cat(parts: list[torch.Tensor]) -> torch.Tensor:
    if not parts:
        return torch.empty(0, dtype=torch.float32)
    return torch.cat([p.detach().reshape(-1).float().cpu() for p in parts])


def _mean(x: torch.Tensor) -> float:
    return float(x.mean()) if x.numel() else math.nan


class SRAStats:
    """What SRA did inside one :func:`~sra_search.enable_sra` block.

    Statistics **accumulate** over every prefill forward run inside the block (a batch of
    cases evaluated in several forwards is summarised once); call :meth:`reset` to start
    over. Passing the same object as ``enable_sra(..., stats=...)`` continues accumulating
    across blocks.
    """

    def __init__(self, num_layers: int = 0) -> None:
        self.num_layers = num_layers
        self.reset()

    # -- recording (called by the runtime) ---------------------------------------------------
    def reset(self) -> None:
        """Forget everything recorded so far."""
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self.forwards = 0
        self.inactive: list[InactiveSequence] = []

    def start_forward(self) -> int:
        """Mark the start of a prefill forward; returns its index."""
        self.forwards += 1
        return self.forwards - 1

    def record_inactive(self, forward: int, sequence: int, reason: str) -> None:
        self.inactive.append(InactiveSequence(forward, sequence, reason))

    def record(
        self, layer: int, loop: str, edited: torch.Tensor, removed: torch.Tensor, accumulated: torch.Tensor
    ) -> None:
        """Record one loop's edit of a group of head rows (``edited`` is the gem-test mask)."""
        bucket = self._buckets.setdefault((layer, loop), _Bucket())
        bucket.examined += edited.numel()
        bucket.removed.append(removed[edited])
        bucket.accumulated.append(accumulated[edited])

    # -- reading -------------------------------------------------------------------------------
    def per_layer(self) -> list[LayerLoopStats]:
        """One entry per (layer, loop) that examined rows, sorted by layer then loop."""
        out = []
        for (layer, loop), b in sorted(self._buckets.items(), key=lambda kv: (kv[0][0], LOOPS.index(kv[0][1]))):
            acc = _cat(b.accumulated)
            out.append(
                LayerLoopStats(
                    layer=layer,
                    loop=loop,
                    rows_examined=b.examined,
                    rows_edited=int(acc.numel()),
                    removed_mass_mean=_mean(_cat(b.removed)),
                    accumulated_attention_mean=_mean(acc),
                    accumulated_attention_max=float(acc.max()) if acc.numel() else math.nan,
                )
            )
        return out

    def accumulated_attention_values(self) -> torch.Tensor:
        """Accumulated attention of every edited head row (float32, CPU)."""
        return _cat([t for b in self._buckets.values() for t in b.accumulated])

    @property
    def examined_rows(self) -> int:
        return sum(b.examined for b in self._buckets.values())

    @property
    def edited_rows(self) -> int:
        return int(sum(sum(int(t.numel()) for t in b.accumulated) for b in self._buckets.values()))

    @property
    def accumulated_attention_mean(self) -> float:
        """Mean row sum of edited rows; the paper keeps it in 1.1-1.4. NaN if nothing was edited."""
        return _mean(self.accumulated_attention_values())

    @property
    def accumulated_attention_p95(self) -> float:
        acc = self.accumulated_attention_values()
        return float(torch.quantile(acc, 0.95)) if acc.numel() else math.nan

    @property
    def accumulated_attention_max(self) -> float:
        acc = self.accumulated_attention_values()
        return float(acc.max()) if acc.numel() else math.nan

    @property
    def removed_mass_mean(self) -> float:
        return _mean(_cat([t for b in self._buckets.values() for t in b.removed]))

    def edited_layers(self, loop: str) -> list[int]:
        """Layers in which ``loop`` edited at least one row."""
        return sorted(l for (l, lp), b in self._buckets.items() if lp == loop and sum(t.numel() for t in b.accumulated))

    def to_dict(self, per_layer: bool = False) -> dict:
        """JSON-safe summary (NaN becomes ``None``)."""

        def clean(x: float) -> float | None:
            return None if isinstance(x, float) and math.isnan(x) else x

        d = {
            "forwards": self.forwards,
            "examined_rows": self.examined_rows,
            "edited_rows": self.edited_rows,
            "edited_share": clean(self.edited_rows / self.examined_rows if self.examined_rows else math.nan),
            "removed_mass_mean": clean(self.removed_mass_mean),
            "accumulated_attention_mean": clean(self.accumulated_attention_mean),
            "accumulated_attention_p95": clean(self.accumulated_attention_p95),
            "accumulated_attention_max": clean(self.accumulated_attention_max),
            "inactive": [asdict(i) for i in self.inactive],
        }
        if per_layer:
            d["per_layer"] = [{k: clean(v) for k, v in asdict(s).items()} for s in self.per_layer()]
        return d

    def __repr__(self) -> str:
        return (
            f"SRAStats(forwards={self.forwards}, edited_rows={self.edited_rows}/{self.examined_rows}, "
            f"accumulated_attention_mean={self.accumulated_attention_mean:.4f}, inactive={len(self.inactive)})"
        )
