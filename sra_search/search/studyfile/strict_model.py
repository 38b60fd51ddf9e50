"""The base of every study-file table."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A frozen pydantic model that refuses unknown keys, coercions and nan/inf."""

    # strict: TOML has types, so "4" or 4.0 where a count belongs is an error, not a coercion;
    # allow_inf_nan=False: nan/inf are refused in every float field.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
