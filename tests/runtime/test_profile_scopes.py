"""The fast path names its parts for torch's profiler only when asked (benchmarks/profile_prefill.py)."""

import torch
from torch.profiler import ProfilerActivity, profile

from sra_search import SRAConfig, enable_sra
from sra_search.runtime import fast
from tests.conftest import tiny_model

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)
PARTS = {"sra::sdpa", "sra::plan", "sra::rows", "sra::mask", "sra::edit", "sra::write"}


def _profiled_keys(model) -> set[str]:
    ids = torch.randint(0, 128, (1, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), enable_sra(model, CFG) as stats, profile(activities=[ProfilerActivity.CPU]) as prof:
        model(ids)
    assert stats.edited_rows > 0
    return {e.key for e in prof.key_averages()}


def test_scopes_are_named_when_profiling_and_absent_otherwise(monkeypatch):
    model = tiny_model("llama")
    assert not fast.PROFILE_SCOPES  # off by default: no per-call cost on decode steps
    assert not PARTS & _profiled_keys(model)
    monkeypatch.setattr(fast, "PROFILE_SCOPES", True)
    assert PARTS <= _profiled_keys(model)
