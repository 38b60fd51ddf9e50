"""SRA on the real default model (SmolLM2-135M-Instruct, 30 layers)."""

import pytest
import torch

from sra_search import SRAConfig, enable_sra
from sra_search.demo import passkey_prompt, run_demo

pytestmark = pytest.mark.smollm2


def test_sra_edits_every_layer_the_spec_names_and_changes_logits(smollm2):
    model, tok = smollm2
    prompt, _ = passkey_prompt(tok, 1024, seed=3)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    assert 900 <= ids.shape[1] <= 1100
    L = model.config.num_hidden_layers
    with torch.no_grad():
        base = model(ids).logits[0, -1]
        with enable_sra(model, SRAConfig.paper_public()) as stats:
            edited = model(ids).logits[0, -1]
    assert stats.edited_layers("inter") == list(range(0, L - 1))
    assert stats.edited_layers("outer") == list(range(1, L - 1))
    assert (edited - base).abs().max().item() > 1e-2
    assert 1.0 < stats.accumulated_attention_mean < 5.0  # 1 + (s-1) r with s=5, 0 < r < 1


def test_demo_answers_with_and_without_sra(smollm2):
    model, tok = smollm2
    n, runs = run_demo(model, tok, SRAConfig.paper_public(), target_tokens=512, seed=1)
    assert 400 <= n <= 600
    assert [r.label for r in runs] == ["baseline", "SRA"]
    assert runs[0].stats is None and runs[1].stats.edited_rows > 0
    assert all(isinstance(r.answer, str) for r in runs)
