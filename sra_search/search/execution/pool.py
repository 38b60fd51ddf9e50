"""The Ray worker pool: one actor per slot, each holding the model; deaths, probes and restarts.

The driver gives a slot one job at a time in its trial loop (:meth:`WorkerPool.submit`) and
runs the baseline and holdout jobs over all slots at once (:meth:`WorkerPool.map`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from sra_search.search.execution.jobs import ChunkResult, Job
from sra_search.search.execution.placement import capacity_problem, fmt, wait_placeable, worker_request
from sra_search.search.studyfile.schema import StudyFile

log = logging.getLogger(__name__)


class WorkerSetupError(RuntimeError):
    """Workers could not start (model load failed, or the cluster lacks the resources)."""


class EvaluationError(RuntimeError):
    """A baseline or holdout evaluation raised on a worker (a task or model problem, not a trial's)."""


def first_line(exc: BaseException) -> str:
    """The line of an exception's message that names the cause (at most 300 characters)."""
    text = str(exc).strip() or type(exc).__name__
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # Ray's messages start with a generic header; the last line usually names the cause.
    return (lines[-1] if len(lines) > 1 else lines[0])[:300]


@dataclass
class Slot:
    """One worker actor and what the driver knows about it."""

    index: int
    actor: Any
    deaths: int = 0
    pid: int | None = None
    node: str | None = None
    """Ray node id of the actor's process (from its last ``info``); a trial records it."""
    busy: bool = False
    ready: bool = True  # False from a death until a probe (``info``) answers from the restarted actor
    probe_after: float = 0.0


class WorkerPool:
    """``n_workers`` :class:`~sra_search.search.execution.worker.TrialWorker` actors for one study's model."""

    def __init__(self, spec: StudyFile, n_workers: int, ray_address: str | None = None) -> None:
        self.spec = spec
        self.n_workers = n_workers
        self.address = ray_address or spec.workers.address
        self.slots: list[Slot] = []
        self.stats: list[dict[str, Any]] = []
        """Per-worker counters (model loads, chunks, load time) read by :meth:`stop`."""
        self._actor_cls: Any = None
        w = spec.workers
        self._threads = max(1, int(w.cpus)) if w.cpus else None

    def describe(self) -> list[dict[str, Any]]:
        """The slots for progress displays."""
        return [{"slot": s.index, "pid": s.pid, "node": s.node, "deaths": s.deaths, "busy": s.busy} for s in self.slots]

    def death_reason(self, slot: Slot, exc: BaseException) -> str:
        """``worker 0 (pid 123) died: ...``, naming the slot's node and whether Ray lost that node."""
        where = f"pid {slot.pid}"
        if slot.node:
            where += f", node {slot.node}" + (" lost" if self._node_lost(slot.node) else "")
        return f"worker {slot.index} ({where}) died: {first_line(exc)}"

    @staticmethod
    def _node_lost(node_id: str) -> bool:
        """Whether the GCS already reports the node dead (no wait: a worker's own death is common)."""
        import ray

        try:
            return not {n["NodeID"]: n["Alive"] for n in ray.nodes()}.get(node_id, False)
        except Exception:
            return False

    def start(self) -> None:
        """Start Ray if needed and the actors; wait until every actor has loaded the model."""
        import ray

        from sra_search.search.execution.worker import make_actor_class

        w = self.spec.workers
        if not ray.is_initialized():
            # log_to_driver off: worker prints would interleave with the progress display and --json.
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=bool(os.environ.get("SRA_SEARCH_RAY_LOGS")),
                logging_level=logging.WARNING,
            )
        self._check_placement(ray)
        self._actor_cls = make_actor_class(w.cpus, w.gpus, w.max_restarts, w.resources)
        self.slots = [Slot(i, self._spawn()) for i in range(self.n_workers)]
        try:
            infos = ray.get([s.actor.info.remote() for s in self.slots])
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as exc:
            cause = getattr(exc, "cause", None) or exc
            raise WorkerSetupError(f"workers could not load model '{self.spec.model}': {first_line(cause)}") from None
        for s, info in zip(self.slots, infos):
            s.pid, s.node = info["pid"], info.get("node")

    def _check_placement(self, ray: Any) -> None:
        """Refuse, in one line, workers the cluster cannot place, instead of pending forever."""
        w = self.spec.workers
        request = worker_request(w.cpus, w.gpus, w.resources)
        head = f"{self.n_workers} worker{'s' if self.n_workers != 1 else ''} x ({fmt(request)})"
        if self.address is None:
            # A local Ray cannot grow: refuse at once what it can never hold.
            problem = capacity_problem(request, self.n_workers, [dict(ray.cluster_resources())])
            if problem:
                raise WorkerSetupError(
                    f"{head} do not fit this local Ray: {problem} "
                    "(lower --workers or workers.cpus, or give workers.address of a cluster)"
                )
            return
        # A cluster may be autoscaling: wait, but not forever.
        self._wait_since, self._warned_wait = time.monotonic(), False
        problem = wait_placeable(ray, request, self.n_workers, w.placement_timeout_s, self._on_wait)
        if problem:
            raise WorkerSetupError(
                f"{head} could not be placed within {w.placement_timeout_s:g} s (workers.placement_timeout_s): {problem}"
            )

    def _on_wait(self, message: str) -> None:
        # Said once, after a few seconds: placement on a warm cluster is instant, a cold one takes minutes.
        if not self._warned_wait and time.monotonic() - self._wait_since > 10:
            self._warned_wait = True
            log.warning("%s (up to workers.placement_timeout_s = %g s)", message, self.spec.workers.placement_timeout_s)

    def _spawn(self) -> Any:
        return self._actor_cls.remote(self.spec.model, self._threads, trust_remote_code=self.spec.trust_remote_code)

    def on_death(self, slot: Slot) -> None:
        """Ray restarts a dead actor (``max_restarts``); until it answers a probe it gets no work."""
        slot.deaths += 1
        slot.ready, slot.busy = False, False
        slot.probe_after = 0.0
        if slot.deaths > self.spec.workers.max_restarts:
            self._new_actor(slot)

    def _new_actor(self, slot: Slot) -> None:
        """Past Ray's restarts (or once it reports the actor dead for good): a fresh actor."""
        import ray

        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:
            pass
        slot.actor = self._spawn()
        slot.deaths = 0

    def submit(self, slot: Slot, job: Job) -> Any:
        """Start ``job`` on ``slot``'s actor; returns the Ray reference of its :class:`ChunkResult`."""
        return slot.actor.evaluate.remote(job)

    def probe(self, slot: Slot) -> Any:
        """Ask a restarted actor who it is; returns the reference to hand to :meth:`on_probe`."""
        return slot.actor.info.remote()

    def on_probe(self, slot: Slot, ref: Any) -> None:
        import ray

        try:
            info = ray.get(ref)
            slot.pid, slot.node = info["pid"], info.get("node")
            slot.ready = True
        except ray.exceptions.ActorUnavailableError:
            slot.probe_after = time.monotonic() + 1.0  # still restarting: ask again in a second
        except ray.exceptions.RayActorError:
            self._new_actor(slot)  # dead for good
            slot.probe_after = 0.0

    def await_ready(self, slot: Slot, timeout: float = 900.0) -> None:
        """Blocking version of the probe, for the baseline and holdout phases."""
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = ray.get(slot.actor.info.remote())
                slot.pid, slot.node = info["pid"], info.get("node")
                slot.ready = True
                return
            except ray.exceptions.ActorUnavailableError:
                time.sleep(1.0)
            except ray.exceptions.RayActorError:
                self._new_actor(slot)
        raise WorkerSetupError(f"worker {slot.index} did not come back within {timeout:.0f} s")

    def map(self, jobs: list[Job], tick: Callable[[], None] = lambda: None) -> list[ChunkResult]:
        """Run ``jobs`` over all slots, results in job order; a job whose worker dies is retried
        (up to 3 tries). ``tick`` is called about once a second (progress displays)."""
        import ray

        results: list[ChunkResult | None] = [None] * len(jobs)
        queue = list(range(len(jobs)))
        tries = [0] * len(jobs)
        pending: dict[Any, tuple[int, Slot]] = {}
        free = list(self.slots)
        while queue or pending:
            while queue and free:
                i, slot = queue.pop(0), free.pop(0)
                pending[self.submit(slot, jobs[i])] = (i, slot)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            tick()
            for ref in ready:
                i, slot = pending.pop(ref)
                try:
                    got = ray.get(ref)
                    results[i] = got
                    slot.pid = got.pid
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None) or exc
                    raise EvaluationError(
                        f"task '{jobs[i].task}' failed on a worker: {type(cause).__name__}: {first_line(cause)}"
                    ) from None
                except ray.exceptions.RayActorError as exc:
                    tries[i] += 1
                    if tries[i] > 2:
                        raise WorkerSetupError(f"a worker died 3 times on the same job: {first_line(exc)}") from None
                    log.warning("worker %d died during %s: %s; retrying", slot.index, jobs[i].task, first_line(exc))
                    self.on_death(slot)
                    self.await_ready(slot)
                    queue.insert(0, i)
                free.append(slot)
        return results  # type: ignore[return-value]

    def stop(self) -> None:
        """Read each ready worker's counters into :attr:`stats`, then end every actor."""
        import ray

        try:
            refs = [s.actor.info.remote() for s in self.slots if s.ready]
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=10)
            self.stats = [ray.get(r) for r in ready]
        except Exception:
            self.stats = []
        for s in self.slots:
            try:
                ray.kill(s.actor, no_restart=True)
            except Exception:
                pass
        self.slots = []
