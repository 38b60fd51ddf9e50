"""User text in every command's human output is printed as text, never read as rich markup.

Issue #27: a preset named ``[/]`` ended `presets validate` in a ``MarkupError`` traceback, and a
storage path through a directory named ``[/]`` did the same to `dashboard` and `status`. Here every
command that prints user data (names, paths, URLs, hosts, values, verdicts, progress descriptions)
is given text that is broken markup (``[/]`` closes nothing) and markup that would silently vanish
(``[bold]x[/bold]``), inside a path long enough that a wrapped line would split it. Each command
must exit as it would on plain text, with no traceback, showing the text literally on one line.

Every case runs twice: to a file (CI logs, pipes) and to a terminal, where rich also renders the
live progress and status widgets, whose descriptions it reads as markup unless told otherwise.
Commands whose work is long (regress, export, bench) run their own printing code over a stubbed
measurement that reports progress and returns results full of the hostile text; `run` prints a
hostile summary and progress through its printing functions, as tests/search does.

`sra-search models` prints only the built-in catalogue (no user text) and is not listed.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from sra_search.cli import output
from sra_search.cli.app import app

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "presets" / "smollm2-135m" / "passkey" / "v4.json"
HOSTILE = "[bold]x[/bold][/]"
"""Markup that vanishes (``[bold]x[/bold]`` prints as ``x``) followed by markup that raises (``[/]``)."""
runner = CliRunner()


@dataclass
class Case:
    args: list[str] | Callable[[], None]
    expected: list[str] = field(default_factory=list)
    """Strings that must each appear whole on one output line."""
    code: int = 0
    table: bool = False
    """The text is in a table cell or title, which rich wraps to the table's width: shown wide."""


class Env:
    """Hostile paths, a registry, a storage, a tiny model under them, made on first use."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Callable[[], str]) -> None:
        # A long directory, then the hostile text (its '/' makes it three directories).
        self.root = tmp_path / ("d" * 120) / HOSTILE
        self.root.mkdir(parents=True)
        self.mp = monkeypatch
        self._tiny = tiny_model_dir

    @property
    def registry(self) -> Path:
        """A registry holding the shipped passkey preset, its free-text fields set to the hostile text."""
        reg = self.root / "registry"
        target = reg / "smollm2-135m" / "passkey" / "v4.json"
        if not target.exists():
            data = json.loads(SHIPPED.read_text())
            data["model"]["source"] = HOSTILE
            data["provenance"]["study"] = HOSTILE
            target.parent.mkdir(parents=True)
            target.write_text(json.dumps(data))
        return reg

    @property
    def preset(self) -> Path:
        return self.registry / "smollm2-135m" / "passkey" / "v4.json"

    @property
    def storage(self) -> str:
        """A SQLite storage under the hostile path with one study named by the hostile text."""
        import optuna

        url = f"sqlite:///{self.root / 's.db'}"
        if not (self.root / "s.db").exists():
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.create_study(study_name=HOSTILE, storage=url, direction="maximize")
            study.set_user_attr("model", HOSTILE)
            study.set_user_attr("objective", HOSTILE)
            for i in range(6):
                t = study.ask({"s_in": optuna.distributions.FloatDistribution(1.0, 6.0)})
                t.set_user_attr("sra", {"tau_in": 0.5, "tau_ou": 0.5, "s_in": t.params["s_in"], "s_ou": 1.0, "c_s": 4, "c_e": 32})
                study.tell(t, 0.1 * i)
        return url

    @property
    def model(self) -> str:
        """The tiny model, copied under the hostile path."""
        target = self.root / "tiny"
        if not target.exists():
            shutil.copytree(self._tiny(), target)
        return str(target)


def _stub(env: Env, module: str, name: str, result: Any) -> None:
    """Replace a long measurement by one that reports hostile progress and returns ``result``."""
    import importlib

    def fake(*args: Any, progress: Callable[[str], None] | None = None, **kwargs: Any) -> Any:
        if progress is None:  # bench passes it positionally
            progress = args[-1]
        progress(f"measuring {HOSTILE}")
        return result

    env.mp.setattr(importlib.import_module(module), name, fake)


def case_presets_validate_ok(env: Env) -> Case:
    return Case(["presets", "validate", str(env.preset)], [f"ok   {env.preset}", "1/1 valid"])


def case_presets_validate_bad(env: Env) -> Case:
    bad = env.root / "bad" / "v4.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({**json.loads(SHIPPED.read_text()), "name": HOSTILE}))
    return Case(["presets", "validate", str(bad)], [f"bad  {bad}: invalid preset:", f"got '{HOSTILE}'"], code=1)


def case_presets_list(env: Env) -> Case:
    return Case(["presets", "list", "--registry", str(env.registry)], [str(env.preset)], table=True)


def case_presets_show(env: Env) -> Case:
    return Case(["presets", "show", "smollm2-135m", "passkey", "--registry", str(env.registry)],
                [f"model={HOSTILE} (", f"study={HOSTILE}"])  # fmt: skip


def case_presets_lengths(env: Env) -> Case:
    return Case(["presets", "lengths", "smollm2-135m", "passkey", "--registry", str(env.registry)], table=True)


def case_presets_schema(env: Env) -> Case:
    out = env.root / "schema.json"
    return Case(["presets", "schema", "--out", str(out)], [f"wrote {out}"])


def case_presets_schema_check(env: Env) -> Case:
    out = env.root / "schema.json"
    runner.invoke(app, ["presets", "schema", "--out", str(out)])
    return Case(["presets", "schema", "--out", str(out), "--check"], [f"{out} is current"])


def case_serve(env: Env) -> Case:
    import uvicorn

    env.mp.setattr(uvicorn, "run", lambda *a, **k: None)
    return Case(["serve", "--host", HOSTILE, "--registry", str(env.registry)], [f"binding {HOSTILE}: "])


def case_status(env: Env) -> Case:
    url = env.storage
    return Case(["status", "--storage", url], [f"studies in {url}", HOSTILE], table=True)


def case_dashboard(env: Env) -> Case:
    import optuna_dashboard

    url = env.storage
    env.mp.setattr(optuna_dashboard, "run_server", lambda *a, **k: None)
    return Case(["dashboard", "--storage", url], [f"optuna-dashboard for {url} on http://127.0.0.1:8080"])


def case_report(env: Env) -> Case:
    out = env.root / "report"
    return Case(["report", HOSTILE, "--storage", env.storage, "--out", str(out), "--no-heatmap"],
                [f"wrote {out / 'summary.md'}"])  # fmt: skip


def case_eval(env: Env) -> Case:
    # The model path is shown only by the loading spinner; the table and lines must print too.
    return Case(["eval", "-t", "passkey", "--length", "128", "-n", "2", "--model", env.model], ["SRA vs baseline"])


def case_map(env: Env) -> Case:
    out = env.root / "map"
    return Case(["map", env.model, "passkey", "--lengths", "128", "--depths", "0.5", "-n", "1", "--params", "c_s=2,c_e=8",
                 "--out", str(out), "--cache", str(env.root / "cache")],
                [f"{env.model} | passkey | 1 search cases per cell", f"wrote {out / 'map.png'}"], table=True)  # fmt: skip


def case_demo(env: Env) -> Case:
    return Case(["demo", "--model", env.model, "--length", "64"], table=True)


def case_demo_unloadable(env: Env) -> Case:
    missing = env.root / "no-model"
    return Case(["demo", "--model", str(missing)], [f"error: --model: cannot load '{missing}'"], code=2)


def case_regress(env: Env) -> Case:
    from sra_search.presets.regress import BucketCheck

    check = BucketCheck(preset=HOSTILE, version=4, bucket=HOSTILE, passed=False, failures=[HOSTILE],
                        flipped=[HOSTILE], verdict=HOSTILE)  # fmt: skip
    _stub(env, "sra_search.presets.regress", "regress", [check])
    return Case(["regress", str(env.preset)], [f"{HOSTILE} v4 [{HOSTILE}]: {HOSTILE}", f"FAIL: {HOSTILE}"], code=1,
                table=True)  # fmt: skip


def case_export(env: Env) -> Case:
    from sra_search.search.decisions.export import BucketOutcome, ExportResult

    written = env.root / "presets" / "v9.json"
    outcome = BucketOutcome(study=HOSTILE, trial=3, min_tokens=0, max_tokens=1024, ok=False, reasons=[HOSTILE],
                            verdict=HOSTILE)  # fmt: skip
    result = ExportResult(buckets=[outcome], preset=SimpleNamespace(version=9), path=written)
    _stub(env, "sra_search.search.decisions.export", "export", result)
    return Case(["export", str(env.root / "s.toml"), "--to", str(env.root / "presets")],
                [f"0-1024 tokens: {HOSTILE}", f"wrote {written} (version 9", f"no: {HOSTILE}"], table=True)  # fmt: skip


def case_bench(env: Env) -> Case:
    machine = {"cpu": HOSTILE, "cores": 2, "torch_threads": 2, "memory_gib": 1, "gpu": None, "torch": "x"}
    _stub(env, "sra_search.bench.runtime", "run", {"command": HOSTILE, "machine": machine, "results": []})
    return Case(["bench", "runtime", "--model", str(env.root)],
                [f"command: {HOSTILE}", f"machine: {HOSTILE}, 2 cores", f"model: {env.root}; SRA:"])  # fmt: skip


def case_run(env: Env) -> Case:
    from sra_search.cli.run_cmd import _LineProgress, _print_summary, _render
    from sra_search.search.run_summary import RunSummary

    url = f"sqlite:///{env.root / 's.db'}"
    verdict = {"verdict": HOSTILE}
    summary = RunSummary(
        study=HOSTILE, model=HOSTILE, objective=HOSTILE, storage=url,
        trials={"complete": 1, "pruned": 0, "fail": 0, "waiting": 0}, new_trials_done=1, recovered_stale=0, elapsed_s=3.0,
        best={"number": 0, "value": 0.5, "task_scores": {HOSTILE: 0.5}, "params": {HOSTILE: HOSTILE}},
        pareto=None, best_evidence={"trial": 0, "tasks": {HOSTILE: verdict}},
        holdout={"trial": 0, "value": 0.5, "tasks": {HOSTILE: {"score": 1.0, "baseline": 0.5, "n_cases": 2, **verdict}}},
    )  # fmt: skip
    progress = SimpleNamespace(study=HOSTILE, phase="trials", done=1, budget_trials=2, complete=1, pruned=0, failed=0,
                               running=0, elapsed_s=1.0, budget_time_s=None, eta_s=1.0, best=None, message=HOSTILE)  # fmt: skip

    def show() -> None:
        _LineProgress()(progress)
        output.console.print(_render(progress))
        _print_summary(summary)

    return Case(show, [f"] {HOSTILE} trials: done 1/2", f"- {HOSTILE}", f"{HOSTILE} ({HOSTILE}, {HOSTILE}) in {url}: ",
                       f"verdict, held-out cases, trial 0, {HOSTILE}: {HOSTILE}"])  # fmt: skip


CASES = {name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


@pytest.fixture
def env(tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)
    for var in ("SRA_SEARCH_STORAGE", "SRA_SEARCH_PRESETS"):
        monkeypatch.delenv(var, raising=False)
    return Env(tmp_path, monkeypatch, lambda: request.getfixturevalue("tiny_model_dir"))


@pytest.mark.parametrize("terminal", [False, True], ids=["file", "terminal"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_user_text_is_printed_as_text(env, monkeypatch, name, terminal):
    case = CASES[name](env)
    monkeypatch.setattr(output.console, "_force_terminal", terminal)
    if case.table:  # rich wraps a table to its width; the cell's text is what is checked here
        monkeypatch.setattr(output.console, "width", 2000)
    if callable(case.args):
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf):
            case.args()
        out, code, exc = buf.getvalue(), 0, None
    else:
        res = runner.invoke(app, case.args)
        out, code, exc = res.output, res.exit_code, res.exception
    text = ANSI.sub("", out)
    assert exc is None or isinstance(exc, SystemExit), f"{name}: {exc!r}\n{text[-3000:]}"
    assert code == case.code, text[-3000:]
    assert "Traceback" not in text and "MarkupError" not in text, text[-3000:]
    lines = text.splitlines()
    for want in case.expected:
        assert any(want in line for line in lines), f"{want!r} is not whole on one line of:\n{text[-3000:]}"
