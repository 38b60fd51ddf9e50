"""Bad study files, property-based: every key of the study file given a wrong type, an
out-of-range, NaN/inf or huge value, removed when required, or joined by an unknown key is
rejected with a message that names the key; through `sra-search run` the exit code is 2,
no traceback is shown and nothing is written (no database file appears).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.search.studyfile.schema import StudyFileError, parse_study

REPO = Path(__file__).resolve().parents[2]
HARBOR = str(REPO / "studies" / "data" / "harbor-town.txt")

# A study that sets every key the schema has (so every key can be broken).
BASE: dict[str, Any] = {
    "name": "bad-input",
    "model": "smollm2-135m",
    "description": "every key set",
    "seed": 1,
    "enqueue_paper_public": True,
    "tasks": [{
        "name": "passkey", "params": {"length": 256}, "weight": 1.0,
        "cases": {"search": 4, "holdout": 2}, "chunk": 2, "batch_size": 2,
    }],
    "search_space": {
        "tau_in": {"low": 0.1, "high": 1.0, "log": True},
        "tau_ou": {"low": 0.1, "high": 1.0, "step": 0.1},
        "s_in": {"choices": [1.5, 3.0]},
        "s_ou": {"fixed": 5.0},
        "c_s": {"low": 0, "high": 8},
        "c_e": {"choices": [16, 32]},
        "inter": {"fixed": True},
        "outer": {"choices": [True, False]},
        "gem_share": {"fixed": 0.5},
    },
    "objective": {"target": "delta", "perplexity_objective": False},
    "constraints": {
        "perplexity": {"max_ratio": 1.5, "task": "perplexity", "params": {"data": HARBOR, "length": 128}, "cases": 2},
        "attention": {"low": 1.1, "high": 1.4},
        "min_edited_share": 0.1,
    },
    "sampler": {"kind": "tpe", "n_startup_trials": 2, "multivariate": True, "population_size": 4},
    "pruner": {"kind": "median", "n_startup_trials": 1, "n_warmup_steps": 1, "percentile": 25.0},
    "budget": {"trials": 4, "time_s": 600.0},
    "workers": {"count": 1, "cpus": 1.0, "gpus": 0.0, "address": "auto", "max_restarts": 2,
                "resources": {"node_a": 1.0}, "placement_timeout_s": 30.0},
    "storage": {"url": "sqlite:///x.db", "heartbeat_s": 5, "grace_s": 20, "retry_s": 60},
}

# Kind of every leaf; ``params`` tables are the task's own (checked by objectives.get, below).
ENUMS = {("objective", "target"), ("sampler", "kind"), ("pruner", "kind")}
REQUIRED = [("name",), ("model",), ("tasks",), ("search_space",), ("budget",), ("tasks", 0, "name"),
            ("constraints", "perplexity", "max_ratio")]  # fmt: skip
FREE_STRINGS = {("description",), ("model",), ("workers", "address"), ("constraints", "perplexity", "task"),
                ("tasks", 0, "name")}  # any string is well-formed here; checked later (model load, Ray, objectives)  # fmt: skip


def _leaves(obj: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(obj, dict):
        if path and path[-1] == "params":
            return []
        return [leaf for k, v in obj.items() for leaf in _leaves(v, path + (k,))]
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        return [leaf for i, v in enumerate(obj) for leaf in _leaves(v, path + (i,))]
    return [(path, obj)]


def _tables(obj: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, dict):
        if path and path[-1] == "params":
            return []
        return [path] + [t for k, v in obj.items() for t in _tables(v, path + (k,))]
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        return [t for i, v in enumerate(obj) for t in _tables(v, path + (i,))]
    return []


LEAVES = _leaves(BASE)
TABLES = _tables(BASE)


def _bad_values(path: tuple, value: Any) -> list[Any]:
    """Values that are wrong for this key whatever the rest of the file says."""
    wrong_container = [[value], {"x": 1}]
    if path[-1] in ("choices",):
        return [[], "1.5", 1.5, [float("nan")], [float("inf")], [1e300], [[1.0]]]
    if isinstance(value, bool):
        return ["true", 1, 0.0, *wrong_container]
    if isinstance(value, int):
        return [str(value), value + 0.5, True, float("nan"), float("inf"), -(10**18), 10**18, *wrong_container]
    if isinstance(value, float):
        return ["1.0", True, float("nan"), float("inf"), float("-inf"), 1e300, -1e300, *wrong_container]
    if isinstance(value, str):
        out: list[Any] = [5, 2.5, True, *wrong_container]
        if path in ENUMS or path == ("name",) or path[-1] == "url":
            out += ["no such value", "bad name with spaces", ""] if path != ("storage", "url") else ["not a url", ""]
        return out
    raise AssertionError(f"no bad values for {path}")


def _set(doc: dict, path: tuple, value: Any) -> None:
    node: Any = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _delete(doc: dict, path: tuple) -> None:
    node: Any = doc
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]


def _toml_str(v: str) -> str:
    # JSON escapes what TOML basic strings forbid, except DEL.
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_str(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(doc: dict) -> str:
    """Top-level keys one per line, tables inline (valid TOML; errors then point at the key's line)."""
    return "\n".join(f"{k} = {_toml_value(v)}" for k, v in doc.items()) + "\n"


def path_text(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def names_key(message: str, path: tuple) -> bool:
    """The message names the key: its full path, or its table's path and the key's own name."""
    full = path_text(path)
    if full in message:
        return True
    parent = path_text(path[:-1])
    return bool(parent) and parent in message and str(path[-1]) in message


# Every (key, bad value) pair, and every required key, and an unknown key in every table.
MUTATIONS: list[tuple[str, tuple, Any]] = (
    [("set", p, bad) for p, v in LEAVES if p not in FREE_STRINGS for bad in _bad_values(p, v)]
    + [("set", p, bad) for p in FREE_STRINGS for bad in (5, 2.5, True, [1], {"x": 1})]
    + [("delete", p, None) for p in REQUIRED]
    # Any name is a custom resource's: [workers] resources has no unknown keys.
    + [("unknown", t, None) for t in TABLES if t != ("workers", "resources")]
)


# kind = "racing" takes its own keys and refuses the ranking pruners' ones: a second base for them.
RACING = {**copy.deepcopy(BASE), "pruner": {"kind": "racing", "initial_cases": 2, "max_cases": 4, "p_threshold": 0.1,
                                            "n_startup_steps": 2}}  # fmt: skip
RACING_MUTATIONS: list[tuple[str, tuple, Any]] = [
    ("set", p, bad) for p, v in _leaves(RACING) if p[0] == "pruner" for bad in _bad_values(p, v)
] + [("unknown", ("pruner",), None)]


def mutate(kind: str, path: tuple, value: Any, base: dict = BASE) -> tuple[dict, tuple]:
    doc = copy.deepcopy(base)
    if kind == "set":
        _set(doc, path, value)
        return doc, path
    if kind == "delete":
        _delete(doc, path)
        return doc, path
    key = path + ("bogus_key",)
    _set(doc, key, 1)
    return doc, key


def test_the_base_study_is_valid():
    spec = parse_study(to_toml(BASE), "base.toml")
    assert spec.constraints.perplexity is not None and spec.storage.retry_s == 60
    assert len(MUTATIONS) > 250  # every key is covered


@pytest.mark.parametrize("kind,path,value", MUTATIONS, ids=lambda x: path_text(x) if isinstance(x, tuple) else None)
def test_every_bad_key_is_rejected_naming_the_key(kind, path, value):
    doc, key = mutate(kind, path, value)
    with pytest.raises(StudyFileError) as err:
        parse_study(to_toml(doc), "bad.toml")
    msg = str(err.value)
    assert names_key(msg, key), f"{kind} {path_text(key)} = {value!r}: message does not name the key:\n{msg}"
    assert msg.startswith("bad.toml"), msg
    assert "Traceback" not in msg and "pydantic" not in msg.lower()


def test_the_racing_base_is_valid():
    assert parse_study(to_toml(RACING), "base.toml").race.stages() == [2, 4]


@pytest.mark.parametrize("kind,path,value", RACING_MUTATIONS, ids=lambda x: path_text(x) if isinstance(x, tuple) else None)
def test_every_bad_racing_key_is_rejected_naming_the_key(kind, path, value):
    doc, key = mutate(kind, path, value, RACING)
    with pytest.raises(StudyFileError) as err:
        parse_study(to_toml(doc), "bad.toml")
    msg = str(err.value)
    assert names_key(msg, key) and msg.startswith("bad.toml"), f"{path_text(key)} = {value!r}:\n{msg}"


# ----------------------------------------------------------------------------- property-based


def _any_value() -> st.SearchStrategy:
    scalars = st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(), st.text(max_size=12),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), scalars, max_size=2))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_values_are_accepted_only_when_valid_and_never_crash(data):
    """Any value at any key: either the schema accepts it (and then it is a value the study can
    use) or it raises StudyFileError naming the key; nothing else (no other exception)."""
    path, _ = data.draw(st.sampled_from(LEAVES))
    value = data.draw(_any_value())
    doc = copy.deepcopy(BASE)
    _set(doc, path, value)
    try:
        spec = parse_study(to_toml(doc), "rand.toml")
    except StudyFileError as exc:
        assert names_key(str(exc), path), f"{path_text(path)} = {value!r}:\n{exc}"
        return
    # Accepted: then it is a finite, bounded value of the right type.
    got = spec.model_dump()
    for p in path:
        got = got[p]
    if isinstance(got, float):
        assert math.isfinite(got)
    if isinstance(got, int) and not isinstance(got, bool):
        assert abs(got) <= 2**32


# ----------------------------------------------------------------------------- through the CLI

runner = CliRunner()


@pytest.fixture
def no_study_open(monkeypatch):
    """If a bad file were accepted, the driver would open the storage: fail loudly instead of running."""
    from sra_search.search import driver

    def refuse(self):
        raise AssertionError("a bad study file got as far as opening the storage")

    monkeypatch.setattr(driver.Driver, "open_study", refuse)


CLI_CASES = [m for i, m in enumerate(MUTATIONS) if i % 7 == 0] + [
    # Task parameters are the task's own: checked by objectives.get before anything is written.
    ("set", ("tasks", 0, "params", "length"), float("nan")),
    ("set", ("tasks", 0, "params", "length"), "long"),
    ("set", ("tasks", 0, "params", "length"), -5),
    ("set", ("tasks", 0, "params", "no_such_param"), 1),
    ("set", ("tasks", 0, "name"), "no_such_task"),
    ("set", ("constraints", "perplexity", "params", "data"), "/no/such/file.txt"),
]


@pytest.mark.parametrize("kind,path,value", CLI_CASES, ids=lambda x: path_text(x) if isinstance(x, tuple) else None)
def test_run_refuses_bad_files_with_exit_2_no_traceback_nothing_written(kind, path, value, tmp_path, monkeypatch, no_study_open):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SRA_SEARCH_STORAGE", raising=False)
    doc, key = mutate(kind, path, value)
    if key[:2] != ("storage", "url"):
        doc["storage"]["url"] = f"sqlite:///{tmp_path / 'db' / 'study.db'}"
    study = tmp_path / "bad.toml"
    study.write_text(to_toml(doc))
    result = runner.invoke(app, ["run", str(study), "--no-holdout"])
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out and result.exception is None or isinstance(result.exception, SystemExit), out
    named = names_key(out, key) or (key[-2] == "params" and str(key[-1]) in out) or (key[-1] == "name" and str(value) in out)
    assert named, f"{path_text(key)} = {value!r}: {out}"
    assert not (tmp_path / "db").exists() and not list(tmp_path.glob("*.db")), "something was written"
