"""The SRA runtime: hooks Scaled ReAttention into transformers' attention interface.

Modules, in the order a forward meets them:

- ``context``   -- :func:`enable_sra`: registers the attention/mask functions, switches the model to them, restores it.
- ``spans``     -- which tokens of each batch row are real (padding excluded), read off the attention mask.
- ``geometry``  -- the spec's blocks: for one sequence and layer, which rows/keys each loop edits.
- ``edit``      -- the spec's row edit (gem test, elimination, scaled redistribution), vectorised.
- ``fast``      -- default path: SDPA/flash for all rows, explicit float32 recompute of the editable rows only.
- ``reference`` -- full-matrix implementation, written to be read next to the spec.
- ``stats``     -- per-layer, per-loop statistics collected while editing.
"""

from sra_search.runtime.context import enable_sra
from sra_search.runtime.stats import SRAStats

__all__ = ["enable_sra", "SRAStats"]
