"""Shared fixtures: tiny random transformers models (no download) and the real SmolLM2."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def tiny_config(arch: str, **overrides):
    """A tiny randomly initialised decoder config of a RoPE architecture.

    ``initializer_range`` is large so attention is peaked rather than uniform: with the
    default 0.02 every weight is ~1/n, and SRA's elimination would be all-or-nothing.
    """
    from transformers import LlamaConfig, MistralConfig, Qwen2Config

    common = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=128,
        max_position_embeddings=1024,
        initializer_range=0.3,
        tie_word_embeddings=False,
    )
    common.update(overrides)
    cls = {"llama": LlamaConfig, "mistral": MistralConfig, "qwen2": Qwen2Config}[arch]
    return cls(**common)


def tiny_model(arch: str = "llama", dtype=torch.float32, seed: int = 0, **overrides):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    config = tiny_config(arch, **overrides)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=dtype)
    return model.eval()


@pytest.fixture(scope="session")
def smollm2():
    """The real default model, loaded once per test session: ``(model, tokenizer)``."""
    from sra_search.models import load_model

    return load_model("smollm2-135m")
