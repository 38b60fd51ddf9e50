"""`SRAConfig`: the six SRA parameters plus the loop switches, validated."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SRAConfig(BaseModel):
    """Parameters of Scaled ReAttention, as defined in ``docs/sra-spec.md``.

    Values are checked on construction: a non-finite or out-of-range value raises a
    ``pydantic.ValidationError`` whose message names the field and the allowed range.
    The model is frozen so a config can be shared between threads and used as a dict key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tau_in: float = Field(gt=0, le=1e6, description="Elimination factor of the inter loop (> 0).")
    tau_ou: float = Field(gt=0, le=1e6, description="Elimination factor of the outer loop (> 0).")
    s_in: float = Field(ge=0, le=1e3, description="Scale of the mass the inter loop redistributes (>= 0).")
    s_ou: float = Field(ge=0, le=1e3, description="Scale of the mass the outer loop redistributes (>= 0).")
    c_s: int = Field(ge=0, le=1_000_000, description="Leading tokens kept out of every block (attention sink).")
    c_e: int = Field(ge=1, le=1_000_000, description="Trailing tokens: the query rows of the outer loop.")
    inter: bool = Field(default=True, description="Run the inter loop.")
    outer: bool = Field(default=True, description="Run the outer loop.")
    gem_share: float = Field(
        default=0.01, ge=0, le=1, description="Share of an eliminated target entry in the redistribution."
    )

    @field_validator("tau_in", "tau_ou", "s_in", "s_ou", "gem_share", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        # pydantic accepts nan/inf for floats unless told otherwise; an inf scale would
        # silently turn every edited row into inf.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number (got %r)" % value)
        return value

    @classmethod
    def paper_public(cls) -> "SRAConfig":
        """The configuration of the paper's public notebook (``c_s=5, c_e=50, tau=0.5, s=5``)."""
        return cls(tau_in=0.5, tau_ou=0.5, s_in=5.0, s_ou=5.0, c_s=5, c_e=50)

    def short(self) -> str:
        """A one-line human summary, e.g. for progress bars and logs."""
        loops = "+".join(n for n, on in (("inter", self.inter), ("outer", self.outer)) if on) or "none"
        return (
            f"tau_in={self.tau_in:g} tau_ou={self.tau_ou:g} s_in={self.s_in:g} s_ou={self.s_ou:g} "
            f"c_s={self.c_s} c_e={self.c_e} loops={loops}"
        )
