"""Fixtures of the search tests: one local Ray shared by every test (starting Ray costs
seconds) and study-file builders. ``tiny_model_dir`` is shared, in ``tests/conftest.py``."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARBOR = REPO / "studies" / "data" / "harbor-town.txt"


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray (2 CPUs) for the whole session; drivers find it already initialised."""
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def study_toml(model_dir: str, *, name: str, storage: str, trials: int = 6, extra: str = "",
               constraints: str | None = None, search: int = 4, chunk: int = 2, holdout: int = 0,
               sampler: str = 'kind = "tpe"\nn_startup_trials = 3', pruner: str = 'kind = "none"',
               workers: int = 2) -> str:
    """A small study on the tiny model: passkey at 128 tokens, perplexity on the harbor text."""
    if constraints is None:
        constraints = f"""
        [constraints]
        perplexity = {{ max_ratio = 50.0, params = {{ data = "{HARBOR}", length = 128, last_k = 32, holdout_fraction = 0.25 }}, cases = 2 }}
        attention = {{ low = 1.0, high = 100.0 }}
        """
    return textwrap.dedent(f"""
        name = "{name}"
        model = "{model_dir}"
        seed = 3
        {extra}

        [[tasks]]
        name = "passkey"
        params = {{ length = 128 }}
        cases = {{ search = {search}, holdout = {holdout} }}
        chunk = {chunk}

        [search_space]
        tau_in = {{ low = 0.05, high = 2.0, log = true }}
        tau_ou = {{ low = 0.05, high = 2.0, log = true }}
        s_in = {{ low = 1.0, high = 8.0 }}
        s_ou = {{ fixed = 5.0 }}
        c_s = {{ low = 0, high = 8 }}
        c_e = {{ choices = [8, 16, 32] }}
        """) + textwrap.dedent(constraints) + textwrap.dedent(f"""
        [sampler]
        {sampler}

        [pruner]
        {pruner}

        [budget]
        trials = {trials}

        [workers]
        count = {workers}
        cpus = 1

        [storage]
        url = "{storage}"
        heartbeat_s = 1
        grace_s = 3
        """)


@pytest.fixture
def study_text():
    """The :func:`study_toml` builder (test modules cannot import this conftest by name)."""
    return study_toml


@pytest.fixture
def harbor_text() -> Path:
    return HARBOR


@pytest.fixture
def write_study(tmp_path):
    def write(text: str, name: str = "study.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
