"""The study file's ``[search_space]`` table: one :class:`ParamSpec` per SRA parameter.

Each extreme value is checked against :class:`~sra_search.config.SRAConfig` itself, so the
parameter bounds live in one place; :mod:`sra_search.search.tuning.space` turns the table into Optuna
distributions.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, create_model, field_validator, model_validator

from sra_search.config import SRAConfig
from sra_search.search.studyfile.params import SRA_BOOL_PARAMS, SRA_INT_PARAMS, SRA_PARAMS, loop_combinations
from sra_search.search.studyfile.strict_model import StrictModel


class ParamSpec(StrictModel):
    """One SRA parameter: exactly one of ``fixed``, ``choices`` or a ``low``/``high`` range."""

    fixed: float | int | bool | None = None
    choices: list[float | int | bool] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> "ParamSpec":
        kinds = [self.fixed is not None, self.choices is not None, self.low is not None or self.high is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of: fixed = v, choices = [...], or low = a, high = b")
        if self.choices is not None and len(self.choices) == 0:
            raise ValueError("choices must not be empty")
        if kinds[2]:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
                raise ValueError(f"low must be < high (got low={self.low}, high={self.high})")
            if self.log and self.low <= 0:
                raise ValueError("log = true needs low > 0")
            if self.log and self.step is not None:
                raise ValueError("log = true and step cannot be combined (Optuna does not support it)")
            if self.step is not None and self.step > self.high - self.low:
                raise ValueError(f"step must be <= high - low (got step={self.step}, high - low={self.high - self.low})")
        elif self.step is not None or self.log:
            raise ValueError("step and log apply to a range (low, high) only")
        return self

    @property
    def kind(self) -> str:
        if self.fixed is not None:
            return "fixed"
        return "choices" if self.choices is not None else "range"

    def named_values(self) -> list[tuple[str, Any]]:
        """``(key, value)`` of every value this spec can take, e.g. ``("low", 0.1)``, ``("choices[2]", 8)``."""
        if self.fixed is not None:
            return [("fixed", self.fixed)]
        if self.choices is not None:
            return [(f"choices[{i}]", v) for i, v in enumerate(self.choices)]
        return [("low", self.low), ("high", self.high)]

    def values(self) -> list[Any]:
        """Every value this spec can take that must be checked against SRAConfig's bounds."""
        if self.fixed is not None:
            return [self.fixed]
        if self.choices is not None:
            return list(self.choices)
        return [self.low, self.high]


class _SpaceRules(StrictModel):
    """The rules of :class:`SearchSpace`; its fields (one per SRA parameter) are added below."""

    @field_validator(*SRA_PARAMS, check_fields=False)
    @classmethod
    def _within_sra_bounds(cls, spec: ParamSpec | None, info: ValidationInfo) -> ParamSpec | None:
        # Check each extreme value against SRAConfig itself so the bounds live in one place.
        if spec is None:
            return spec
        name = info.field_name
        base = SRAConfig.paper_public().model_dump()
        for key, value in spec.named_values():
            if name in SRA_BOOL_PARAMS:
                if not isinstance(value, bool):
                    raise ValueError(f"{key}: must be true/false (got {value!r})")
                if spec.kind == "range":
                    raise ValueError("a loop switch takes fixed or choices, not a range")
                continue
            if isinstance(value, bool):
                raise ValueError(f"{key}: must be a number (got {value!r})")
            if name in SRA_INT_PARAMS and float(value) != int(value):
                raise ValueError(f"{key}: must be an integer (got {value!r})")
            try:
                SRAConfig(**{**base, name: int(value) if name in SRA_INT_PARAMS else value})
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"]
                raise ValueError(f"{key} = {value!r} is outside SRAConfig's range ({msg})") from None
        return spec

    @model_validator(mode="after")
    def _some_loop_on(self) -> "_SpaceRules":
        if not loop_combinations(self):
            raise ValueError("inter and outer are both false in every allowed value: SRA would edit nothing; "
                             "let at least one of them be true")  # fmt: skip
        return self

    def specs(self) -> dict[str, ParamSpec]:
        return {n: getattr(self, n) for n in SRA_PARAMS if getattr(self, n) is not None}


SearchSpace = create_model(
    "SearchSpace",
    __base__=_SpaceRules,
    __module__=__name__,
    __doc__="Search space of the SRA parameters; a parameter left out keeps the paper's public value.",
    **{name: (ParamSpec | None, None) for name in SRA_PARAMS},  # the names are SRAConfig's fields
)  # fmt: skip
