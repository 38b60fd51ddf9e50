"""Jobs between the driver and the workers are typed, and the driver's pieces stay below it."""

from __future__ import annotations

import dataclasses

import pytest

from sra_search.config import SRAConfig
from sra_search.search.execution.jobs import PPL_TASK_INDEX, Job, perplexity_job, task_jobs
from sra_search.search.studyfile.schema import PerplexityConstraint, TaskSpec


def test_task_jobs_cover_the_cases_in_chunks():
    task = TaskSpec(name="passkey", params={"length": 128}, chunk=4, batch_size=2)
    config = SRAConfig.paper_public()
    jobs = task_jobs(task, 1, "search", 10, config)
    assert [(j.offset, j.n_cases) for j in jobs] == [(0, 4), (4, 4), (8, 2)]
    assert all(j.kind == "main" and j.task_index == 1 and j.task == "passkey" and j.split == "search" for j in jobs)
    assert all(j.params == {"length": 128} and j.batch_size == 2 and j.sra is config for j in jobs)  # the config itself, not a dict
    assert task_jobs(task, 0, "holdout", 0, None) == []


def test_perplexity_job_is_one_job_on_the_search_windows():
    ppl = PerplexityConstraint(max_ratio=1.1, params={"data": "x.txt", "length": 64}, cases=3)
    job = perplexity_job(ppl, None)
    assert job == Job("ppl", PPL_TASK_INDEX, "perplexity", {"data": "x.txt", "length": 64}, "search", 0, 3, None, None)


def test_jobs_are_frozen_and_have_no_untyped_extras():
    job = perplexity_job(PerplexityConstraint(max_ratio=1.1), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.offset = 4  # type: ignore[misc]
    fields = {f.name for f in dataclasses.fields(Job)}
    assert fields == {"kind", "task_index", "task", "params", "split", "offset", "n_cases", "batch_size", "sra", "signal"}


def test_driver_modules_stay_small_and_import_no_optuna_private_module_directly():
    import re
    from pathlib import Path

    import sra_search.search as pkg

    root = Path(pkg.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 430, f"{path.name} has grown past ~400 lines"
        if path.name != "optuna_private.py":
            private = re.findall(r"\._trial_id\b|optuna\.storages\._\w+|\bstudy\._storage\b|\._contains\(", text)
            assert not private, (path.name, private)


def test_driver_status_and_results_import_no_torch():
    """The driver process starts (and `status` answers) without loading torch; workers load it."""
    import subprocess
    import sys

    code = ("import sys, sra_search.search.driver, sra_search.search.status, sra_search.search.objective; "
            "print(sorted(m for m in ('torch', 'ray', 'transformers') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
