"""Task parameters: pydantic models with readable, field-naming errors."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from objectives.answers import Scoring
from objectives.errors import ObjectiveError
from sra_search.validation import error_items


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
    prime: bool = Field(
        False, description="End the prompt with the answer's lead-in ('The pass key is'); false = the user's question ends it."
    )
    scoring: Scoring = Field(
        "generate",
        description="'generate': greedy free answer, correct when it holds the gold (objectives.answers); "
        "'teacher_forced': one forward over the primed gold, exact match (needs prime=true).",
    )
    max_answer_tokens: int | None = Field(
        None, ge=1, le=4096, description="Cap on generated answer tokens; None = lead-in + gold + 4 tokens."
    )

    @model_validator(mode="after")
    def _forced_needs_prime(self) -> "SyntheticParams":
        if self.scoring == "teacher_forced" and not self.prime:
            raise ValueError("scoring='teacher_forced' scores the primed gold: set prime=true, or scoring='generate'")
        if self.scoring == "teacher_forced" and self.max_answer_tokens is not None:
            raise ValueError("max_answer_tokens caps generated answers: leave it out with scoring='teacher_forced'")
        return self


class PlacementParams(SyntheticParams):
    """Parameters of synthetic tasks that put their target at a relative place of the prompt.

    Made by :func:`placement_params`, which adds three fields named after the place, e.g.
    ``depth`` (0 = start, 1 = end; None = drawn per case), ``depth_min`` and ``depth_max``.
    """

    placement: ClassVar[str]  # the name of the three fields

    def _bounds(self) -> tuple[float, float]:
        return getattr(self, f"{self.placement}_min"), getattr(self, f"{self.placement}_max")

    @model_validator(mode="after")
    def _range(self) -> "PlacementParams":
        low, high = self._bounds()
        if low > high:
            raise ValueError(f"{self.placement}_min ({low}) must be <= {self.placement}_max ({high})")
        return self

    def draw_placement(self, rng) -> float:
        """The fixed place, or one drawn with ``rng`` uniformly in ``[<name>_min, <name>_max]``."""
        fixed = getattr(self, self.placement)
        return fixed if fixed is not None else rng.uniform(*self._bounds())


def placement_params(name: str, what: str) -> type[PlacementParams]:
    """A :class:`PlacementParams` base with the fields ``name``, ``name_min``, ``name_max``.

    ``what`` describes the place (``name``'s description is ``"<what>; None = uniform in
    [<name>_min, <name>_max]."``). A task's params subclass it and add their own fields.
    """
    model = create_model(
        f"{name.capitalize()}Params",
        __base__=PlacementParams,
        __module__=__name__,
        **{
            name: (
                float | None,
                Field(None, ge=0, le=1, description=f"{what}; None = uniform in [{name}_min, {name}_max]."),
            ),
            f"{name}_min": (float, Field(0.0, ge=0, le=1)),
            f"{name}_max": (float, Field(1.0, ge=0, le=1)),
        },
    )
    model.placement = name
    return model


def _describe(loc: str, msg: str, err: dict) -> str:
    if not loc:  # a rule across fields: its message names them
        return msg
    if err.get("type") == "extra_forbidden":
        return f"unknown parameter '{loc}'"
    return f"parameter '{loc}': {msg} (got {err.get('input')!r})"


def parse_params(model: type[TaskParams], task: str, values: dict[str, Any], strict: bool = False) -> TaskParams:
    """Validate ``values`` against ``model``; errors name the task and each bad field.

    Values are coerced like command-line input (``"512"`` is 512) unless ``strict``: then they must
    have their field's type (a study file's TOML has types, so ``length = "512"``, ``512.0`` or
    ``seed = true`` is refused; an int is still a float)."""
    try:
        return model.model_validate(values, strict=strict)
    except ValidationError as exc:
        problems = "; ".join(_describe(*item) for item in error_items(exc))
        known = ", ".join(model.model_fields)
        raise ObjectiveError(f"task '{task}': {problems} (parameters: {known})") from None
