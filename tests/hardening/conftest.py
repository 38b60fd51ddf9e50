"""Fixtures of the hardening tests: the shared local Ray of tests/search/conftest.py
(``tiny_model_dir`` comes from tests/conftest.py), the scenario code of benchmarks/reliability/, and a PostgreSQL
server the tests start themselves (scripts/postgres.sh)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("_search_conftest", REPO / "tests" / "search" / "conftest.py")
_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_search)
ray_local = _search.ray_local


@pytest.fixture(scope="session")
def reliability():
    """The ``benchmarks.reliability`` package: the fault scenarios the tests run with small counts."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("benchmarks.reliability")


@pytest.fixture(scope="session")
def ray_address(ray_local) -> str:
    return ray_local.get_runtime_context().gcs_address


@pytest.fixture(scope="module")
def postgres(tmp_path_factory, reliability):
    """A PostgreSQL server for this module. Skipped only when the server binaries are absent
    (CI installs them with scripts/postgres.sh install); set SRA_SEARCH_REQUIRE_POSTGRES=1 to fail instead."""
    if not reliability.Postgres.available():
        if os.environ.get("SRA_SEARCH_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries are not installed (bash scripts/postgres.sh install)")
        pytest.skip("PostgreSQL server binaries are not installed (bash scripts/postgres.sh install)")
    with reliability.Postgres(tmp_path_factory.mktemp("pg")) as pg:
        yield pg
