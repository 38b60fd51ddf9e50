"""Block geometry of the spec ("Geometry" section): which query rows and target keys each loop edits.

All positions here are relative to the first valid token of a sequence; the callers add
the left-padding offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sra_search.config import SRAConfig


@dataclass(frozen=True)
class LoopEdit:
    """One loop's edit in one layer of one sequence: rows ``[row_start, row_end)`` are edited
    towards target keys ``[target_start, target_end)`` with elimination threshold ``theta``."""

    loop: str  # "inter" or "outer"
    row_start: int
    row_end: int
    target_start: int
    target_end: int
    theta: float
    scale: float

    @property
    def n_rows(self) -> int:
        return self.row_end - self.row_start


def inactive_reason(n: int, num_layers: int, config: SRAConfig) -> str | None:
    """Why SRA does not apply to a prompt of ``n`` tokens, or ``None`` when it does."""
    m = n - config.c_e - config.c_s
    if m < num_layers + 3:
        return (
            f"middle region too short: n={n} tokens - c_s={config.c_s} - c_e={config.c_e} = {m} "
            f"< L+3 = {num_layers + 3} (needs at least {config.c_s + config.c_e + num_layers + 3} prompt tokens)"
        )
    return None


def boundaries(n: int, num_layers: int, config: SRAConfig) -> list[int]:
    """Block boundaries ``C_1 .. C_{L+4}`` (returned 0-based: ``result[k-1] == C_k``)."""
    m = n - config.c_e - config.c_s
    b = math.ceil(m / (num_layers + 3))
    end = n - config.c_e
    return [min(config.c_s + (k - 1) * b, end) for k in range(1, num_layers + 5)]


def plan_layer(n: int, num_layers: int, layer: int, config: SRAConfig) -> list[LoopEdit]:
    """The loops that edit layer ``layer`` (0-based) of a sequence with ``n`` prompt tokens.

    Returns an empty list when SRA is inactive for this sequence, for the last layer, and
    for loops whose rows or targets are empty. The inter loop comes first, as in the spec.
    """
    if inactive_reason(n, num_layers, config) is not None:
        return []
    C = boundaries(n, num_layers, config)

    def c(k: int) -> int:  # the spec's 1-based C_k
        return C[k - 1]

    edits: list[LoopEdit] = []
    if config.inter and 0 <= layer <= num_layers - 2:
        rows = (c(layer + 4), c(layer + 5))
        targets = (c(layer + 1), c(layer + 3))
        if rows[1] > rows[0] and targets[1] > targets[0]:
            edits.append(LoopEdit("inter", *rows, *targets, theta=config.tau_in / rows[0], scale=config.s_in))
    if config.outer and 1 <= layer <= num_layers - 2:
        rows = (n - config.c_e, n)
        targets = (c(layer + 3), c(layer + 4))
        if targets[1] > targets[0]:
            edits.append(
                LoopEdit("outer", *rows, *targets, theta=config.tau_ou / (n - config.c_e), scale=config.s_ou)
            )
    return edits
