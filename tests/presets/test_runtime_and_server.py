"""Presets in the runtime (bucket per prompt length, fingerprint check) and over HTTP."""

import pytest
import torch
from fastapi.testclient import TestClient

from objectives.forward import left_pad
from sra_search import enable_sra
from sra_search.presets import Registry, model_fingerprint, publish
from sra_search.presets.server import create_app
from sra_search.presets import PresetMismatchError, apply
from tests.conftest import tiny_model
from tests.presets.conftest import LONG, SHORT, make_preset

PAD = 0


def _seq(n, seed):
    return torch.randint(1, 128, (n,), generator=torch.Generator().manual_seed(seed))


def test_fingerprint_is_stable_and_tells_weights_apart(llama):
    again = tiny_model("llama")  # same seed: same weights
    other = tiny_model("llama", seed=1)
    assert model_fingerprint(llama) == model_fingerprint(again) != model_fingerprint(other)


def test_each_sequence_gets_the_bucket_of_its_prompt_length(llama, preset_for_llama):
    short, long_, too_long = _seq(50, 1), _seq(120, 2), _seq(230, 3)
    seqs = [short, long_, too_long]
    ids, mask, _ = left_pad([s.tolist() for s in seqs], PAD, "cpu")
    width = ids.shape[1]
    with torch.no_grad():
        with enable_sra(llama, preset_for_llama) as stats:
            batched = llama(ids, attention_mask=mask).logits
        # Padding vs no padding changes SDPA's kernel: float noise up to ~1e-4 here. Using the
        # other bucket's config would move the logits by far more than the tolerance.
        for i, (s, cfg, wrong) in enumerate([(short, SHORT, LONG), (long_, LONG, SHORT)]):
            with enable_sra(llama, cfg):
                alone = llama(s[None]).logits[0]
            with enable_sra(llama, wrong):
                other_bucket = llama(s[None]).logits[0]
            assert (batched[i, width - len(s) :] - alone).abs().max().item() <= 5e-4
            assert (other_bucket - alone).abs().max().item() > 1e-2
        plain = llama(too_long[None]).logits[0]
    assert (batched[2] - plain).abs().max().item() <= 5e-4  # no bucket: untouched
    (inactive,) = stats.inactive
    assert inactive.sequence == 2 and "no bucket for 230 tokens" in inactive.reason


def test_fingerprint_mismatch_is_refused_unless_overridden(preset_for_llama):
    other = tiny_model("llama", seed=1)
    with pytest.raises(PresetMismatchError, match="fingerprint"):
        with enable_sra(other, preset_for_llama):
            pass
    with pytest.warns(UserWarning, match="applying it anyway"):
        with enable_sra(other, preset_for_llama, allow_fingerprint_mismatch=True):
            pass


def test_fingerprint_is_computed_once_per_model_until_its_weights_change(monkeypatch, preset_for_llama):
    model = tiny_model("llama")  # the preset's weights, in a model not seen before
    calls = []
    real = apply.model_fingerprint
    monkeypatch.setattr(apply, "model_fingerprint", lambda m: calls.append(m) or real(m))
    for _ in range(2):
        with enable_sra(model, preset_for_llama):
            pass
    assert len(calls) == 1
    with pytest.raises(PresetMismatchError, match="fingerprint"):  # the cache still checks each preset
        with enable_sra(model, make_preset()):
            pass
    assert len(calls) == 1
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # in place: same tensor, other weights
    with pytest.raises(PresetMismatchError, match="fingerprint"):
        with enable_sra(model, preset_for_llama):
            pass
    assert len(calls) == 2


def test_http_api(tmp_path, preset_for_llama):
    publish(preset_for_llama, tmp_path)
    publish(preset_for_llama, tmp_path)
    client = TestClient(create_app(Registry(tmp_path)))
    listed = client.get("/presets").json()
    assert [(p["model"], p["task"], p["version"]) for p in listed] == [("tiny-llama", "passkey", 1), ("tiny-llama", "passkey", 2)]
    assert "location" in listed[0] and str(tmp_path) not in str(listed)  # no server paths leaked
    got = client.get("/presets/tiny-llama/passkey", params={"version": "1"})
    assert got.status_code == 200 and got.json()["version"] == 1
    assert client.get("/presets/tiny-llama/passkey").json()["version"] == 2
    assert client.get("/presets/tiny-llama/nope").status_code == 404
    assert client.get("/presets/tiny-llama/passkey", params={"version": "../1"}).status_code == 422
    for bad in ["/presets/..%2F..%2Fetc/passkey", "/presets/UPPER/passkey", "/presets/a..b/x"]:
        assert client.get(bad).status_code in (400, 404), bad


def test_fingerprint_samples_large_tensors_within_bounds():
    # 28,311,552 entries is SmolLM2's embedding: a float32 linspace overshoots its last index.
    big = torch.nn.Linear(576, 49152, bias=False)
    model = torch.nn.Module()
    model.lm = big
    model.config = type("C", (), {"to_dict": lambda self: {"vocab_size": 49152}})()
    fp = model_fingerprint(model)
    assert fp.startswith("sha256:") and fp == model_fingerprint(model)


def test_a_preset_is_a_runtime_config_source(preset_for_llama):
    """The runtime sees a preset only through its ConfigSource protocol (no preset import there)."""
    from sra_search.runtime import ConfigSource

    assert isinstance(preset_for_llama, ConfigSource)
    b = preset_for_llama.buckets[0]
    assert preset_for_llama.config_for(b.min_tokens) == b.config
    assert "no bucket for 0 tokens" in preset_for_llama.no_config_reason(0)


def test_any_config_source_drives_the_runtime():
    """A source that is not a preset: its check runs on entry, its configs per prompt length apply."""
    from sra_search.config import SRAConfig

    cfg = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=2.0, s_ou=2.0, c_s=2, c_e=8)

    class LongOnly:
        checked = []

        def config_for(self, n):
            return cfg if n >= 64 else None

        def no_config_reason(self, n):
            return f"only long prompts, not {n}"

        def check_model(self, model, *, allow_mismatch=False):
            self.checked.append(allow_mismatch)

    model = tiny_model("llama")
    src = LongOnly()
    with torch.no_grad(), enable_sra(model, src) as stats:
        model(_seq(40, 0)[None])
        model(_seq(80, 1)[None])
    assert src.checked == [False]
    assert [i.reason for i in stats.inactive] == ["only long prompts, not 40"]
    assert stats.edited_rows > 0
