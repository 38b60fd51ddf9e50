"""`[workers] resources` and the placement check's message, without a cluster."""

from __future__ import annotations

import pytest

from sra_search.search.execution.placement import capacity_problem, fits, placement_problem, worker_request
from sra_search.search.studyfile.schema import StudyFileError, parse_study

NODES = [
    {"CPU": 0.0, "head": 1.0, "node:__internal_head__": 1.0, "memory": 1e9},
    {"CPU": 4.0, "GPU": 1.0, "node_a": 1.0, "node:10.0.0.2": 1.0},
    {"CPU": 4.0, "GPU": 1.0, "node_b": 1.0},
]


def test_worker_request_leaves_out_zero_amounts():
    assert worker_request(1, 0, {"node_a": 1}) == {"CPU": 1.0, "node_a": 1.0}
    assert worker_request(0, 0, {}) == {}


def test_a_missing_resource_is_named():
    problem = capacity_problem({"CPU": 1.0, "node_z": 1.0}, 2, NODES)
    assert problem.startswith("no node has node_z = 1")
    assert "CPU = 8" in problem and "node:" not in problem and "memory" not in problem


def test_too_few_slots_and_enough():
    assert fits(NODES[1], {"CPU": 1.0, "GPU": 1.0}) == 1
    assert "hold 2 such workers, not 3" in capacity_problem({"CPU": 1.0, "GPU": 1.0}, 3, NODES)
    assert capacity_problem({"CPU": 1.0, "GPU": 1.0}, 2, NODES) is None
    assert "in use" in placement_problem({"CPU": 1.0, "GPU": 1.0}, 2, NODES)
    # Resources must be on the same node: node_a's GPU and node_b's label do not make one slot.
    assert capacity_problem({"GPU": 1.0, "node_a": 1.0, "node_b": 1.0}, 1, NODES).startswith("its nodes hold 0")


def _study(workers: str) -> str:
    return f"""
name = "w"
model = "m"
[[tasks]]
name = "passkey"
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}
[budget]
trials = 1
[workers]
{workers}
"""


def test_workers_resources_in_a_study_file():
    spec = parse_study(_study("resources = { node_a = 1, accel_x = 0.5 }\nplacement_timeout_s = 30"))
    assert spec.workers.resources == {"node_a": 1.0, "accel_x": 0.5}
    assert spec.workers.placement_timeout_s == 30
    assert parse_study(_study("count = 1")).workers.placement_timeout_s == 120


@pytest.mark.parametrize("bad", ["resources = { CPU = 1 }", "resources = { node_a = 0 }", 'resources = { node_a = "1" }',
                                 "resources = { node_a = nan }", "placement_timeout_s = 0", 'resources = { "a b" = 1 }'])
def test_bad_workers_resources_name_the_key(bad):
    with pytest.raises(StudyFileError, match=r"workers\.(resources|placement_timeout_s)"):
        parse_study(_study(bad))
