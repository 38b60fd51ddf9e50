"""enable_sra leaves no trace: implementation restored, registrations removed, errors clear."""

import pytest
import torch
from transformers import AttentionInterface, GPT2Config, GPT2LMHeadModel
from transformers.masking_utils import AttentionMaskInterface

from sra_search import SRAConfig, enable_sra, load_model
from sra_search.models import UnsupportedModelError
from tests.conftest import tiny_model

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)


def _registered() -> bool:
    # Public views only: a fresh interface instance lists the class-wide registrations.
    return "sra" in AttentionInterface().valid_keys() or "sra" in AttentionMaskInterface().valid_keys()


def test_exit_restores_the_model_even_after_an_error():
    model = tiny_model("mistral")
    ids = torch.randint(0, 128, (1, 50))
    with torch.no_grad():
        before = model(ids).logits
        with pytest.raises(RuntimeError, match="boom"):
            with enable_sra(model, CFG):
                assert model.config._attn_implementation == "sra" and _registered()
                raise RuntimeError("boom")
        assert model.config._attn_implementation == "sdpa"
        assert not _registered()
        assert torch.equal(model(ids).logits, before)


def test_two_models_at_once_and_no_nesting():
    a, b = tiny_model("llama"), tiny_model("qwen2")
    with enable_sra(a, CFG), enable_sra(b, CFG):
        with pytest.raises(RuntimeError, match="already active"):
            with enable_sra(a, CFG):
                pass
        assert _registered()
    assert not _registered()


def test_bad_arguments_are_clear():
    model = tiny_model("llama")
    with pytest.raises(ValueError, match="impl"):
        with enable_sra(model, CFG, impl="turbo"):
            pass
    with pytest.raises(ValueError, match="prompt_len"):
        with enable_sra(model, CFG, prompt_len=0):
            pass
    with pytest.raises(TypeError, match="SRAConfig"):
        with enable_sra(model, {"s_in": 2}):
            pass
    with pytest.raises(ValueError, match="exceeds"), torch.no_grad():
        with enable_sra(model, CFG, prompt_len=500):
            model(torch.randint(0, 128, (1, 40)))
    assert model.config._attn_implementation == "sdpa"


def test_load_model_from_a_local_directory(tmp_path):
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    model = tiny_model("llama")
    model.save_pretrained(tmp_path)
    vocab = {f"t{i}": i for i in range(128)}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="t0")), eos_token="t1")
    tok.save_pretrained(tmp_path)
    loaded, tokenizer = load_model(str(tmp_path))
    assert type(loaded).__name__ == "LlamaForCausalLM" and tokenizer.pad_token is not None
    assert loaded.config._attn_implementation == "sdpa"


def test_model_without_rope_is_refused_by_name(tmp_path):
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=64))
    with pytest.raises(UnsupportedModelError, match="GPT2LMHeadModel.*rotary"):
        with enable_sra(gpt2, CFG):
            pass
    gpt2.save_pretrained(tmp_path)
    with pytest.raises(UnsupportedModelError, match="GPT2"):
        load_model(str(tmp_path))
