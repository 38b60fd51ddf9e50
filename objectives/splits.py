"""Deterministic per-case randomness and the search/holdout split.

A case's split is a function of its *identity* (the value it asks for: a pass key, a
record id), never of the seed or of its index. Generators draw until the identity falls
in the requested split, so the two splits cannot share a case, for any seeds.
"""

from __future__ import annotations

import hashlib
import random

SPLITS = ("search", "holdout")


def _digest(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def case_rng(task: str, seed: int, split: str, index: int) -> random.Random:
    """The RNG of case ``index`` of ``split``: independent of how many cases are asked for."""
    return random.Random(_digest("case", task, seed, split, index))


def split_of(task: str, identity: str, holdout_fraction: float) -> str:
    """Which split the case with this identity belongs to."""
    u = _digest("split", task, identity) / 2**64
    return "holdout" if u < holdout_fraction else "search"


def order_key(seed: int, identity: str) -> int:
    """A seeded shuffle key for data-set records (stable per record)."""
    return _digest("order", seed, identity)


def check_split(split: str) -> str:
    from objectives.errors import ObjectiveError

    if split not in SPLITS:
        raise ObjectiveError(f"unknown split '{split}' (splits: {', '.join(SPLITS)})")
    return split
