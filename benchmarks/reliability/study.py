"""The model and the study file every scenario runs: a 4-layer random Llama and the tests' tiny study."""

from __future__ import annotations

from pathlib import Path


def make_tiny_model(out: Path) -> str:
    """A 4-layer random Llama (hidden 64) with SmolLM2's tokenizer, as tests/search/conftest.py makes it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from sra_search.models import SMOLLM2_GGUF, smollm2_path

    out = Path(out)
    if (out / "config.json").is_file():
        return str(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(smollm2_path(), gguf_file=SMOLLM2_GGUF)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=len(tok), max_position_embeddings=4096,
        initializer_range=0.3, tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def study_text(model_dir: str, *, name: str, storage: str, trials: int, search: int = 4, chunk: int = 2,
               workers: int = 2, retry_s: int = 120, heartbeat_s: int = 1, grace_s: int = 3) -> str:
    """The tests' tiny study (:func:`sra_search.search.studyfile.examples.tiny_study_toml`), with a storage retry window."""
    from sra_search.search.studyfile.examples import tiny_study_toml

    return tiny_study_toml(
        model_dir, name=name, storage=storage, trials=trials, search=search, chunk=chunk, workers=workers,
        retry_s=retry_s, heartbeat_s=heartbeat_s, grace_s=grace_s,
    )  # fmt: skip
