"""SRASummary: the one statistics record from the runtime up to a study."""

import json

import pytest
import torch

from sra_search.config import SRAConfig
from sra_search.runtime import SRASummary, enable_sra
from tests.conftest import tiny_model


def test_merge_weights_the_mean_by_edited_rows_and_keeps_the_largest_p95():
    a = SRASummary(examined_rows=10, edited_rows=2, accumulated_attention_mean=1.0, accumulated_attention_p95=1.1)
    b = SRASummary(examined_rows=30, edited_rows=6, accumulated_attention_mean=2.0, accumulated_attention_p95=2.5,
                   inactive_sequences=1, inactive_reasons=("short",))  # fmt: skip
    m = SRASummary.merge([a, None, b])
    assert (m.examined_rows, m.edited_rows, m.inactive_sequences) == (40, 8, 1)
    assert m.accumulated_attention_mean == pytest.approx((2 * 1.0 + 6 * 2.0) / 8)
    assert m.accumulated_attention_p95 == 2.5 and m.edited_share == pytest.approx(0.2)
    assert m.inactive_reasons == ("short",)


def test_nothing_edited_has_no_mean_and_nothing_examined_no_share():
    m = SRASummary.merge([SRASummary(examined_rows=0)])
    assert m.accumulated_attention_mean is None and m.edited_share is None


def test_round_trip_through_json_and_older_trial_records():
    s = SRASummary(examined_rows=9, edited_rows=3, accumulated_attention_mean=1.25, inactive_reasons=("x",))
    assert SRASummary.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    old = {"edited_rows": 4, "examined_rows": None, "edited_share": None, "accumulated_attention_mean": 1.0,
           "accumulated_attention_p95": None}  # fmt: skip
    assert SRASummary.from_dict(old) == SRASummary(edited_rows=4, accumulated_attention_mean=1.0)


def test_the_runtime_statistics_summarise_to_the_same_numbers():
    model = tiny_model("llama")
    cfg = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=3.0, s_ou=3.0, c_s=2, c_e=8)
    with torch.no_grad(), enable_sra(model, cfg) as stats:
        model(torch.randint(1, 128, (1, 80)))
    s = stats.summary()
    assert s.edited_rows == stats.edited_rows > 0 and s.examined_rows == stats.examined_rows
    assert s.accumulated_attention_mean == pytest.approx(stats.accumulated_attention_mean)
    assert stats.to_dict()["edited_share"] == pytest.approx(s.edited_share)
