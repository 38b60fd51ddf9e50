"""sra-search: find the best Scaled ReAttention (SRA) settings per model and task.

Public API:

- :class:`SRAConfig` -- the SRA parameters, validated.
- :func:`enable_sra` -- context manager that applies SRA to every prefill of a model.
- :func:`load_model` -- load a RoPE causal LM (``"smollm2-135m"`` is the embedded default).
"""

from __future__ import annotations

from sra_search.config import SRAConfig
from sra_search.version import __version__


def __getattr__(name: str):
    # Lazy: importing torch/transformers costs seconds, and the CLI's --help should not pay it.
    if name == "enable_sra":
        from sra_search.runtime.context import enable_sra

        return enable_sra
    if name == "load_model":
        from sra_search.models import load_model

        return load_model
    if name == "SRAStats":
        from sra_search.runtime.stats import SRAStats

        return SRAStats
    raise AttributeError(f"module 'sra_search' has no attribute {name!r}")


__all__ = ["SRAConfig", "enable_sra", "load_model", "SRAStats", "__version__"]
