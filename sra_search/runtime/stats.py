"""Statistics a forward under SRA reports (spec: "Statistics a forward must be able to report").

Counts are per *head row*: one query row of one attention head. A layer with 9 heads and
40 rows in a loop examines 360 head rows. Values are kept as device tensors while the model
runs (no host sync inside the forward) and reduced when read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import torch

from sra_search.values import finite_or_none

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
    examined_rows: int
    edited_rows: int
    removed_mass_mean: float
    accumulated_attention_mean: float
    accumulated_attention_max: float


@dataclass(frozen=True)
class SRASummary:
    """What SRA did over one evaluation, in plain numbers.

    The one statistics record that travels from the runtime through ``objectives`` and the
    Ray workers to a study: ``SRAStats.summary()`` makes it, :meth:`merge` combines chunks.
    Counts are head rows; the means are over edited rows (``None`` when none was edited).
    """

    examined_rows: int = 0
    edited_rows: int = 0
    accumulated_attention_mean: float | None = None
    accumulated_attention_p95: float | None = None
    inactive_sequences: int = 0
    inactive_reasons: tuple[str, ...] = ()

    @property
    def edited_share(self) -> float | None:
        """Edited over examined head rows; ``None`` when no row was examined."""
        return self.edited_rows / self.examined_rows if self.examined_rows else None

    @classmethod
    def merge(cls, parts: Iterable["SRASummary | None"]) -> "SRASummary":
        """Several chunks as one: the mean weighted by edited rows, the p95 approximated by the max."""
        parts = [p for p in parts if p is not None]
        edited = sum(p.edited_rows for p in parts)
        weighted = sum(p.accumulated_attention_mean * p.edited_rows for p in parts
                       if p.edited_rows and p.accumulated_attention_mean is not None)  # fmt: skip
        p95s = [p.accumulated_attention_p95 for p in parts if p.accumulated_attention_p95 is not None]
        reasons = sorted({r for p in parts for r in p.inactive_reasons})
        return cls(
            examined_rows=sum(p.examined_rows for p in parts),
            edited_rows=edited,
            accumulated_attention_mean=weighted / edited if edited else None,
            accumulated_attention_p95=max(p95s) if p95s else None,
            inactive_sequences=sum(p.inactive_sequences for p in parts),
            inactive_reasons=tuple(reasons[:3]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as trials and presets record it."""
        return {
            "edited_rows": self.edited_rows,
            "examined_rows": self.examined_rows,
            "edited_share": self.edited_share,
            "accumulated_attention_mean": self.accumulated_attention_mean,
            "accumulated_attention_p95": self.accumulated_attention_p95,
            "inactive_sequences": self.inactive_sequences,
            "inactive_reasons": list(self.inactive_reasons),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "SRASummary | None":
        """Read :meth:`to_dict`'s form back (also the older ``sra_stats`` dicts of stored trials)."""
        if d is None:
            return None
        return cls(
            examined_rows=int(d.get("examined_rows") or 0),
            edited_rows=int(d.get("edited_rows") or 0),
            accumulated_attention_mean=finite_or_none(d.get("accumulated_attention_mean")),
            accumulated_attention_p95=finite_or_none(d.get("accumulated_attention_p95")),
            inactive_sequences=int(d.get("inactive_sequences") or 0),
            inactive_reasons=tuple(d.get("inactive_reasons") or ()),
        )


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

    def record_unedited(self, layer: int, loop: str, head_rows: int) -> None:
        """Record head rows examined and left as they were without recomputing them (the fast
        path skips a chunk whose whole target its sliding window hides: no row can pass the gem test)."""
        self._buckets.setdefault((layer, loop), _Bucket()).examined += head_rows

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
                    examined_rows=b.examined,
                    edited_rows=int(acc.numel()),
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

    def summary(self) -> SRASummary:
        """Everything recorded so far as one :class:`SRASummary`."""
        return SRASummary(
            examined_rows=self.examined_rows,
            edited_rows=self.edited_rows,
            accumulated_attention_mean=finite_or_none(self.accumulated_attention_mean),
            accumulated_attention_p95=finite_or_none(self.accumulated_attention_p95),
            inactive_sequences=len(self.inactive),
            inactive_reasons=tuple(sorted({i.reason for i in self.inactive}))[:3],
        )

    def to_dict(self, per_layer: bool = False) -> dict:
        """JSON-safe detail (NaN becomes ``None``): :meth:`summary` plus removed mass, max and the
        inactive sequences (and, with ``per_layer``, one entry per layer and loop)."""
        d = self.summary().to_dict()
        d.update(
            forwards=self.forwards,
            removed_mass_mean=finite_or_none(self.removed_mass_mean),
            accumulated_attention_max=finite_or_none(self.accumulated_attention_max),
            inactive=[asdict(i) for i in self.inactive],
        )
        if per_layer:
            d["per_layer"] = [{k: finite_or_none(v) for k, v in asdict(s).items()} for s in self.per_layer()]
        return d

    def __repr__(self) -> str:
        return (
            f"SRAStats(forwards={self.forwards}, edited_rows={self.edited_rows}/{self.examined_rows}, "
            f"accumulated_attention_mean={self.accumulated_attention_mean:.4f}, inactive={len(self.inactive)})"
        )
