"""The layers show in the install (issue 11, item 6), checked in this venv.

The core (``pip install sra-search``) applies presets: ``import sra_search``, the runtime, the
presets, ``Registry.get`` and ``enable_sra(model, preset)`` load no optional extra. Each step runs
in a fresh interpreter; ``hide_modules.py`` makes the extras' packages unfindable there, as in a
venv without them. ``test_core_venv.py`` does the same in a real core-only venv (slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sra_search import extras

ROOT = Path(__file__).resolve().parents[2]
HIDE = ROOT / "tests" / "install" / "hide_modules.py"

ALL_EXTRA_MODULES = sorted({m for modules in extras.EXTRAS.values() for m in modules})
# Modules of the heavy layers that the core path must not even load in a full install.
NEVER_ON_CORE_PATH = ["optuna", "optuna_dashboard", "ray", "sqlalchemy", "psycopg2", "fastapi", "uvicorn",
                      "starlette", "matplotlib", "datasets", "rouge_score", "jieba", "pyarrow"]  # fmt: skip

# The core path: the import, a registry lookup, a preset applied to a (tiny, random) model.
CORE_PATH = """
import json, sys, warnings
import torch
import sra_search, sra_search.runtime, sra_search.presets
from sra_search import enable_sra
from sra_search.presets import Registry
from transformers import AutoModelForCausalLM, LlamaConfig

preset = Registry("presets").get("smollm2-135m", "passkey", include_unproven=True)
n = preset.buckets[0].max_tokens  # a prompt inside the latest version's first bucket: SRA edits it
torch.manual_seed(0)
config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, vocab_size=128, max_position_embeddings=max(1024, n), initializer_range=0.3)
model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # measured on SmolLM2's weights, not these: the fingerprint differs
    with torch.no_grad(), enable_sra(model, preset, allow_fingerprint_mismatch=True) as stats:
        model(torch.randint(1, 128, (1, n), generator=torch.Generator().manual_seed(0)))
core = {"preset": f"{preset.name} v{preset.version}", "examined": stats.examined_rows, "edited": stats.edited_rows}
"""


def _python(code: str, hidden: list[str] | None = None, timeout: float = 240) -> dict:
    """Run ``code`` in a fresh interpreter (cwd: the repo); it must print one JSON line last."""
    cmd = [sys.executable, str(HIDE), ",".join(hidden), "-c", code] if hidden is not None else [sys.executable, "-c", code]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_core_path_loads_no_extra_in_a_full_install():
    # A finder first on sys.meta_path records, for each extra's module, the frame that imported
    # it; our packages must not be among them. (transformers itself imports scipy when it is
    # installed, for an object-detection loss: not ours, and absent from a core install.)
    code = (
        """
import os, sys
EXTRA = set(%r)
OURS = (os.path.join(os.getcwd(), "sra_search"), os.path.join(os.getcwd(), "objectives"))
by = {}
class Who:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in EXTRA and top not in by:
            f = sys._getframe(1)
            while f and (f.f_code.co_filename.startswith("<") or "importlib" in f.f_code.co_filename):
                f = f.f_back
            by[top] = f"{f.f_code.co_filename}:{f.f_lineno}" if f else "?"
        return None
sys.meta_path.insert(0, Who())
"""
        % ALL_EXTRA_MODULES
        + CORE_PATH
        + """
loaded = sorted(m for m in EXTRA if m in sys.modules)
print(json.dumps({**core, "loaded": loaded, "by": by, "ours": {m: w for m, w in by.items() if w.startswith(OURS)}}))
"""
    )
    out = _python(code)
    assert out["examined"] > 0, out
    assert out["ours"] == {}, f"the core path imports extras: {out['ours']}"
    assert not set(out["loaded"]) & set(NEVER_ON_CORE_PATH), out["by"]


def test_core_path_and_core_commands_work_without_any_extra(tmp_path):
    """With every extra hidden: the core path, the core commands, and one-line errors naming the
    extra for the others; then with [serve] installed, and [report] on top, their commands' imports."""
    storage = f"sqlite:///{tmp_path / 'none.db'}"
    runs = {
        "help": ["--help"],
        "version": ["--version"],
        "run_help": ["run", "--help"],
        "list": ["presets", "list", "--registry", "presets"],
        "show": ["presets", "show", "smollm2-135m", "passkey", "--registry", "presets", "--json"],
        "show_text": ["presets", "show", "smollm2-135m", "passkey", "--registry", "presets"],
        "validate": ["presets", "validate", "--registry", "presets"],
        "schema": ["presets", "schema", "--check"],
        "run": ["run", "studies/smollm2-passkey.toml"],
        "export": ["export", "studies/smollm2-passkey.toml", "--to", str(tmp_path / "presets")],
        "status": ["status", "--storage", storage],
        "dashboard": ["dashboard", "--storage", storage],
        "report": ["report", "some-study", "--out", str(tmp_path / "report"), "--storage", storage],
        "serve": ["serve", "--registry", "presets", "--port", "1"],
    }
    code = (
        CORE_PATH
        + """
import ast, contextlib, importlib, io
from hide_modules import HIDDEN
from sra_search.cli.app import main

def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["sra-search", *argv]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()[-600:]}

def command_imports(name):
    # Every absolute import in the command's module, at its top or inside a function.
    tree = ast.parse(open(f"sra_search/cli/{name}.py").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module]
        else:
            continue
        for n in names:
            importlib.import_module(n)

results = {key: cli(argv) for key, argv in %r.items()}
HIDDEN.difference_update(%r)  # install [serve]
command_imports("presets_cmd")
from starlette.testclient import TestClient
from sra_search.presets.server import create_app
served = TestClient(create_app(Registry("presets"))).get("/presets/smollm2-135m/passkey?include_unproven=true").json()["version"]
HIDDEN.difference_update(%r)  # install [report] too
command_imports("report_cmd")
print(json.dumps({**core, "cli": results, "served": served}))
"""
        % (runs, list(extras.EXTRAS["serve"]), list(extras.EXTRAS["report"]))
    )
    out = _python(code, hidden=ALL_EXTRA_MODULES)
    assert out["examined"] > 0 and out["served"] == preset_version()
    cli = out["cli"]
    for key in ("help", "version", "run_help", "list", "show", "validate", "schema"):
        assert cli[key]["code"] == 0, (key, cli[key])
    assert json.loads(cli["show"]["out"])["name"] == "smollm2-135m/passkey"
    # The paired verdicts need scipy: without it, show prints its table and names the extra.
    assert cli["show_text"]["code"] == 0, cli["show_text"]
    assert "paired verdicts need the [stats] extra: pip install 'sra-search[stats]'" in cli["show_text"]["err"]
    expected = {"run": "search", "export": "search", "status": "search", "dashboard": "search",
                "report": "report", "serve": "serve"}  # fmt: skip
    for key, extra in expected.items():
        got = cli[key]
        line = f"error: 'sra-search {key}' needs the [{extra}] extra: pip install 'sra-search[{extra}]'"
        assert got["code"] == 2, (key, got)
        assert got["err"].startswith(line), (key, got)
        assert len(got["err"].strip().splitlines()) == 1 and "Traceback" not in got["err"], (key, got)


def test_search_layer_needs_neither_tasks_serve_nor_plots():
    # [search] alone runs studies of the synthetic tasks: every search module, every task class and
    # the search commands' imports load with the data-set, serving and plotting packages hidden.
    hidden = sorted(set(extras.EXTRAS["tasks"]) | set(extras.EXTRAS["serve"]) | {"matplotlib"})
    code = """
import ast, importlib, json, pkgutil
import objectives, sra_search.search
loaded = []
for pkg in (sra_search.search, objectives):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        loaded.append(info.name)
for name in ("run_cmd", "status_cmd", "dashboard_cmd", "export_cmd", "regress_cmd", "eval_cmd"):
    tree = ast.parse(open(f"sra_search/cli/{name}.py").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                importlib.import_module(a.name)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            importlib.import_module(node.module)
print(json.dumps({"tasks": objectives.names(), "loaded": loaded}))
"""
    out = _python(code, hidden=hidden)
    assert "passkey" in out["tasks"] and "sra_search.search.driver" in out["loaded"]


def preset_version() -> int:
    return max(int(p.stem[1:]) for p in (ROOT / "presets" / "smollm2-135m" / "passkey").glob("v*.json"))


# -- the extras as declared --------------------------------------------------------------------

# Distribution -> import name, where they differ.
IMPORT_NAME = {"optuna-dashboard": "optuna_dashboard", "psycopg2-binary": "psycopg2", "rouge-score": "rouge_score"}


def _dist(requirement: str) -> str:
    name = requirement
    for sep in "[<>=!~; ":
        name = name.split(sep)[0]
    return name.strip().lower()


def test_pyproject_extras_match_the_module_map():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    core = {_dist(r) for r in project["dependencies"]}
    for extra, modules in extras.EXTRAS.items():
        declared = {IMPORT_NAME.get(_dist(r), _dist(r)) for r in optional[extra]}
        assert declared <= set(modules), (extra, declared - set(modules))
        assert not {_dist(r) for r in optional[extra]} & core, extra
    assert set(optional["all"]) == {f"sra-search[{','.join(extras.EXTRAS)}]"}
    assert {"torch", "transformers", "pydantic", "httpx", "gguf"} <= core
    assert not {"optuna", "ray", "sqlalchemy", "fastapi", "uvicorn", "matplotlib", "datasets", "scipy"} & core


def test_missing_extra_maps_modules_and_chains():
    assert extras.missing_extra(ModuleNotFoundError("x", name="optuna")) == ("search", "optuna")
    assert extras.missing_extra(ModuleNotFoundError("x", name="optuna.trial"), prefer="report") == ("report", "optuna")
    assert extras.missing_extra(ModuleNotFoundError("x", name="rouge_score.rouge_scorer")) == ("tasks", "rouge_score")
    assert extras.missing_extra(ModuleNotFoundError("x", name="fastapi"), prefer="search") == ("serve", "fastapi")
    assert extras.missing_extra(ModuleNotFoundError("x", name="no_such_thing")) is None  # a bug, not an extra
    assert extras.missing_extra(ValueError("x")) is None
    try:
        try:
            raise ModuleNotFoundError("x", name="jieba")
        except ImportError as exc:
            raise ImportError("Chinese metrics need jieba") from exc
    except ImportError as wrapped:
        assert extras.missing_extra(wrapped) == ("tasks", "jieba")


def test_require_raises_a_clear_import_error():
    extras.require("search", "json")  # installed: nothing happens
    with pytest.raises(extras.MissingExtraError) as info:
        extras.require("tasks", "sra_no_such_module", what="the 'rouge_l' metric")
    assert isinstance(info.value, ImportError) and info.value.extra == "tasks" and info.value.name == "sra_no_such_module"
    assert str(info.value) == (
        "the 'rouge_l' metric needs the [tasks] extra (module 'sra_no_such_module' is not installed): "
        "pip install 'sra-search[tasks]'"
    )
    with pytest.raises(ValueError, match="unknown extra"):
        extras.require("nope")
