"""The Ray actor that evaluates trials: it loads the model once and keeps it.

The driver sends it one :class:`~sra_search.search.execution.jobs.Job` at a time; the actor answers with
the chunk's :class:`~objectives.outcomes.Outcomes` (scores per case, SRA statistics), which
carry no tensors and no predictions, so they are cheap to ship.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from sra_search.search.execution.jobs import ChunkResult, Job

_LOADS_IN_PROCESS = 0
"""How many times this process loaded a model; the benchmark checks it stays at 1."""


class TrialWorker:
    """Holds one model and tokenizer; evaluates chunks of a task with or without SRA."""

    def __init__(
        self, model: str, threads: int | None = None, device: str | None = None, trust_remote_code: bool = False
    ) -> None:
        global _LOADS_IN_PROCESS
        if threads:
            # Ray sets OMP_NUM_THREADS from num_cpus, but torch may already have its pool sized.
            import torch

            torch.set_num_threads(int(threads))
        from sra_search.models import load_model

        t0 = time.perf_counter()
        self.model, self.tokenizer = load_model(model, device=device, trust_remote_code=trust_remote_code)
        self.load_s = time.perf_counter() - t0
        _LOADS_IN_PROCESS += 1
        self.model_name = model
        self._tasks: dict[str, Any] = {}
        self._jobs = 0

    def info(self) -> dict[str, Any]:
        """Identity and counters: pid (for tests that kill it), Ray node id, model loads, load time."""
        import ray

        return {
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "model_loads": _LOADS_IN_PROCESS,
            "load_s": self.load_s,
            "jobs": self._jobs,
            "device": str(next(self.model.parameters()).device),
        }

    def _task(self, name: str, params: dict[str, Any]) -> Any:
        import objectives

        key = name + json.dumps(params, sort_keys=True, default=str)
        if key not in self._tasks:
            self._tasks[key] = objectives.get(name, **params)
        return self._tasks[key]

    def evaluate(self, job: Job) -> ChunkResult:
        """Score the job's cases, under its SRA config or without SRA."""
        import objectives
        from objectives.outcomes import Outcomes

        self._jobs += 1
        task = self._task(job.task, job.params)
        result = objectives.evaluate(
            self.model, self.tokenizer, task, job.sra, split=job.split, n_cases=job.n_cases, offset=job.offset,
            batch_size=job.batch_size, signal=job.signal,
        )  # fmt: skip
        return ChunkResult(Outcomes.of(result), os.getpid())


def make_actor_class(cpus: float, gpus: float, max_restarts: int, resources: dict[str, float] | None = None):
    """``TrialWorker`` as a Ray actor class with its resources declared (``resources``: custom ones).

    ``max_task_retries=0``: a chunk whose worker died is not re-run by Ray behind the
    driver's back; the driver fails the trial and re-enqueues its parameters once.
    """
    import ray

    return ray.remote(
        num_cpus=cpus, num_gpus=gpus, resources=dict(resources or {}), max_restarts=max_restarts, max_task_retries=0
    )(TrialWorker)
