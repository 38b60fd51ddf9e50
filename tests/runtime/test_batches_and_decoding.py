"""Padding, decoding and teacher forcing: where SRA applies and where it must not."""

import pytest
import torch

from objectives.forward import left_pad
from sra_search import SRAConfig, enable_sra
from sra_search.models import continue_from, output_cache
from tests.conftest import tiny_model

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)
PAD = 0


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def _seq(length: int, seed: int) -> torch.Tensor:
    return torch.randint(1, 128, (length,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_left_padded_batch_matches_each_sequence_alone(model, impl):
    seqs = [_seq(70, 1), _seq(45, 2), _seq(12, 3)]  # the last one is too short for SRA
    ids, mask, _ = left_pad([s.tolist() for s in seqs], PAD, "cpu")
    width = ids.shape[1]
    with torch.no_grad():
        with enable_sra(model, CFG, impl=impl) as batch_stats:
            batched = model(ids, attention_mask=mask).logits
        for i, s in enumerate(seqs):
            with enable_sra(model, CFG, impl=impl) as alone_stats:
                alone = model(s[None]).logits[0]
            got = batched[i, width - len(s) :]
            assert (got - alone).abs().max().item() <= 1e-4, i
    assert [r.sequence for r in batch_stats.inactive] == [2]
    assert "middle region" in batch_stats.inactive[0].reason


def test_generate_equals_sra_prefill_then_plain_decoding(model):
    prompt = _seq(60, 4)[None]
    with torch.no_grad():
        with enable_sra(model, CFG) as stats:
            generated = model.generate(prompt, max_new_tokens=6, do_sample=False, pad_token_id=PAD)
        assert stats.forwards == 1  # only the prefill was edited, not the 5 decode steps
        # By hand: SRA prefill filling the cache, then plain decoding outside the block.
        with enable_sra(model, CFG):
            out = model(prompt, use_cache=True)
        cache, tokens = output_cache(out), [out.logits[0, -1].argmax().item()]
        for _ in range(5):
            out, cache = continue_from(model, torch.tensor([[tokens[-1]]]), cache)
            tokens.append(out.logits[0, -1].argmax().item())
    assert generated[0, prompt.shape[1] :].tolist() == tokens


def test_decode_steps_are_untouched(model):
    prompt = _seq(60, 5)[None]
    with torch.no_grad():
        out = model(prompt, use_cache=True)  # plain prefill
        nxt = out.logits[0, -1].argmax().view(1, 1)
        plain = continue_from(model, nxt, output_cache(out))[0].logits
        out = model(prompt, use_cache=True)
        with enable_sra(model, CFG) as stats:
            under_sra = continue_from(model, nxt, output_cache(out))[0].logits
    assert torch.equal(plain, under_sra) and stats.forwards == 0


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_teacher_forced_answer_equals_prefill_plus_greedy(model, impl):
    prompt = _seq(64, 6)[None]
    n = prompt.shape[1]
    with torch.no_grad():
        with enable_sra(model, CFG, impl=impl):
            generated = model.generate(
                prompt, max_new_tokens=5, do_sample=False, pad_token_id=PAD,
                output_logits=True, return_dict_in_generate=True,
            )
        answer = generated.sequences[:, n:]
        step_logits = torch.stack(generated.logits, dim=1)  # [1, 5, vocab]
        full = torch.cat([prompt, answer], dim=1)
        with enable_sra(model, CFG, impl=impl, prompt_len=n):
            forced = model(full).logits[:, n - 1 : -1]
        with enable_sra(model, CFG, impl=impl):  # without prompt_len the answer shifts the geometry
            shifted = model(full).logits[:, n - 1 : -1]
    assert (forced - step_logits).abs().max().item() <= 1e-4
    assert (shifted - step_logits).abs().max().item() > 1e-3


def test_prompt_len_per_sequence_with_padding(model):
    a, b = _seq(50, 7), _seq(40, 8)
    ans = torch.tensor([5, 6, 7])
    rows = [torch.cat([a, ans]), torch.cat([b, ans])]
    ids, mask, _ = left_pad([r.tolist() for r in rows], PAD, "cpu")
    width = ids.shape[1]
    with torch.no_grad():
        with enable_sra(model, CFG, prompt_len=[50, 40]):
            batched = model(ids, attention_mask=mask).logits
        with enable_sra(model, CFG, prompt_len=40):
            alone = model(rows[1][None]).logits[0]
    assert (batched[1, width - len(rows[1]) :] - alone).abs().max().item() <= 1e-4


def test_bfloat16_runs_with_float32_stats():
    model = tiny_model("qwen2", dtype=torch.bfloat16)
    ids = _seq(80, 9)[None]
    with torch.no_grad(), enable_sra(model, CFG) as stats:
        logits = model(ids).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()
    assert stats.edited_rows > 0
    assert stats.accumulated_attention_values().dtype == torch.float32
    assert isinstance(stats.accumulated_attention_mean, float)
