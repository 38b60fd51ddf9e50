"""The fast path equals the reference; settings that do nothing change nothing."""

import pytest
import torch

from sra_search import SRAConfig, enable_sra
from tests.conftest import tiny_model

# L=4 layers: SRA needs c_s + c_e + L + 3 = 2 + 8 + 7 = 17 prompt tokens.
CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)
LOOPS = {
    "both": CFG,
    "inter": CFG.model_copy(update={"outer": False}),
    "outer": CFG.model_copy(update={"inter": False}),
}
ARCHS = ["llama", "mistral", "qwen2"]


def _ids(length: int, batch: int = 1, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 128, (batch, length), generator=g)


@pytest.fixture(scope="module", params=ARCHS)
def model(request):
    return tiny_model(request.param)


@pytest.mark.parametrize("length", [12, 16, 17, 40, 150])
@pytest.mark.parametrize("loops", list(LOOPS))
def test_fast_equals_reference(model, length, loops):
    ids = _ids(length)
    cfg = LOOPS[loops]
    with torch.no_grad():
        base = model(ids).logits
        with enable_sra(model, cfg, impl="reference") as ref_stats:
            ref = model(ids).logits
        with enable_sra(model, cfg, impl="fast") as fast_stats:
            fast = model(ids).logits
    assert (fast - ref).abs().max().item() <= 1e-4
    assert fast_stats.edited_rows == ref_stats.edited_rows
    if length < 17:
        assert fast_stats.edited_rows == 0 and len(fast_stats.inactive) == 1
        assert torch.equal(fast, base)
    elif length >= 40:
        # Not a vacuous comparison: SRA did edit rows and moved the logits.
        assert fast_stats.edited_rows > 0
        assert (fast - base).abs().max().item() > 1e-3


def test_gqa_is_exercised():
    m = tiny_model("llama")
    assert m.config.num_attention_heads // m.config.num_key_value_heads == 2


@pytest.mark.parametrize("arch", ARCHS)
def test_noop_settings_give_exactly_the_unmodified_logits(arch):
    model = tiny_model(arch)
    ids = _ids(80)
    noop = SRAConfig(tau_in=1e-30, tau_ou=1e-30, s_in=1.0, s_ou=1.0, c_s=2, c_e=8)
    with torch.no_grad():
        base = model(ids).logits
        with enable_sra(model, noop) as stats:
            fast = model(ids).logits
        with enable_sra(model, noop, impl="reference"):
            ref = model(ids).logits
    assert stats.edited_rows > 0  # rows were examined and passed the gem test ...
    assert stats.removed_mass_mean == 0.0  # ... the thresholds eliminated nothing ...
    assert torch.equal(fast, base)  # ... yet nothing changed, bit for bit
    assert (ref - base).abs().max().item() <= 1e-4  # the reference recomputes every row in float32


def test_stats_accumulate_and_reset():
    model = tiny_model("llama")
    ids = _ids(60)
    with torch.no_grad(), enable_sra(model, CFG) as stats:
        model(ids)
        once = stats.edited_rows
        model(ids)
        assert stats.forwards == 2 and stats.edited_rows == 2 * once
        stats.reset()
        assert stats.forwards == 0 and stats.edited_rows == 0
        model(ids)
        assert stats.edited_rows == once
    d = stats.to_dict(per_layer=True)
    assert d["edited_rows"] == once and 1.0 < d["accumulated_attention_mean"] < 3.0
    layers = {(r["layer"], r["loop"]) for r in d["per_layer"]}
    assert ("inter", "outer") == tuple(sorted({loop for _, loop in layers}))
    assert max(layer for layer, _ in layers) <= model.config.num_hidden_layers - 2
