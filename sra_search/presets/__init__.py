"""Presets: versioned, immutable JSON files holding the best SRA configs per model and task.

- :class:`Preset` and friends (``schema.py``): the format, version 1.
- :class:`Registry` (``registry.py``): ``get``, ``list``, ``resolve`` by model, task, prompt length.
- :func:`publish` (``store.py``): atomic, race-safe writing of a new version.
- :func:`read_preset` (``read.py``): one file, validated strictly.
- :func:`model_fingerprint` (``fingerprint.py``): ties a preset to the exact weights;
  ``apply.py`` checks it when a preset is given to ``enable_sra`` (a preset is a runtime
  ``ConfigSource``).
- ``regress.py``: re-runs each bucket's recorded evaluation through the one re-score path.
"""

from sra_search.presets.apply import PresetMismatchError
from sra_search.presets.fingerprint import model_fingerprint
from sra_search.presets.read import PresetFormatError, read_preset
from sra_search.presets.registry import PresetNotFoundError, PresetRef, Registry
from sra_search.presets.schema import (
    BucketMetrics,
    Evaluation,
    LengthBucket,
    ModelIdentity,
    Preset,
    Provenance,
    TaskSpec,
)
from sra_search.presets.store import PresetWriteError, publish
from sra_search.urls import redact_url

__all__ = [
    "BucketMetrics", "Evaluation", "LengthBucket", "ModelIdentity", "Preset", "PresetFormatError",
    "PresetMismatchError", "PresetNotFoundError", "PresetRef", "PresetWriteError", "Provenance", "Registry",
    "TaskSpec", "model_fingerprint", "publish", "read_preset", "redact_url",
]  # fmt: skip
