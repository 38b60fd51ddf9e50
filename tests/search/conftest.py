"""Fixtures of the search tests: one local Ray shared by every test (starting Ray costs
seconds), the tiny-study builder and a study-file writer. ``tiny_model_dir`` is shared, in ``tests/conftest.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sra_search.search.studyfile.examples import HARBOR, tiny_study_toml


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray (2 CPUs) for the whole session; drivers find it already initialised."""
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture
def study_text():
    """The tiny-study builder, :func:`sra_search.search.studyfile.examples.tiny_study_toml`."""
    return tiny_study_toml


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
