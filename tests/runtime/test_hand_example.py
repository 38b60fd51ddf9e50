"""A hand-computed example: one head, 12 tokens, numbers worked out on paper from the spec.

Geometry: n=12, L=2, c_s=1, c_e=2 -> m=9, b=ceil(9/5)=2, C = 1,3,5,7,9,10.
Layer 0 inter loop: rows [C4, C5) = [7, 9), targets [C1, C3) = [1, 5), theta = tau_in / C4
= 0.35 / 7 = 0.05. No outer loop (it runs on layers 1..L-2, none when L=2).

The attention is built so the softmax gives chosen rows: keys are one-hot (k_j = e_j),
query i is log(W_i), scaling 1, so scores[i, j] = log W_i[j]; values are one-hot too, so
the attention output *is* the (edited) weight matrix.
"""

import math

import pytest
import torch
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from sra_search import SRAConfig
from sra_search.runtime.edit import edit_rows
from sra_search.runtime.fast import fast_attention
from sra_search.runtime.reference import reference_attention
from sra_search.runtime.session import Session
from sra_search.runtime.stats import SRAStats

N = 12
CFG = SRAConfig(tau_in=0.35, tau_ou=1.0, s_in=2.0, s_ou=1.0, c_s=1, c_e=2)

ROW7 = [0.30, 0.04, 0.10, 0.03, 0.02, 0.06, 0.25, 0.20]  # gem test passes: W[2]=0.10 > 0.05
ROW8 = [0.20, 0.01, 0.02, 0.04, 0.03, 0.30, 0.10, 0.05, 0.25]  # no target weight > 0.05: unchanged

# Row 7 by hand: eliminated W[1], W[3], W[4] (0.04, 0.03, 0.02 <= 0.05) -> r = 0.09.
# Target shares: key1 0.01, key2 1, key3 0.01, key4 0.01 -> sum 1.03; s*r = 0.18.
EXPECTED_ROW7 = [
    0.30,
    0.18 * 0.01 / 1.03,  # 0.00174757
    0.10 + 0.18 / 1.03,  # 0.27475728
    0.18 * 0.01 / 1.03,
    0.18 * 0.01 / 1.03,
    0.06,
    0.25,
    0.20,
]


def _weights() -> torch.Tensor:
    w = torch.zeros(N, N)
    for i in range(N):
        w[i, : i + 1] = 1.0 / (i + 1)  # plain uniform causal rows elsewhere
    w[7, :8] = torch.tensor(ROW7)
    w[8, :9] = torch.tensor(ROW8)
    return w


class _Head(torch.nn.Module):
    layer_idx = 0
    is_causal = True
    scaling = 1.0


def _run(impl: str):
    w = _weights()
    query = torch.where(w > 0, w.log(), torch.zeros(())).view(1, 1, N, N)
    eye = torch.eye(N).view(1, 1, N, N)
    session = Session(CFG, num_layers=2, impl=impl, stats=SRAStats(2))
    if impl == "reference":
        out = reference_attention(session, _Head(), query, eye, eye, None, 1.0)
    else:
        out = fast_attention(session, ALL_ATTENTION_FUNCTIONS["sdpa"], _Head(), query, eye, eye, None, 1.0)
    return out[0, :, 0, :], session.stats


def test_row_edit_by_hand():
    row = torch.tensor([ROW7 + [0.0] * 4])
    res = edit_rows(row, 1, 5, theta=0.05, scale=2.0, gem_share=0.01)
    assert res.edited.tolist() == [True]
    assert res.removed.item() == pytest.approx(0.09, abs=1e-7)
    assert res.accumulated.item() == pytest.approx(1.09, abs=1e-7)  # 1 + (s-1) r
    for got, want in zip(res.weights[0, :8].tolist(), EXPECTED_ROW7):
        assert got == pytest.approx(want, abs=1e-7)
    assert res.weights.sum().item() == pytest.approx(1.09, abs=1e-6)


def test_row_without_gem_is_left_exactly_as_it_was():
    row = torch.tensor([ROW8 + [0.0] * 3])
    res = edit_rows(row, 1, 5, theta=0.05, scale=2.0, gem_share=0.01)
    assert res.edited.tolist() == [False]
    assert torch.equal(res.weights, row)


def test_in_place_edit_matches_on_edited_rows():
    """The fast path's in-place edit: on rows that pass the gem test the same weights up to float32
    rounding (its removed mass is the row sum's drop, not the eliminated entries' own sum), the
    same gem test for every row; only rows failing the test may differ (the caller drops them)."""
    torch.manual_seed(0)
    w = torch.softmax(torch.randn(3, 6, 40) * 2, dim=-1)
    ref = edit_rows(w.clone(), 5, 15, theta=0.02, scale=3.0, gem_share=0.01)
    buf = w.clone()
    fast = edit_rows(buf, 5, 15, theta=0.02, scale=3.0, gem_share=0.01, in_place=True)
    assert fast.weights.data_ptr() == buf.data_ptr()  # no copy of the rows
    assert torch.equal(fast.edited, ref.edited)
    assert torch.allclose(fast.removed, ref.removed, atol=1e-6, rtol=0)
    assert torch.allclose(fast.accumulated, ref.accumulated, atol=3e-6, rtol=0)
    assert 0 < int(ref.edited.sum()) < ref.edited.numel()  # both kinds of row are exercised
    assert torch.allclose(fast.weights[ref.edited], ref.weights[ref.edited], atol=3e-6, rtol=0)
    assert not torch.equal(fast.weights[ref.edited], w[ref.edited])  # the rows were edited


def test_in_place_edit_with_nothing_eliminated_removes_exactly_zero():
    """A row whose entries all exceed theta: the in-place edit reports removed mass exactly 0
    (so the fast path keeps SDPA's output for it, bit for bit) and leaves the weights as they were."""
    torch.manual_seed(1)
    w = torch.softmax(torch.randn(2, 4, 30) * 0.1, dim=-1)  # flat rows: every entry ~1/30
    buf = w.clone()
    res = edit_rows(buf, 3, 9, theta=float(w.min()) / 2, scale=3.0, gem_share=0.01, in_place=True)
    assert bool(res.edited.all())
    assert torch.equal(res.removed, torch.zeros_like(res.removed))
    assert not bool(res.changed.any())
    assert torch.equal(res.weights, w)


@pytest.mark.parametrize("impl", ["reference", "fast"])
def test_attention_layer_by_hand(impl):
    out, stats = _run(impl)
    expected = _weights()
    expected[7, :8] = torch.tensor(EXPECTED_ROW7)
    for i in range(N):
        for j in range(N):
            assert out[i, j].item() == pytest.approx(expected[i, j].item(), abs=1e-6), (i, j)
    (layer,) = stats.per_layer()
    assert (layer.layer, layer.loop, layer.examined_rows, layer.edited_rows) == (0, "inter", 2, 1)
    assert layer.removed_mass_mean == pytest.approx(0.09, abs=1e-6)
    assert layer.accumulated_attention_max == pytest.approx(1.09, abs=1e-6)
    assert not math.isnan(stats.accumulated_attention_mean)
