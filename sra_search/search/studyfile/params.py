"""The SRA parameters a study file can search, and which loop-switch settings edit anything.

Below :mod:`~sra_search.search.studyfile.schema` and :mod:`~sra_search.search.tuning.space`, which both use it.
"""

from __future__ import annotations

from typing import Any

from sra_search.config import SRAConfig

SRA_PARAMS: tuple[str, ...] = tuple(SRAConfig.model_fields)
"""The SRA parameter names, in ``SRAConfig``'s order: declared once, by ``SRAConfig``'s fields."""


def _of_type(kind: type) -> tuple[str, ...]:
    return tuple(n for n, f in SRAConfig.model_fields.items() if f.annotation is kind)


SRA_FLOAT_PARAMS = _of_type(float)
SRA_INT_PARAMS = _of_type(int)
SRA_BOOL_PARAMS = _of_type(bool)
assert set(SRA_FLOAT_PARAMS + SRA_INT_PARAMS + SRA_BOOL_PARAMS) == set(SRA_PARAMS), "an SRAConfig field of a new type"


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

