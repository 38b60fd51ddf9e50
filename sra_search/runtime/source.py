"""What ``enable_sra`` accepts besides one :class:`SRAConfig`: a source of configs per prompt length.

The runtime knows nothing of where such a source comes from. A published preset is one (its
length buckets); so is any object with these three methods.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from sra_search.config import SRAConfig


@runtime_checkable
class ConfigSource(Protocol):
    """Chooses the SRA config of each prompt by its length, and vets the model it is applied to."""

    def config_for(self, prompt_tokens: int) -> SRAConfig | None:
        """The config for a prompt of this many real tokens, or ``None`` to leave it unedited."""
        ...

    def no_config_reason(self, prompt_tokens: int) -> str:
        """Why :meth:`config_for` gave ``None`` for this length (shown in ``SRAStats.inactive``)."""
        ...

    def check_model(self, model: torch.nn.Module, *, allow_mismatch: bool = False) -> None:
        """Raise (or warn, with ``allow_mismatch``) when the source was not made for ``model``.

        Called once on entry to ``enable_sra``, before anything is switched."""
        ...
