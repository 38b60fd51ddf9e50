"""The SRA parameters a study file can search, and which loop-switch settings edit anything.

Below :mod:`~sra_search.search.studyfile.schema` and :mod:`~sra_search.search.tuning.space`, which both use it.
"""

from __future__ import annotations

from typing import Any

from sra_search.config import SRAConfig

SRA_FLOAT_PARAMS = ("tau_in", "tau_ou", "s_in", "s_ou", "gem_share")
SRA_INT_PARAMS = ("c_s", "c_e")
SRA_BOOL_PARAMS = ("inter", "outer")
SRA_PARAMS = ("tau_in", "tau_ou", "s_in", "s_ou", "c_s", "c_e", "inter", "outer", "gem_share")


def _switch_values(space: Any, name: str) -> list[bool]:
    spec = getattr(space, name)
    if spec is None:
        return [bool(getattr(SRAConfig.paper_public(), name))]
    return [bool(v) for _, v in spec.named_values()]


def loop_combinations(space: Any) -> list[tuple[bool, bool]]:
    """The (inter, outer) pairs a :class:`~sra_search.search.studyfile.schema.SearchSpace` allows that edit
    something (at least one loop on)."""
    inter, outer = (_switch_values(space, name) for name in SRA_BOOL_PARAMS)
    pairs = [(i, o) for i in inter for o in outer]
    return [p for p in dict.fromkeys(pairs) if p[0] or p[1]]

