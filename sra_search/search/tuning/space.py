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
from sra_search.search.studyfile.params import SRA_BOOL_PARAMS, SRA_INT_PARAMS, SRA_PARAMS, loop_combinations
from sra_search.search.studyfile.space_spec import ParamSpec, SearchSpace


# When both loop switches are searched, they are one Optuna parameter, ``loops``, over the
# combinations that edit something: sampled as two booleans, a quarter of the draws would be
# inter = outer = false, a trial that changes nothing and only costs an evaluation.
LOOPS = "loops"
_LOOPS_VALUES = {"inter+outer": (True, True), "inter": (True, False), "outer": (False, True)}


def _switch_plan(space: SearchSpace) -> tuple[list[str] | None, dict[str, bool]]:
    """How the loop switches enter a trial: the ``loops`` choices when both are searched (else
    ``None``), and the value of each switch for which only one value edits anything."""
    combos = loop_combinations(space)
    values = {name: {c[i] for c in combos} for i, name in enumerate(SRA_BOOL_PARAMS)}
    if all(len(v) > 1 for v in values.values()):
        return list(_LOOPS_VALUES), {}
    return None, {name: next(iter(v)) for name, v in values.items() if len(v) == 1}


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna distributions of the parameters that vary (fixed ones are not Optuna params).

    A switch whose other value would switch SRA off entirely is fixed; two searched switches
    become the one categorical ``loops`` (see :data:`LOOPS`).
    """
    out: dict[str, BaseDistribution] = {}
    loops, fixed_switches = _switch_plan(space)
    for name, spec in space.specs().items():
        if name in SRA_BOOL_PARAMS and (loops is not None or name in fixed_switches):
            continue  # searched as `loops`, or only one value edits anything
        dist = _distribution(name, spec)
        if dist is not None:
            out[name] = dist
    if loops is not None:
        out[LOOPS] = CategoricalDistribution(loops)
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
    loops, fixed_switches = _switch_plan(space)
    if loops is not None:
        for name in SRA_BOOL_PARAMS:
            out.pop(name, None)  # both come from the trial's `loops`
    out.update(fixed_switches)
    return out


def to_config(space: SearchSpace, params: dict[str, Any]) -> SRAConfig:
    """The SRA configuration of a trial: its sampled params over the fixed values."""
    params = dict(params)
    if LOOPS in params:
        params["inter"], params["outer"] = _LOOPS_VALUES[params.pop(LOOPS)]
    return SRAConfig(**{**fixed_values(space), **params})


def grid(space: SearchSpace) -> dict[str, list[Any]]:
    """Search space for Optuna's GridSampler (every varying parameter has choices)."""
    return {name: list(dist.choices) for name, dist in distributions(space).items()}  # type: ignore[attr-defined]


def grid_size(space: SearchSpace) -> int:
    size = 1
    for values in grid(space).values():
        size *= len(values)
    return size


def config_params(space: SearchSpace, config: SRAConfig) -> dict[str, Any]:
    """``config``'s values of the varying parameters that the space contains, as a trial's params.

    A value outside the space is left out (Optuna would warn and sample it instead).
    """
    values = config.model_dump()
    values[LOOPS] = next((k for k, v in _LOOPS_VALUES.items() if v == (values["inter"], values["outer"])), None)
    return {name: values[name] for name, dist in distributions(space).items() if _contains(dist, values[name])}


def paper_public_params(space: SearchSpace) -> dict[str, Any]:
    """The paper's public-notebook values of the varying parameters that the space contains."""
    return config_params(space, SRAConfig.paper_public())


def _contains(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``dist`` can yield ``value`` (the rule of Optuna's distributions, by their public fields)."""
    if isinstance(dist, CategoricalDistribution):
        return value in dist.choices
    if isinstance(dist, IntDistribution):
        return dist.low <= value <= dist.high and (value - dist.low) % dist.step == 0
    if isinstance(dist, FloatDistribution):
        if dist.step is None:
            return dist.low <= value <= dist.high
        k = (value - dist.low) / dist.step
        return dist.low <= value <= dist.high and abs(k - round(k)) < 1.0e-8
    raise TypeError(f"unexpected distribution {dist!r}")


__all__ = [
    "LOOPS", "distributions", "fixed_values", "to_config", "grid", "grid_size", "loop_combinations",
    "paper_public_params", "config_params", "SRA_PARAMS",
]  # fmt: skip
