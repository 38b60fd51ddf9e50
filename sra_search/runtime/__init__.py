"""The SRA runtime: hooks Scaled ReAttention into transformers' attention interface.

It knows SRA configs and models only; presets and the search sit above it and reach it through
:class:`~sra_search.runtime.source.ConfigSource`. Modules, in the order a forward meets them:

- ``context``   -- :func:`enable_sra`: registers the attention/mask functions, switches the model to them, restores it.
- ``source``    -- the ``ConfigSource`` protocol: a config per prompt length (a preset is one).
- ``session``   -- one model under SRA: per forward, which sequences are active and which rows to edit.
- ``masks``     -- which tokens of each batch row are real (padding excluded), read off the attention mask.
- ``geometry``  -- the spec's blocks: for one sequence and layer, which rows/keys each loop edits.
- ``edit``      -- the spec's row edit (gem test, elimination, scaled redistribution), vectorised.
- ``fast``      -- default path: SDPA/flash for all rows, explicit float32 recompute of the editable rows only.
- ``reference`` -- full-matrix implementation, written to be read next to the spec.
- ``stats``     -- per-layer, per-loop statistics collected while editing, and ``SRASummary``, the
  plain record of them that travels up to a study.
- ``capture``   -- one layer's attention before and after SRA, for plots.
"""

from sra_search.runtime.context import enable_sra
from sra_search.runtime.source import ConfigSource
from sra_search.runtime.stats import SRAStats, SRASummary

__all__ = ["ConfigSource", "enable_sra", "SRAStats", "SRASummary"]
