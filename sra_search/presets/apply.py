"""What applying a preset to a model checks: the same weights (fingerprint), and a warning for
presets that never beat their baseline. :meth:`Preset.check_model` calls it; the runtime only
sees a :class:`~sra_search.runtime.source.ConfigSource`."""

from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING

import torch

from sra_search.presets.fingerprint import model_fingerprint

if TYPE_CHECKING:
    from sra_search.presets.schema import Preset


class PresetMismatchError(ValueError):
    """A preset was measured on other weights than the model it is applied to."""


# model -> (weights key, fingerprint): model_fingerprint reads a sample of every tensor, too slow
# to redo on each enable_sra entry (one per batch); the key tells when the weights change.
_FINGERPRINTS: "weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple, str]]" = weakref.WeakKeyDictionary()


def _weights_key(model: torch.nn.Module) -> tuple:
    """Changes when the weights do: other tensors, shapes or dtypes, or an in-place write (e.g.
    ``load_state_dict``) bumping a tensor's version counter (inference tensors have none)."""
    return tuple(
        (name, t.data_ptr(), tuple(t.shape), t.dtype, None if t.is_inference() else t._version)
        for name, t in model.state_dict().items()
    )


def cached_fingerprint(model: torch.nn.Module) -> str:
    """:func:`model_fingerprint`, computed again only when the model's weights changed."""
    key = _weights_key(model)
    cached = _FINGERPRINTS.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    actual = model_fingerprint(model)
    _FINGERPRINTS[model] = (key, actual)
    return actual


def check_preset_model(model: torch.nn.Module, preset: "Preset", allow_mismatch: bool = False) -> None:
    """Refuse ``preset`` on other weights (warn instead with ``allow_mismatch``); warn when the
    preset is a finding that did not beat its baseline."""
    actual = cached_fingerprint(model)
    if actual != preset.model.fingerprint:
        message = (
            f"preset {preset.name} v{preset.version} was measured on {preset.model.architecture} "
            f"{preset.model.source!r} with fingerprint {preset.model.fingerprint[:19]}..., but this model's "
            f"fingerprint is {actual[:19]}...: other weights or config"
        )
        if not allow_mismatch:
            raise PresetMismatchError(message + "; pass allow_fingerprint_mismatch=True to apply it anyway")
        warnings.warn(message + "; applying it anyway (allow_fingerprint_mismatch=True)", stacklevel=5)
    if not preset.beats_baseline:
        warnings.warn(
            f"preset {preset.name} v{preset.version} did not beat its baseline on held-out cases "
            "(exported with --force)",
            stacklevel=5,
        )
