import torch

from sra_search import SRAConfig
from sra_search.runtime.capture import capture_attention
from tests.conftest import tiny_model

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)


def test_capture_returns_weights_before_and_after_the_edit():
    model = tiny_model("llama")
    ids = torch.randint(1, 128, (1, 80), generator=torch.Generator().manual_seed(0))
    cap = capture_attention(model, CFG, ids, [1])[1]
    before, after = cap["before"], cap["after"]
    assert before.shape == after.shape == (4, 80, 80)
    assert torch.allclose(before.sum(-1), torch.ones(4, 80), atol=1e-5)
    assert {e.loop for e in cap["edits"]} == {"inter", "outer"}
    changed = (before != after).any(-1).any(0).nonzero().flatten().tolist()  # rows that changed
    edited_rows = {r for e in cap["edits"] for r in range(e.row_start, e.row_end)}
    assert changed and set(changed) <= edited_rows
    assert (after.sum(-1) > 1 + 1e-4).any()  # SRA rows sum to more than 1 on purpose
    assert model.config._attn_implementation == "sdpa"


def test_heatmap_png(tmp_path):
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers

    from sra_search.report.heatmap import attention_heatmap

    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(128)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok)
    prompt = " ".join(f"w{(i * 7) % 128}" for i in range(90))
    out = attention_heatmap(tiny_model("llama"), tokenizer, prompt, CFG, 1, tmp_path / "h.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
