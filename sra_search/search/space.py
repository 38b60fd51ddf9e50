"""From a study's search space to Optuna distributions and back to an :class:`SRAConfig`."""

from __future__ import annotations

from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from sra_search.config import SRAConfig
from sra_search.search.schema import SRA_INT_PARAMS, SRA_PARAMS, ParamSpec, SearchSpace


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna distributions of the parameters that vary (fixed ones are not Optuna params)."""
    out: dict[str, BaseDistribution] = {}
    for name, spec in space.specs().items():
        dist = _distribution(name, spec)
        if dist is not None:
            out[name] = dist
    return out


def _distribution(name: str, spec: ParamSpec) -> BaseDistribution | None:
    if spec.kind == "fixed":
        return None
    if spec.kind == "choices":
        assert spec.choices is not None
        choices = [int(c) if name in SRA_INT_PARAMS and not isinstance(c, bool) else c for c in spec.choices]
        return CategoricalDistribution(choices)
    assert spec.low is not None and spec.high is not None
    if name in SRA_INT_PARAMS:
        step = int(spec.step) if spec.step else 1
        return IntDistribution(int(spec.low), int(spec.high), log=spec.log, step=step)
    return FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)


def fixed_values(space: SearchSpace) -> dict[str, Any]:
    """Values of the SRA parameters that do not vary: ``fixed`` entries, else the paper's public values."""
    values = SRAConfig.paper_public().model_dump()
    varying = distributions(space)
    out = {k: v for k, v in values.items() if k not in varying}
    for name, spec in space.specs().items():
        if spec.kind == "fixed":
            out[name] = int(spec.fixed) if name in SRA_INT_PARAMS else spec.fixed  # type: ignore[arg-type]
    return out


def to_config(space: SearchSpace, params: dict[str, Any]) -> SRAConfig:
    """The SRA configuration of a trial: its sampled params over the fixed values."""
    return SRAConfig(**{**fixed_values(space), **params})


def grid(space: SearchSpace) -> dict[str, list[Any]]:
    """Search space for Optuna's GridSampler (every varying parameter has choices)."""
    return {name: list(dist.choices) for name, dist in distributions(space).items()}  # type: ignore[attr-defined]


def grid_size(space: SearchSpace) -> int:
    size = 1
    for values in grid(space).values():
        size *= len(values)
    return size


def paper_public_params(space: SearchSpace) -> dict[str, Any]:
    """The paper's public-notebook values of the varying parameters that the space contains.

    A value outside the space is left out (Optuna would warn and sample it instead).
    """
    paper = SRAConfig.paper_public().model_dump()
    out = {}
    for name, dist in distributions(space).items():
        value = paper[name]
        try:
            inside = dist._contains(dist.to_internal_repr(value))
        except ValueError:  # a categorical without that value
            inside = False
        if inside:
            out[name] = value
    return out


__all__ = ["distributions", "fixed_values", "to_config", "grid", "grid_size", "paper_public_params", "SRA_PARAMS"]
