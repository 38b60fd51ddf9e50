"""``enable_sra``: switch a model to the SRA attention function for the length of a block.

How it hooks in (the way NVIDIA's kvpress does, without touching model code): one
attention function is registered under the name ``"sra"`` in transformers'
``AttentionInterface``, and SDPA's mask function under the same name in
``AttentionMaskInterface``. Inside the block the model's ``set_attn_implementation("sra")``
routes every attention call of every layer to it; the function looks up the model's
:class:`Session` by the attention module it is called with. On exit the model's own
implementation is set back, and the registrations are removed once no model uses them.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Iterator, Literal

import torch
from transformers import AttentionInterface
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from sra_search.config import SRAConfig
from sra_search.models import UnsupportedModelError, check_supported
from sra_search.runtime.fast import fast_attention
from sra_search.runtime.reference import reference_attention
from sra_search.runtime.session import Session
from sra_search.runtime.source import ConfigSource
from sra_search.runtime.stats import SRAStats

IMPL_NAME = "sra"
IMPLS = ("fast", "reference")

# attention module -> session of the model it belongs to
_SESSIONS: "weakref.WeakKeyDictionary[torch.nn.Module, Session]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_USERS = 0

# Attention kwargs that change the softmax itself; the explicit recompute of edited rows would
# drop them. ``check_supported`` rejects the known models up front; this catches the rest.
_UNSUPPORTED_KWARGS = ("softcap", "s_aux", "sinks", "position_bias")


def _sdpa(*args, **kwargs):
    return ALL_ATTENTION_FUNCTIONS["sdpa"](*args, **kwargs)


def sra_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """The function registered as ``"sra"`` in transformers' ``AttentionInterface``."""
    session = _SESSIONS.get(module)
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    if session is None:  # a module not under enable_sra (e.g. a copy): plain SDPA
        return _sdpa(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    for name in _UNSUPPORTED_KWARGS:
        if kwargs.get(name) is not None:
            raise UnsupportedModelError(
                f"{type(module).__name__} passes {name}= to attention; SRA recomputes edited rows as "
                "softmax(Q K^T * scaling) and cannot apply it exactly"
            )
    if session.impl == "reference":
        return reference_attention(
            session, module, query, key, value, attention_mask, scaling, kwargs.get("sliding_window")
        ), None
    return fast_attention(
        session, _sdpa, module, query, key, value, attention_mask, scaling, dropout=dropout, **kwargs
    ), None


def _register() -> None:
    global _USERS
    with _LOCK:
        if _USERS == 0:
            AttentionInterface.register(IMPL_NAME, sra_attention)
            # SDPA's mask function: a 4D boolean mask, or None when causality alone suffices.
            AttentionMaskInterface.register(IMPL_NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
        _USERS += 1


def _forget(interface: type, name: str) -> None:
    """Undo ``interface.register(name, ...)``.

    transformers has ``register`` but no unregister: registrations live in the class-wide dict
    ``_global_mapping`` of its ``GeneralInterface``. This is the one place that touches it;
    ``tests/runtime/test_context.py`` checks through the public ``valid_keys()`` that the name is
    gone after ``enable_sra`` exits, so a change in transformers fails that test.
    """
    interface._global_mapping.pop(name, None)  # type: ignore[attr-defined]


def _unregister() -> None:
    global _USERS
    with _LOCK:
        _USERS -= 1
        if _USERS == 0:
            _forget(AttentionInterface, IMPL_NAME)
            _forget(AttentionMaskInterface, IMPL_NAME)


def session_of(model: torch.nn.Module) -> Session:
    """The session of a model inside an ``enable_sra`` block."""
    for m in _attention_modules(model):
        if m in _SESSIONS:
            return _SESSIONS[m]
    raise RuntimeError("the model is not inside an enable_sra block")


def _attention_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if hasattr(m, "layer_idx") and hasattr(m, "scaling")]


@contextmanager
def enable_sra(
    model: torch.nn.Module,
    config: SRAConfig | ConfigSource,
    *,
    prompt_len: int | list[int] | None = None,
    impl: Literal["fast", "reference"] = "fast",
    stats: SRAStats | None = None,
    allow_fingerprint_mismatch: bool = False,
) -> Iterator[SRAStats]:
    """Apply SRA to every prefill of ``model`` inside the ``with`` block.

    Args:
        model: a transformers causal LM with rotary position embeddings whose attention goes
            through transformers' attention interface (Llama, Mistral, Qwen2, Gemma 3, ...);
            sliding-window layers are edited within their window (spec, "Sliding-window layers").
        config: the SRA parameters, or a :class:`~sra_search.runtime.source.ConfigSource` such as
            a published preset: each sequence then uses the config the source gives for its prompt
            length (a preset: its length bucket; none: inactive).
        prompt_len: number of real prompt tokens (an int for all batch rows or one per row).
            SRA's geometry then uses the prompt only; later positions of the forward (e.g. a
            teacher-forced answer) are not edited. ``None``: the whole input is the prompt.
        impl: ``"fast"`` (SDPA + recompute of editable rows) or ``"reference"`` (full matrix).
        stats: continue accumulating into this object instead of a new one.
        allow_fingerprint_mismatch: passed to the source's ``check_model``: apply a preset
            measured on other weights anyway (it warns).

    Raises:
        UnsupportedModelError: from ``check_supported`` (no RoPE, attention outside the interface,
            or an attention SRA cannot recompute exactly, e.g. soft-capping).
        Whatever the source's ``check_model`` raises; for a preset, ``PresetMismatchError`` when
        its model fingerprint differs.

    Yields:
        :class:`SRAStats`, which accumulates over every prefill inside the block
        (``reset()`` clears it). Decode steps are never edited nor counted.

    On exit the model's attention implementation is restored, whatever happened inside.
    """
    if not isinstance(config, (SRAConfig, ConfigSource)):
        raise TypeError(
            f"config must be an SRAConfig or a config source such as a Preset, got {type(config).__name__}"
        )
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    if prompt_len is not None:
        lens = [prompt_len] if isinstance(prompt_len, int) else list(prompt_len)
        if not lens or any(not isinstance(n, int) or n < 1 for n in lens):
            raise ValueError(f"prompt_len must be a positive int or a list of them, got {prompt_len!r}")
    check_supported(model)
    if not isinstance(config, SRAConfig):
        config.check_model(model, allow_mismatch=allow_fingerprint_mismatch)
    modules = _attention_modules(model)
    if not modules:
        raise ValueError(f"{type(model).__name__}: no attention layer with a layer_idx found")
    if any(m in _SESSIONS for m in modules):
        raise RuntimeError("enable_sra is already active on this model; nested blocks are not supported")
    text_config = model.config.get_text_config()
    stats = stats if stats is not None else SRAStats(text_config.num_hidden_layers)
    session = Session(config, text_config.num_hidden_layers, impl, stats, prompt_len)
    original = model.config._attn_implementation
    _register()
    try:
        for m in modules:
            _SESSIONS[m] = session
        model.set_attn_implementation(IMPL_NAME)
        yield stats
    finally:
        for m in modules:
            _SESSIONS.pop(m, None)
        try:
            model.set_attn_implementation(original)
        finally:
            _unregister()
