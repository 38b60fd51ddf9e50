"""On the real Gemma 3 270M (base model, sliding-window and global layers), loaded once."""

from __future__ import annotations

import pytest
import torch

import objectives
from sra_search import catalog

pytestmark = pytest.mark.gemma3

SYNTHETIC = ("passkey", "longchat_lines", "kv_retrieval")


def test_the_catalogue_says_what_transformers_loads(gemma3, smollm2):
    for entry, (model, _) in ((catalog.GEMMA3, gemma3), (catalog.SMOLLM2, smollm2)):
        config = model.config.get_text_config()
        assert type(model).__name__ == entry.architecture
        assert config.num_hidden_layers == entry.layers
        types = getattr(config, "layer_types", None) or ["full_attention"] * config.num_hidden_layers
        assert tuple(i for i, t in enumerate(types) if t == "sliding_attention") == entry.sliding_layers
        assert (config.sliding_window if entry.sliding_layers else None) == entry.sliding_window
        assert bool(getattr(_, "chat_template", None)) == entry.chat_template


def test_the_base_model_answers_a_plain_prompt(gemma3):
    model, tok = gemma3
    ids = tok("Question: What is the capital of France?\nAnswer:", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert tok.decode(out[0, ids.input_ids.shape[1] :]).startswith(" Paris")


@pytest.mark.parametrize("name", SYNTHETIC)
def test_every_synthetic_task_runs_with_plain_prompts(gemma3, name):
    model, tok = gemma3
    task = objectives.get(name, length=512, seed=0)
    cases = list(task.cases(tok, n_cases=2))
    for case in cases:
        assert case.prompt_ids[0] == tok.bos_token_id and case.prompt_ids.count(tok.bos_token_id) == 1
        assert len(case.prompt_ids) <= 512
        assert "<start_of_turn>" not in tok.decode(case.prompt_ids)
    result = objectives.evaluate(model, tok, task, None, n_cases=2)
    assert len(result.cases) == 2 and all(c.score in (0.0, 1.0) for c in result.cases)


def test_a_preset_of_one_model_is_refused_on_the_other(gemma3, smollm2):
    from sra_search import enable_sra
    from sra_search.presets import PresetMismatchError, Registry

    shipped = Registry("presets").get("smollm2-135m", "passkey", include_unproven=True)
    with pytest.raises(PresetMismatchError, match="fingerprint"):
        with enable_sra(gemma3[0], shipped):
            pass
    # The shipped Gemma finding (made by `sra-search export` on the real model).
    for_gemma = Registry("presets").get("gemma3-270m", "passkey", include_unproven=True)
    with enable_sra(gemma3[0], for_gemma):  # its own model: accepted
        pass
    with pytest.raises(PresetMismatchError, match="fingerprint"):
        with enable_sra(smollm2[0], for_gemma):
            pass


def test_sra_on_gemma_is_exact_and_leaves_hidden_targets_alone(gemma3):
    """A 1,024-token prompt: the outer loop's early targets lie beyond the 512-token window of the
    sliding layers, so those rows are examined and never edited there; the global layers edit them.
    Both paths agree."""
    from sra_search import SRAConfig, enable_sra

    model, tok = gemma3
    case = next(iter(objectives.get("passkey", length=1024, seed=0).cases(tok, n_cases=1)))
    ids = torch.tensor([case.prompt_ids])
    cfg = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=1.5, s_ou=1.5, c_s=4, c_e=32)
    logits = {}
    with torch.no_grad():
        plain = model(ids, logits_to_keep=1).logits[0, -1]
        for impl in ("fast", "reference"):
            with enable_sra(model, cfg, impl=impl) as stats:
                logits[impl] = model(ids, logits_to_keep=1).logits[0, -1]
            per = {(s.layer, s.loop): s for s in stats.per_layer()}
            outer = {layer: per[(layer, "outer")] for layer in range(1, 17)}
            # Layer 1 (sliding) targets block 4 (~positions 150-200) from rows ~990-1024: all hidden.
            assert outer[1].examined_rows > 0 and outer[1].edited_rows == 0
            assert any(outer[g].edited_rows > 0 for g in catalog.GEMMA3.global_layers() if g in outer)
    assert (logits["fast"] - logits["reference"]).abs().max().item() <= 2e-3
    assert (logits["fast"] - plain).abs().max().item() > 1e-3
