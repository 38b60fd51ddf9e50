import math

from sra_search import SRAConfig
from sra_search.runtime.geometry import boundaries, inactive_reason, plan_layer

CFG = SRAConfig(tau_in=0.5, tau_ou=0.7, s_in=2.0, s_ou=3.0, c_s=5, c_e=50)


def test_boundaries_follow_the_spec():
    n, L = 1000, 30
    C = boundaries(n, L, CFG)
    m = n - 50 - 5
    b = math.ceil(m / (L + 3))
    assert len(C) == L + 4
    assert C[0] == 5 and C[1] == 5 + b
    assert C[-1] == n - 50  # clipped at n - c_e
    assert all(x <= y for x, y in zip(C, C[1:]))


def test_inactive_when_middle_region_is_short():
    L = 30
    need = 5 + 50 + L + 3
    assert inactive_reason(need, L, CFG) is None
    reason = inactive_reason(need - 1, L, CFG)
    assert reason is not None and "L+3" in reason
    assert plan_layer(need - 1, L, 3, CFG) == []


def test_loops_per_layer_and_thresholds():
    n, L = 1000, 30
    C = boundaries(n, L, CFG)
    c = lambda k: C[k - 1]  # noqa: E731 -- the spec's 1-based C_k
    assert [e.loop for e in plan_layer(n, L, 0, CFG)] == ["inter"]
    for i in range(1, L - 1):
        inter, outer = plan_layer(n, L, i, CFG)
        assert (inter.row_start, inter.row_end) == (c(i + 4), c(i + 5))
        assert (inter.target_start, inter.target_end) == (c(i + 1), c(i + 3))
        assert inter.theta == CFG.tau_in / c(i + 4) and inter.scale == CFG.s_in
        assert (outer.row_start, outer.row_end) == (n - 50, n)
        assert (outer.target_start, outer.target_end) == (c(i + 3), c(i + 4))
        assert outer.theta == CFG.tau_ou / (n - 50) and outer.scale == CFG.s_ou
    assert plan_layer(n, L, L - 1, CFG) == []  # the last layer is never edited


def test_outer_loop_targets_the_block_the_inter_loop_strengthened():
    n, L = 777, 12
    for i in range(0, L - 2):
        inter = plan_layer(n, L, i, CFG)[0]
        outer = [e for e in plan_layer(n, L, i + 1, CFG) if e.loop == "outer"][0]
        assert (outer.target_start, outer.target_end) == (inter.row_start, inter.row_end)


def test_loop_switches():
    inter_only = CFG.model_copy(update={"outer": False})
    outer_only = CFG.model_copy(update={"inter": False})
    assert {e.loop for i in range(30) for e in plan_layer(1000, 30, i, inter_only)} == {"inter"}
    assert {e.loop for i in range(30) for e in plan_layer(1000, 30, i, outer_only)} == {"outer"}
