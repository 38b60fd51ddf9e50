"""The one place that talks to the SRA runtime (:func:`sra_search.runtime.enable_sra`)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from sra_search.runtime.stats import SRAStats, SRASummary


class SRARun:
    """Applies one :class:`~sra_search.SRAConfig` (or none) to successive batches and keeps one
    statistics object across them, so means and percentiles cover the whole evaluation."""

    def __init__(self, model, config) -> None:
        self.model = model
        self.config = config
        self.stats: SRAStats | None = None

    @contextlib.contextmanager
    def batch(self, prompt_len: list[int]) -> Iterator[None]:
        """Context for one forward (or one ``generate``) over a batch with these prompt lengths."""
        if self.config is None:
            yield
            return
        from sra_search.runtime.context import enable_sra

        kwargs: dict[str, Any] = {"prompt_len": list(prompt_len)}
        if self.stats is not None:
            kwargs["stats"] = self.stats
        with enable_sra(self.model, self.config, **kwargs) as stats:
            self.stats = stats
            yield

    def summary(self) -> SRASummary | None:
        """What SRA did over every batch so far; ``None`` without SRA."""
        if self.config is None:
            return None
        return self.stats.summary() if self.stats is not None else SRASummary()
