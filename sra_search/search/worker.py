"""The Ray actor that evaluates trials: it loads the model once and keeps it.

The driver sends it one chunk of cases at a time (``evaluate``); the actor returns plain
numbers so results are cheap to ship and never carry tensors.
"""

from __future__ import annotations

import os
import time
from typing import Any

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
        import sra_search

        t0 = time.perf_counter()
        self.model, self.tokenizer = sra_search.load_model(model, device=device, trust_remote_code=trust_remote_code)
        self.load_s = time.perf_counter() - t0
        _LOADS_IN_PROCESS += 1
        self.model_name = model
        self._tasks: dict[str, Any] = {}
        self._jobs = 0

    def info(self) -> dict[str, Any]:
        """Identity and counters: pid (for tests that kill it), model loads, load time."""
        return {
            "pid": os.getpid(),
            "model_loads": _LOADS_IN_PROCESS,
            "load_s": self.load_s,
            "jobs": self._jobs,
            "device": str(next(self.model.parameters()).device),
        }

    def _task(self, name: str, params: dict[str, Any]) -> Any:
        import json

        import objectives

        key = name + json.dumps(params, sort_keys=True, default=str)
        if key not in self._tasks:
            self._tasks[key] = objectives.get(name, **params)
        return self._tasks[key]

    def evaluate(self, job: dict[str, Any]) -> dict[str, Any]:
        """Evaluate ``job`` = {task, params, split, offset, n_cases, batch_size, sra (dict or None)}."""
        import objectives

        from sra_search.config import SRAConfig

        self._jobs += 1
        task = self._task(job["task"], job.get("params") or {})
        sra = SRAConfig(**job["sra"]) if job.get("sra") else None
        t0 = time.perf_counter()
        result = objectives.evaluate(
            self.model,
            self.tokenizer,
            task,
            sra,
            split=job.get("split", "search"),
            n_cases=job.get("n_cases"),
            offset=job.get("offset", 0),
            batch_size=job.get("batch_size"),
        )
        wall = time.perf_counter() - t0
        return {
            "case_scores": [float(c.score) for c in result.cases],
            "score": float(result.score),
            "metrics": {k: float(v) for k, v in (result.metrics or {}).items() if _is_number(v)},
            "n_cases": int(result.n_cases),
            "sra_stats": _plain(result.sra_stats),
            "higher_is_better": bool(_higher_is_better(task, result)),
            "eval_s": float(getattr(result, "wall_time_s", wall) or wall),
            "wall_s": wall,
            "pid": os.getpid(),
        }


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _plain(stats: Any) -> dict[str, Any] | None:
    if stats is None:
        return None
    if hasattr(stats, "to_dict"):
        stats = stats.to_dict()
    out = {k: v for k, v in dict(stats).items() if v is None or _is_number(v)}
    reasons = dict(stats).get("inactive_reasons")
    if reasons:  # why SRA skipped sequences (e.g. prompts shorter than its geometry), for the driver's message
        out["inactive_reasons"] = [str(r) for r in list(reasons)[:3]]
    return out


def _higher_is_better(task: Any, result: Any) -> bool:
    for obj in (result, task, type(task)):
        value = getattr(obj, "higher_is_better", None)
        if value is not None:
            return bool(value() if callable(value) else value)
    return True


def make_actor_class(cpus: float, gpus: float, max_restarts: int):
    """``TrialWorker`` as a Ray actor class with its resources declared.

    ``max_task_retries=0``: a chunk whose worker died is not re-run by Ray behind the
    driver's back; the driver fails the trial and re-enqueues its parameters once.
    """
    import ray

    return ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=max_restarts, max_task_retries=0)(TrialWorker)
