"""The decisions benchmark's held-out re-scores: each pick against one baseline on the same cases,
each config scored once, optionally kept on disk so later runs reuse them.

A pick is re-scored on ``n`` held-out cases of the studies' task (``objectives.compare.rescore``
against a baseline measured once). Greedy free answers are deterministic for a given model,
task, parameters and config, so a later run that re-scores the same config on the same cases
(another seed, or a re-run pairing two variants' picks) would spend its minutes on the same
numbers: with ``cache`` (``--heldout-cache FILE``) the baseline and every config's comparison are
written to that file as they are measured (atomically) and read back by the next run. The file
is keyed by model, task, parameters and ``n``; a run with other ones refuses it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks import keyed_pickle


class HeldOut:
    """The picks re-scored on the same held-out cases, against one baseline measured once."""

    def __init__(self, model_name: str, task: str, params: dict[str, Any], n: int, cache: Path | None = None) -> None:
        self.model_name = model_name
        self.task = task
        self.params = params  # the studies' task parameters: the same task on its held-out split
        self.n = n
        self.baseline = None
        self.baseline_s = 0.0
        self.cache: dict[str, Any] = {}
        """Config (sorted JSON) -> its :class:`~objectives.compare.Comparison` against the baseline."""
        self.scored_now = 0
        """Configs this run scored (the others came from ``cache``)."""
        self.path = cache
        self._model = None
        doc = keyed_pickle.read(cache, self.key, "--heldout-cache", "scores") if cache is not None else None
        if doc is not None:
            self.baseline, self.baseline_s, self.cache = doc["baseline"], doc["baseline_s"], doc["configs"]

    @property
    def key(self) -> dict[str, Any]:
        """What the cached scores depend on, as it reads back from the file (JSON-normalised)."""
        return keyed_pickle.normalised({"model": self.model_name, "task": self.task, "params": self.params, "n": self.n})

    def _write(self) -> None:
        if self.path is None:
            return
        keyed_pickle.write(self.path, self.key, baseline=self.baseline, baseline_s=self.baseline_s, configs=self.cache)

    def _loaded(self):  # noqa: ANN202
        """The model and tokenizer, loaded on first use (a run whose scores are all cached needs neither)."""
        if self._model is None:
            from sra_search.models import load_model

            self._model = load_model(self.model_name)
        return self._model

    def measure_baseline(self) -> None:
        import objectives
        from objectives.outcomes import Outcomes

        model, tokenizer = self._loaded()
        t = time.perf_counter()
        res = objectives.evaluate(model, tokenizer, self.task, None, task_params=self.params, split="holdout", n_cases=self.n)
        self.baseline = Outcomes.of(res)
        self.baseline_s = time.perf_counter() - t
        self._write()

    def compare(self, sra: dict[str, Any]):  # noqa: ANN201
        """The pick's :class:`~objectives.compare.Comparison` (a config re-scored once, however many picks it is)."""
        from objectives.compare import rescore

        from sra_search.config import SRAConfig

        key = json.dumps(sra, sort_keys=True)
        if key not in self.cache:
            if self.baseline is None:
                self.measure_baseline()
            model, tokenizer = self._loaded()
            self.cache[key] = rescore(model, tokenizer, self.task, self.params, SRAConfig(**sra), split="holdout",
                                      n_cases=self.n, baseline=self.baseline, require_gain=False)  # fmt: skip
            self.scored_now += 1
            self._write()
        return self.cache[key]
