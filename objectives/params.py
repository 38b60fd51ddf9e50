"""Task parameters: pydantic models with readable, field-naming errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from objectives.errors import ObjectiveError


class TaskParams(BaseModel):
    """Parameters every task has. Subclass per task; unknown names are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Seed of the case generator (or of the data set's case order).")
    n_cases: int = Field(50, ge=1, le=1_000_000, description="Cases evaluated when evaluate() gets no n_cases.")
    holdout_fraction: float = Field(
        0.5, gt=0, lt=1, description="Share of the case space that belongs to the holdout split."
    )
    chat: bool | None = Field(
        None, description="Wrap prompts in the tokenizer's chat template: None = when it has one."
    )


class SyntheticParams(TaskParams):
    """Parameters of tasks that generate their prompts at a target length."""

    length: int = Field(1024, ge=64, le=1_000_000, description="Target prompt length in tokens (an upper bound).")


def _describe(err: dict) -> str:
    loc = ".".join(str(x) for x in err.get("loc", ())) or "(params)"
    if err.get("type") == "extra_forbidden":
        return f"unknown parameter '{loc}'"
    return f"parameter '{loc}': {err.get('msg')} (got {err.get('input')!r})"


def parse_params(model: type[TaskParams], task: str, values: dict[str, Any]) -> TaskParams:
    """Validate ``values`` against ``model``; errors name the task and each bad field."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        known = ", ".join(model.model_fields)
        raise ObjectiveError(f"task '{task}': {problems} (parameters: {known})") from None
