"""``benchmarks/gpu.sh`` (the GPU readiness report, ``sra_search.bench.gpu``) in quick mode on CPU:
the report's structure, a failed cell recorded rather than raised, and the imports a GPU machine
lacks (Optuna, Ray, Typer, Rich) never needed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
HIDE = ROOT / "tests" / "install" / "hide_modules.py"
GPU_SH = ROOT / "benchmarks" / "gpu.sh"
NOT_ON_GPU_MACHINE = "optuna,ray,typer,rich"

# Runs inside hide_modules.py: the prefill of one runtime cell fails as a CUDA OOM would.
FAULTY_RUN = """
import sys, torch
from sra_search.bench import runtime
from sra_search.bench.gpu import main

plain = runtime.prefill_seconds

def prefill_seconds(model, ids, variant, logits_to_keep=None):
    if ids.shape[1] == 96:
        raise getattr(torch, "OutOfMemoryError", RuntimeError)("injected: CUDA out of memory")
    return plain(model, ids, variant, logits_to_keep)

runtime.prefill_seconds = prefill_seconds
code = main(sys.argv[1:])
loaded = sorted({m.partition(".")[0] for m in sys.modules} & set(HIDDEN))
assert not loaded, loaded
sys.exit(code)
"""


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "SRA_GPU_REPORT", "SRA_GPU_QUICK")}
    env.update(PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="false", **extra)
    return env


def test_quick_report_records_every_cell_and_a_failed_one(tmp_path):
    out = tmp_path / "report.json"
    args = [
        "--quick", "--models", "smollm2-135m", "--lengths", "64,96", "--score-lengths", "64",
        "--repeats", "1", "--decode-tokens", "2", "--score-cases", "1", "--new-tokens", "2", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(HIDE), NOT_ON_GPU_MACHINE, "-c", FAULTY_RUN, *args],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ERROR OutOfMemoryError: injected" in done.stdout

    report = json.loads(out.read_text())
    assert report["benchmark"] == "gpu" and report["status"] == "complete" and report["quick"] is True
    assert report["dtype"] == "bfloat16" and report["repeats"] == 1 and report["sra_impl"] == "fast"
    assert report["machine"]["torch"] == torch.__version__ and "--quick" in report["command"]
    assert "no accuracy" in report["weights"]
    assert not list(tmp_path.glob(".report.json.*")), "the atomic write left a temporary file"

    entry = report["models"]["smollm2-135m"]
    assert entry["error"] is None and entry["shape"]["hidden_size"] == 576 and entry["shape"]["num_hidden_layers"] == 2
    ok, failed = entry["runtime"]
    assert ok["prompt_tokens"] == 64 and "error" not in ok
    for key in ("prefill_ratio", "decode_ratio"):
        assert ok[key] > 0
    assert set(ok["prefill_s"]) == {"baseline", "fast"} and all(t > 0 for t in ok["prefill_s"].values())
    assert all(len(v) == 1 for v in ok["repeats"]["prefill_s"].values())
    assert ok["peak_extra_mib"] == {"baseline": None, "fast": None}  # CPU: no allocator statistics
    assert failed["prompt_tokens"] == 96 and failed["error"].startswith("OutOfMemoryError: injected")
    assert "prefill_seconds" in failed["traceback"]
    assert report["errors"] == [f"smollm2-135m runtime 96: {failed['error']}"]

    (score,) = entry["scoring"]
    assert score["prompt_tokens"] == 64 and score["cases"] == 1 and score["ratio"] > 0
    assert score["generated_tokens"] == {"baseline": [2], "sra": [2]}
    assert all(v > 0 for v in score["cases_per_s"].values())
    assert score["sra_rows"]["examined"] > 0  # SRA did run on the scored case


def _python_without(tmp_path: Path, hidden: str) -> Path:
    """A ``python`` for gpu.sh's ``PYTHON`` that runs this one with ``hidden`` packages unfindable."""
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HIDE}" {hidden} "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return python


def test_gpu_sh_refuses_a_full_run_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    python = _python_without(tmp_path, NOT_ON_GPU_MACHINE)
    done = subprocess.run(
        ["bash", str(GPU_SH), "--out", str(tmp_path / "r.json")],
        env=_env(PYTHON=str(python)), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and not (tmp_path / "r.json").exists()
    assert done.stderr.strip().splitlines() == [
        "gpu.sh: no CUDA device here; the full run needs one (a CPU smoke test: --quick or SRA_GPU_QUICK=1)"
    ]


def test_gpu_sh_names_a_missing_package_in_one_line(tmp_path):
    # sra_search.config needs pydantic, which transformers does not bring.
    python = _python_without(tmp_path, "pydantic")
    done = subprocess.run(
        ["bash", str(GPU_SH), "--quick"], env=_env(PYTHON=str(python)), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"gpu.sh: {python} lacks: pydantic (the report needs torch, transformers, pydantic, numpy)"
    ]
