#!/usr/bin/env bash
# GPU readiness report (issue #26): SRA fast path vs plain SDPA on CUDA in bf16, on models of
# SmolLM2-135M's and Gemma 3 270M's shapes with random weights; one JSON report.
#
#   bash benchmarks/gpu.sh [--out PATH] [options]     # needs CUDA; under 6 minutes on one H100
#   SRA_GPU_QUICK=1 bash benchmarks/gpu.sh            # CPU smoke test (or --quick), < 1 minute
#
# Report path: --out, else $SRA_GPU_REPORT, else $OUT/gpu-report.json when OUT is set, else
# benchmarks/results/gpu-report.json (quick mode: gpu-report-quick.json). Python: $PYTHON, else
# .venv/bin/python, else python3. Needs torch, transformers, pydantic and numpy, and nothing else
# outside this repository (no install: the repository root goes on PYTHONPATH).
# `--help` lists the options; the method is in sra_search/bench/gpu.py and the README.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
else
    PY="$(command -v python3 || command -v python || true)"
fi
if [ -z "$PY" ]; then
    echo "gpu.sh: no Python found (set PYTHON=/path/to/python)" >&2
    exit 2
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
missing="$("$PY" -c 'import importlib.util as u; print(" ".join(m for m in ("torch", "transformers", "pydantic", "numpy") if u.find_spec(m) is None))')"
if [ -n "$missing" ]; then
    echo "gpu.sh: $PY lacks: $missing (the report needs torch, transformers, pydantic, numpy)" >&2
    exit 2
fi
export SRA_GPU_COMMAND="bash benchmarks/gpu.sh${*:+ $*}${SRA_GPU_QUICK:+ (SRA_GPU_QUICK=$SRA_GPU_QUICK)}"
exec "$PY" -m sra_search.bench.gpu "$@"
