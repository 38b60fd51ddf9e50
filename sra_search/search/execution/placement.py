"""Can the Ray cluster place the study's workers? Checked before any actor starts.

A Ray actor whose resources no node can give stays pending forever, silently. So the pool first
reserves one bundle per worker in a placement group and waits for it with a deadline
(``[workers] placement_timeout_s``); past it the study stops with one line that names the
resource the cluster lacks. The deadline restarts when a node joins (an autoscaler at work).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

IGNORED = ("memory", "object_store_memory")
"""Node resources that are not requests of a worker (Ray adds them to every node)."""


def worker_request(cpus: float, gpus: float, resources: dict[str, float]) -> dict[str, float]:
    """What one worker actor asks Ray for (zero amounts left out, as Ray does)."""
    req = {"CPU": float(cpus), "GPU": float(gpus), **{k: float(v) for k, v in resources.items()}}
    return {k: v for k, v in req.items() if v > 0}


def fmt(resources: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in sorted(resources.items())) or "nothing"


def _shown(resources: dict[str, float]) -> dict[str, float]:
    # node:<ip> and placement-group resources (name_group_<id>) are Ray's bookkeeping, not capacity.
    return {k: v for k, v in resources.items() if k not in IGNORED and not k.startswith("node:") and "_group_" not in k}


def fits(node: dict[str, float], request: dict[str, float]) -> int:
    """How many workers asking ``request`` one node of ``node`` resources holds."""
    if not request:
        return 10**9
    return min(math.floor(node.get(k, 0.0) / v + 1e-9) for k, v in request.items())


def capacity_problem(request: dict[str, float], n: int, nodes: list[dict[str, float]]) -> str | None:
    """Why ``n`` workers asking ``request`` each can never fit on ``nodes`` (their total resources),
    or ``None`` when the nodes hold them."""
    totals: dict[str, float] = {}
    for node in nodes:
        for k, v in _shown(node).items():
            totals[k] = totals.get(k, 0.0) + v
    have = f"the cluster has {fmt(totals)} on {len(nodes)} node{'s' if len(nodes) != 1 else ''}"
    missing = [k for k, v in request.items() if not any(node.get(k, 0.0) + 1e-9 >= v for node in nodes)]
    if missing:
        names = ", ".join(f"{k} = {request[k]:g}" for k in missing)
        return f"no node has {names} ({have})"
    room = sum(fits(node, request) for node in nodes)
    if room < n:
        return f"its nodes hold {room} such workers, not {n} ({have})"
    return None


def placement_problem(request: dict[str, float], n: int, nodes: list[dict[str, float]]) -> str:
    """Why Ray did not place the workers: missing capacity, or capacity in use by others."""
    return capacity_problem(request, n, nodes) or "enough in total, but in use by other jobs or actors"


def alive_node_resources(ray: Any) -> list[dict[str, float]]:
    return [dict(n.get("Resources") or {}) for n in ray.nodes() if n.get("Alive")]


def wait_placeable(ray: Any, request: dict[str, float], n: int, timeout_s: float,
                   on_wait: Callable[[str], None] = lambda _msg: None) -> str | None:  # fmt: skip
    """Reserve ``n`` bundles of ``request`` and release them; ``None`` when Ray placed them, else why not.

    The reservation is all-or-nothing, so "3 of 4 workers fit" is caught too (it would leave the
    fourth actor pending forever). ``on_wait`` gets a progress line while Ray has not placed them.
    """
    from ray.util.placement_group import placement_group, remove_placement_group

    if not request:
        return None
    pg = placement_group([dict(request) for _ in range(n)], strategy="PACK")
    try:
        deadline = time.monotonic() + timeout_s
        nodes = len(alive_node_resources(ray))
        while True:
            ready, _ = ray.wait([pg.ready()], timeout=min(2.0, max(0.0, deadline - time.monotonic())))
            if ready:
                return None
            now_nodes = len(alive_node_resources(ray))
            if now_nodes > nodes:  # a node joined: the cluster is growing, give it the full time again
                nodes, deadline = now_nodes, time.monotonic() + timeout_s
            if time.monotonic() >= deadline:
                return placement_problem(request, n, alive_node_resources(ray))
            on_wait(f"waiting for the cluster to place {n} workers x ({fmt(request)})")
    finally:
        remove_placement_group(pg)
