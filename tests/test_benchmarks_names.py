"""Run as a script, a benchmark puts ``benchmarks/`` first on ``sys.path``: no module there may be
named like one importable from elsewhere (``benchmarks/objectives.py`` once shadowed the
``objectives`` package, issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _names() -> list[str]:
    files = [p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"]
    packages = [p.name for p in BENCH.iterdir() if (p / "__init__.py").is_file()]
    return sorted(files + packages)


def test_no_benchmark_module_shadows_another_module():
    names = _names()
    assert "scoring" in names and "objectives" not in names
    # From the repo root, where the project's own packages are importable too, but not benchmarks/.
    code = f"import importlib.util, json; print(json.dumps({{n: importlib.util.find_spec(n) is not None for n in {names!r}}}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    found = json.loads(out.stdout)
    assert not any(found.values()), f"benchmarks/ would shadow: {[n for n, f in found.items() if f]}"


def test_a_benchmark_run_as_a_script_finds_the_objectives_package():
    # As `python benchmarks/x.py` starts: the script's folder first on sys.path.
    code = "import importlib.util, sys; sys.path.insert(0, 'benchmarks'); print(importlib.util.find_spec('objectives').origin)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert Path(out.stdout.strip()) == ROOT / "objectives" / "__init__.py"
