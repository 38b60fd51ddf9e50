"""The layers point one way, read off the source: every import, at module level or inside a
function, goes from a layer to the same layer or one below it, and no modules import each other
in a circle.

    config/models <- runtime <- objectives <- presets <- search <- report <- bench/demo <- cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Module prefix -> layer; the longest matching prefix wins.
LAYERS = {
    "sra_search.config": 0, "sra_search.models": 0, "sra_search.urls": 0, "sra_search.values": 0,
    "sra_search.validation": 0, "sra_search.version": 0, "sra_search.extras": 0, "sra_search.catalog": 0,
    "sra_search.statistics": 0,
    "sra_search.runtime": 1,
    "objectives": 2,
    "sra_search.presets": 3,
    "sra_search.search": 4,
    "sra_search.report": 5,
    "sra_search.bench": 6, "sra_search.demo": 6,
    "sra_search.cli": 7,
}  # fmt: skip
NAMES = {0: "config/models", 1: "runtime", 2: "objectives", 3: "presets", 4: "search", 5: "report", 6: "bench", 7: "cli"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in ("sra_search", "objectives"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _longest_prefix(module: str, table: dict[str, int]) -> int | None:
    best = None
    for prefix, level in table.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, level)
    return best[1] if best else None


def layer_of(module: str) -> int | None:
    return _longest_prefix(module, LAYERS)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_pkg = MODULES[module].name == "__init__.py"
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import in ``module`` that names one of ours."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    # Imports for type checkers only never run.
    typing_only = {
        id(n) for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body for n in ast.walk(stmt)
    }  # fmt: skip
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            found.append((node.lineno, target))
            # `from pkg import sub` imports the submodule pkg.sub
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names if f"{target}.{a.name}" in MODULES]
    return [(line, name) for line, name in found if name.split(".")[0] in ("sra_search", "objectives")]


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m != "sra_search" and layer_of(m) is None]
    assert not missing, f"modules with no layer in tests/architecture/test_layers.py: {missing}"


def test_imports_point_down():
    wrong = []
    for module in MODULES:
        if module == "sra_search":
            continue  # the package root: public, lazy re-exports of the layers
        mine = layer_of(module)
        for line, target in imports_of(module):
            if target == "sra_search":
                wrong.append(f"{module}:{line} imports the package root; import the module that defines the name")
                continue
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                wrong.append(f"{module}:{line} ({NAMES[mine]}) imports {target} ({NAMES[theirs]})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    graph = {m: {t for _, t in imports_of(m) if t in MODULES and t != m} for m in MODULES}
    # A package's __init__ importing its own submodules is how packages re-export, not a circle.
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    "folder, forbidden",
    [("sra_search/runtime", "sra_search.presets"), ("sra_search/runtime", "sra_search.search"),
     ("sra_search/presets", "sra_search.search"), ("objectives", "sra_search.presets")],
)  # fmt: skip
def test_lower_layers_do_not_name_upper_ones(folder, forbidden):
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sorted((ROOT / folder).rglob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if forbidden in line
    ]
    assert not hits, f"{forbidden} named in {folder}: {hits}"


# Inside search/: sub-package or module -> level, lowest first (sra_search/search/__init__.py
# gives the same order in words). The longest matching prefix wins; the package root only
# re-exports the study file's names.
SEARCH_LEVELS = {
    "sra_search.search.studyfile": 0,
    "sra_search.search.storage": 1, "sra_search.search.tuning": 1, "sra_search.search.execution": 1,
    "sra_search.search.results": 2, "sra_search.search.objective": 2, "sra_search.search.baselines": 2,
    "sra_search.search.trial": 2, "sra_search.search.progress": 2, "sra_search.search.status": 2,
    "sra_search.search.run_summary": 2,
    "sra_search.search.strategies": 3,
    "sra_search.search.decisions": 4,
    "sra_search.search.driver": 5,
}  # fmt: skip
SEARCH_PARTS = {0: "studyfile", 1: "storage/tuning/execution", 2: "trial records", 3: "strategies", 4: "decisions", 5: "driver"}


def _search_level(module: str) -> int | None:
    return _longest_prefix(module, SEARCH_LEVELS)


def test_every_search_module_has_a_level():
    missing = [m for m in MODULES if m.startswith("sra_search.search.") and _search_level(m) is None]
    assert not missing, f"search modules with no level in SEARCH_LEVELS: {missing}"


def test_search_parts_point_down():
    wrong = []
    for module in MODULES:
        mine = _search_level(module)
        if mine is None:
            continue
        for line, target in imports_of(module):
            theirs = _search_level(target)
            if theirs is not None and theirs > mine:
                wrong.append(f"{module}:{line} ({SEARCH_PARTS[mine]}) imports {target} ({SEARCH_PARTS[theirs]})")
    assert not wrong, "\n".join(wrong)


def test_search_is_laid_out_in_parts():
    """search/ holds the loop's modules and its sub-packages, not one flat folder."""
    top = sorted(p.stem for p in (ROOT / "sra_search" / "search").glob("*.py") if p.stem != "__init__")
    assert len(top) <= 9, f"search/ has {len(top)} top-level modules: put new ones in the sub-package of what they do"
    assert not (ROOT / "sra_search" / "search" / "cluster.py").exists(), "cluster scaffolding lives in benchmarks/"
