"""The one place that talks to the SRA runtime (``sra_search.enable_sra``)."""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator


class SRARun:
    """Applies one :class:`~sra_search.SRAConfig` (or none) to successive batches and keeps one
    statistics object across them, so means and percentiles cover the whole evaluation."""

    def __init__(self, model, config) -> None:
        self.model = model
        self.config = config
        self.stats = None

    @contextlib.contextmanager
    def batch(self, prompt_len: list[int]) -> Iterator[None]:
        """Context for one forward (or one ``generate``) over a batch with these prompt lengths."""
        if self.config is None:
            yield
            return
        from sra_search import enable_sra

        kwargs: dict[str, Any] = {"prompt_len": list(prompt_len)}
        if self.stats is not None:
            kwargs["stats"] = self.stats
        with enable_sra(self.model, self.config, **kwargs) as stats:
            self.stats = stats
            yield

    def summary(self) -> dict[str, Any] | None:
        """JSON-safe statistics (NaN -> None), or None without SRA."""
        if self.config is None:
            return None
        if self.stats is None:
            return {"edited_rows": 0, "examined_rows": 0, "accumulated_attention_mean": None,
                    "accumulated_attention_p95": None, "inactive_sequences": 0}  # fmt: skip
        d = dict(self.stats.to_dict())
        inactive = d.pop("inactive", [])
        d["inactive_sequences"] = len(inactive)
        reasons = sorted({i["reason"] if isinstance(i, dict) else i.reason for i in inactive})
        if reasons:
            d["inactive_reasons"] = reasons
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
