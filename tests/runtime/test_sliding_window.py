"""Sliding-window layers (Gemma 3 mixes them with full layers, Mistral has them everywhere):
SRA never gives weight to a key the layer's own mask hides (spec, "Sliding-window layers")."""

import pytest
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig
from transformers.masking_utils import sdpa_mask, sliding_window_causal_mask_function

from objectives.forward import left_pad
from sra_search import SRAConfig, enable_sra
from sra_search.models import UnsupportedModelError, check_supported
from sra_search.runtime import context
from sra_search.runtime.capture import capture_attention
from sra_search.runtime.edit import edit_rows
from sra_search.runtime.masks import allowed_keys
from tests.conftest import tiny_model

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)
NOOP = SRAConfig(tau_in=1e-30, tau_ou=1e-30, s_in=1.0, s_ou=1.0, c_s=2, c_e=8)
GEMMA_TYPES = ["sliding_attention", "sliding_attention", "full_attention"] * 2
# The plain model's own logits differ by ~1.4e-4 between a left-padded batch and one sequence
# (SDPA with a mask vs is_causal); SRA must add no more than float noise to that.
PAD_TOL = 5e-4
# With n=150, c_s=2, c_e=8 the blocks are 16 (Gemma, L=6) or 20 (Mistral, L=4) tokens: windows of
# 24 and 32 keep part of the inter loop's targets for its first rows only, and hide every target
# of most outer-loop rows.
WINDOWS = {"gemma3": 24, "mistral": 32}
N = 150


def tiny_gemma3(seed: int = 0, **overrides) -> Gemma3ForCausalLM:
    """A 6-layer random Gemma 3: sliding, sliding, full, twice."""
    common = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        query_pre_attn_scalar=16,
        vocab_size=128,
        max_position_embeddings=1024,
        sliding_window=WINDOWS["gemma3"],
        layer_types=GEMMA_TYPES,
        initializer_range=0.3,
        tie_word_embeddings=False,
    )
    common.update(overrides)
    torch.manual_seed(seed)
    return Gemma3ForCausalLM._from_config(Gemma3TextConfig(**common), attn_implementation="sdpa").eval()


def _build(arch: str):
    if arch == "gemma3":
        return tiny_gemma3()
    return tiny_model("mistral", sliding_window=WINDOWS["mistral"])


def _window(model, layer: int) -> int | None:
    """The layer's window as its attention module passes it (Mistral: the config's, every layer)."""
    attn = model.model.layers[layer].self_attn
    return getattr(attn, "sliding_window", model.config.sliding_window)


def _ids(length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(1, 128, (1, length), generator=torch.Generator().manual_seed(seed))


def _hidden(n: int, window: int | None) -> torch.Tensor:
    """Bool [n, n]: keys query q may not see (transformers' sliding_window_overlay + causality)."""
    q = torch.arange(n)[:, None]
    k = torch.arange(n)[None, :]
    hidden = k > q
    return hidden | (k <= q - window) if window is not None else hidden


@pytest.fixture(scope="module", params=list(WINDOWS))
def model(request):
    return _build(request.param)


# -- edit_rows: the rule itself -----------------------------------------------------------------


def _windowed_row(n: int, window: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax rows of a sliding layer (its last 4 queries, 2 heads) and which keys they see."""
    g = torch.Generator().manual_seed(seed)
    allowed = ~_hidden(n, window)[-4:]  # the last 4 query rows
    scores = torch.randn(2, 4, n, generator=g) * 3
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    return weights, allowed


@pytest.mark.parametrize("in_place", [False, True])
def test_partly_hidden_target_gives_the_hidden_keys_nothing(in_place):
    n, window, theta, scale = 40, 12, 0.05, 2.5  # query rows 36..39 see keys 25..36 .. 28..39
    weights, allowed = _windowed_row(n, window)
    start, end = 20, 30  # keys 20..24 are hidden from every row, 25..29 partly visible
    res = edit_rows(weights.clone(), start, end, theta, scale, 0.01, visible=allowed[:, start:end], in_place=in_place)
    ok = res.edited  # in place, rows failing the gem test are not meaningful
    assert ok.sum() >= 4 and res.changed.any()
    on_hidden = ((res.weights != 0) & ~allowed).any(-1)
    assert not on_hidden[ok].any()  # nothing moved onto a hidden key, target or not
    target = weights[..., start:end]
    gained = (res.weights[..., start:end] - torch.where(target > theta, target, 0.0)).sum(-1)
    assert torch.allclose(gained[ok], scale * res.removed[ok], atol=1e-6)  # all of s * r on visible keys
    assert torch.allclose(res.weights.sum(-1)[ok], res.accumulated[ok], atol=1e-5)
    # The old rule (every target key shares, hidden ones with gem_share) puts mass where the
    # window forbids it -- the bug this rule fixes.
    old = edit_rows(weights.clone(), start, end, theta, scale, 0.01, in_place=in_place)
    assert ((old.weights != 0) & ~allowed).any(-1)[old.edited].any()


def test_whole_target_hidden_is_examined_not_edited():
    n, window = 40, 12
    weights, allowed = _windowed_row(n, window)
    start, end = 5, 15  # far outside every row's window
    res = edit_rows(weights, start, end, 1e-9, 2.5, 0.01, visible=allowed[:, start:end])
    assert res.edited.numel() == 8 and not res.edited.any()
    assert torch.equal(res.weights, weights)


def test_visibility_is_not_read_off_zero_weights():
    # Target keys 2..4: key 2 visible but its weight underflowed to 0, key 3 visible and surviving,
    # key 4 hidden. Shares 0.5, 1, 0 of s * r = 2 * 0.04.
    w = torch.tensor([[0.04, 0.56, 0.0, 0.4, 0.0]])
    visible = torch.tensor([True, True, False])
    res = edit_rows(w.clone(), 2, 5, 0.05, 2.0, 0.5, visible=visible)
    expected = torch.tensor([[0.0, 0.56, 0.08 * 0.5 / 1.5, 0.4 + 0.08 / 1.5, 0.0]])
    assert res.edited.item() and torch.allclose(res.weights, expected, atol=1e-7)
    assert res.weights[0, 4] == 0


# -- masks: transformers' window semantics ------------------------------------------------------


@pytest.mark.parametrize("q_len", [1, 5, 40])
def test_allowed_keys_rebuilds_transformers_window(q_len):
    k_len, window = 40, 7
    pad = torch.ones(2, k_len, dtype=torch.bool)
    pad[1, :9] = False  # left padding
    for mask2d in (None, pad):
        expected = sdpa_mask(
            batch_size=2, q_length=q_len, kv_length=k_len, q_offset=k_len - q_len,
            mask_function=sliding_window_causal_mask_function(window), attention_mask=mask2d,
            allow_is_causal_skip=False,
        )  # fmt: skip
        got = allowed_keys(mask2d, q_len, k_len, sliding_window=window).expand_as(expected)
        assert torch.equal(got, expected)


def test_missing_mask_with_a_window_is_rebuilt_in_both_paths():
    # transformers drops a sliding layer's mask only when the window cuts nothing; a caller that
    # drops it anyway must get the windowed attention, in SDPA's rows and the recomputed ones.
    model = tiny_gemma3()
    attn = model.model.layers[1].self_attn  # sliding, edited by both loops
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, h, N, 16, generator=g) for h in (4, 2, 2))
    window = attn.sliding_window
    full = allowed_keys(None, N, N, sliding_window=window)
    outs = {}
    for impl in ("fast", "reference"):
        with enable_sra(model, CFG, impl=impl) as stats:
            given = context.sra_attention(attn, q, k, v, full, scaling=0.25, sliding_window=window)[0]
            rebuilt = context.sra_attention(attn, q, k, v, None, scaling=0.25, sliding_window=window)[0]
        assert stats.edited_rows > 0
        assert torch.equal(given, rebuilt)
        outs[impl] = given
    assert (outs["fast"] - outs["reference"]).abs().max().item() <= 1e-5


# -- whole models ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [64, N])
def test_fast_equals_reference(model, length):
    ids = _ids(length)
    with torch.no_grad():
        base = model(ids).logits
        with enable_sra(model, CFG, impl="reference") as ref_stats:
            ref = model(ids).logits
        with enable_sra(model, CFG, impl="fast") as fast_stats:
            fast = model(ids).logits
    assert (fast - ref).abs().max().item() <= 1e-4
    assert fast_stats.edited_rows == ref_stats.edited_rows > 0
    # The fast path starts a chunk's keys at its window and skips chunks whose target the window
    # hides; per layer and loop it still examines and edits the rows the reference does.
    counts = lambda st: [(s.layer, s.loop, s.examined_rows, s.edited_rows) for s in st.per_layer()]  # noqa: E731
    assert counts(fast_stats) == counts(ref_stats)
    assert (fast - base).abs().max().item() > 1e-3


def test_hidden_keys_never_receive_weight(model):
    layers = list(range(model.config.num_hidden_layers))
    captured = capture_attention(model, CFG, _ids(N), layers)
    changed_sliding = 0
    for layer, cap in captured.items():
        window = _window(model, layer)
        hidden = _hidden(N, window)
        # The mask the layer got is its own (Gemma 3 picks it from a per-layer-type mapping) ...
        assert (cap["before"][:, hidden] == 0).all(), layer
        # ... and SRA moved no mass onto a key it hides.
        assert (cap["after"][:, hidden] == 0).all(), layer
        if window is not None:
            changed_sliding += int((cap["after"] != cap["before"]).any())
    assert changed_sliding > 0


def test_rows_whose_target_is_hidden_are_examined_not_edited(model):
    layers = list(range(model.config.num_hidden_layers))
    with torch.no_grad(), enable_sra(model, CFG, impl="reference") as stats:
        session = context.session_of(model)
        session.capture_layers = frozenset(layers)
        model(_ids(N))
        captured = dict(session.captured)
    counts = {(s.layer, s.loop): (s.examined_rows, s.edited_rows) for s in stats.per_layer()}
    hidden_only = 0
    for layer, cap in captured.items():
        hidden = _hidden(N, _window(model, layer))
        for e in cap["edits"]:
            rows, targets = slice(e.row_start, e.row_end), slice(e.target_start, e.target_end)
            visible = ~hidden[rows, targets]  # [rows, targets]
            gem = ((cap["before"][:, rows, targets] > e.theta) & visible).any(-1)  # [heads, rows]
            heads = gem.shape[0]
            assert counts[(layer, e.loop)] == (heads * e.n_rows, int(gem.sum())), (layer, e.loop)
            hidden_only += heads * int((~visible.any(-1)).sum())
            if not visible.any():  # e.g. the outer loop of a sliding layer, targets far back
                assert counts[(layer, e.loop)][1] == 0
    assert hidden_only > 0 and stats.edited_rows > 0


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_left_padded_batch_matches_each_sequence_alone(model, impl):
    seqs = [_ids(N, 1)[0], _ids(90, 2)[0], _ids(12, 3)[0]]  # the last one is too short for SRA
    ids, mask, _ = left_pad([s.tolist() for s in seqs], 0, "cpu")
    width = ids.shape[1]
    with torch.no_grad():
        with enable_sra(model, CFG, impl=impl) as batch_stats:
            batched = model(ids, attention_mask=mask).logits
        for i, s in enumerate(seqs):
            with enable_sra(model, CFG, impl=impl):
                alone = model(s[None]).logits[0]
            assert (batched[i, width - len(s) :] - alone).abs().max().item() <= PAD_TOL, i
    assert batch_stats.edited_rows > 0
    assert [r.sequence for r in batch_stats.inactive] == [2]


def test_prompt_len_per_sequence_with_padding(model):
    a, b = _ids(N, 7)[0], _ids(100, 8)[0]
    ans = torch.tensor([5, 6, 7])
    rows = [torch.cat([a, ans]), torch.cat([b, ans])]
    ids, mask, _ = left_pad([r.tolist() for r in rows], 0, "cpu")
    width = ids.shape[1]
    with torch.no_grad():
        with enable_sra(model, CFG, prompt_len=[N, 100]):
            batched = model(ids, attention_mask=mask).logits
        with enable_sra(model, CFG, prompt_len=100):
            alone = model(rows[1][None]).logits[0]
    assert (batched[1, width - len(rows[1]) :] - alone).abs().max().item() <= PAD_TOL


def test_noop_settings_give_the_unmodified_logits(model):
    ids = _ids(N)
    with torch.no_grad():
        base = model(ids).logits
        with enable_sra(model, NOOP) as stats:
            fast = model(ids).logits
        with enable_sra(model, NOOP, impl="reference"):
            ref = model(ids).logits
    assert stats.edited_rows > 0 and stats.removed_mass_mean == 0.0
    assert torch.equal(fast, base)
    assert (ref - base).abs().max().item() <= 1e-4


# -- which architectures are accepted ----------------------------------------------------------


def test_gemma3_is_supported():
    model = tiny_gemma3()
    assert model.config.attn_logit_softcapping is None
    check_supported(model)
    with torch.no_grad(), enable_sra(model, CFG) as stats:
        model(_ids(80))
    assert stats.edited_rows > 0


def _tiny_gemma2(**overrides) -> Gemma2ForCausalLM:
    config = Gemma2Config(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, vocab_size=128, sliding_window=16, **overrides,
    )  # fmt: skip
    return Gemma2ForCausalLM._from_config(config, attn_implementation="eager").eval()  # no SDPA with softcap


def test_softcapping_is_refused_naming_the_architecture():
    model = _tiny_gemma2(attn_logit_softcapping=50.0)
    with pytest.raises(UnsupportedModelError, match=r"Gemma2ForCausalLM \(gemma2\).*soft-capping.*50\.0"):
        check_supported(model)
    with pytest.raises(UnsupportedModelError, match="Gemma2ForCausalLM"):
        with enable_sra(model, CFG):
            pass
    assert model.config._attn_implementation == "eager"  # refused before anything was switched
    with pytest.raises(UnsupportedModelError, match=r"Gemma3ForCausalLM.*soft-capping"):
        check_supported(tiny_gemma3(attn_logit_softcapping=30.0))


def test_bidirectional_gemma3_is_refused():
    with pytest.raises(UnsupportedModelError, match=r"Gemma3ForCausalLM.*bidirectional"):
        check_supported(tiny_gemma3(use_bidirectional_attention=True))


def test_a_softcap_passed_at_run_time_is_refused():
    model = tiny_gemma3()
    attn = model.model.layers[0].self_attn
    q = torch.randn(1, 4, 20, 16)
    kv = torch.randn(1, 2, 20, 16)
    with enable_sra(model, CFG), pytest.raises(UnsupportedModelError, match="Gemma3Attention.*softcap"):
        context.sra_attention(attn, q, kv, kv, None, scaling=0.25, softcap=50.0)
