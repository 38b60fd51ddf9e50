"""Strict where the docs say strict, property-based: task parameters of a study file are not
coerced (``length = "512"``, ``512.0``, ``seed = true``); ``eval --params`` refuses a boolean for a
number and a number for a switch; a preset's ``schema_version`` and ``version`` are integers; names
and versions match in full (no trailing newline) and in ASCII digits only ("٣" is not 3)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.presets import PresetFormatError, Registry, read_preset
from sra_search.presets.schema import check_name
from sra_search.presets.store import versions
from sra_search.search.studyfile.schema import StudyFileError, parse_study
from sra_search.search.studyfile.task_params import check_task_params

REPO = Path(__file__).resolve().parents[2]
PRESET = REPO / "presets" / "smollm2-135m" / "passkey" / "v3.json"
runner = CliRunner()

STUDY = """name = "strict"
model = "smollm2-135m"
[[tasks]]
name = "passkey"
params = {{ {key} = {value} }}
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}
[budget]
trials = 1
"""

# Passkey parameters and values of the right type that are in range: only the type is made wrong.
INT_PARAMS = {"length": st.integers(64, 4096), "seed": st.integers(0, 10**6), "n_cases": st.integers(1, 100),
              "key_digits": st.integers(1, 30), "key_words": st.integers(1, 100)}  # fmt: skip
FLOAT_PARAMS = {"depth": st.floats(0, 1), "holdout_fraction": st.floats(0.01, 0.99)}
BOOL_PARAMS = {"chat": st.booleans()}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _wrong_types(key: str, good) -> list:
    if key in INT_PARAMS:
        return [str(good), float(good), good % 2 == 0]
    if key in FLOAT_PARAMS:
        return [str(good), good >= 0.5]
    return [int(good), str(good).lower()]


def _check(key: str, value) -> None:
    spec = parse_study(STUDY.format(key=key, value=_toml(value)), "strict.toml")
    check_task_params(spec.tasks, None)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(data=st.data())
def test_study_task_params_are_not_coerced(data):
    key = data.draw(st.sampled_from(sorted({**INT_PARAMS, **FLOAT_PARAMS, **BOOL_PARAMS})))
    good = data.draw({**INT_PARAMS, **FLOAT_PARAMS, **BOOL_PARAMS}[key])
    _check(key, good)  # the right type is accepted
    bad = data.draw(st.sampled_from(_wrong_types(key, good)))
    with pytest.raises(StudyFileError) as err:
        _check(key, bad)
    assert f"tasks[0]: task 'passkey': parameter '{key}'" in str(err.value), str(err.value)


def test_an_int_is_still_a_float():
    _check("depth", 0)  # TOML has no 0.0-only rule: an integer where a float belongs is fine


def test_the_python_api_still_coerces_command_line_text():
    import objectives

    assert objectives.get("passkey", length="512").params.length == 512  # `eval -p length=512` reads text


SRA_NUMBERS = ["tau_in", "tau_ou", "s_in", "s_ou", "c_s", "c_e", "gem_share"]
EVAL_BAD = [(k, v) for k in SRA_NUMBERS for v in ("true", "false")] + [
    (k, v) for k in ("inter", "outer") for v in ("1", "0", "1.0", '"true"')
] + [("c_s", "5.0"), ("c_e", "50.5"), ("c_s", '"5"')]  # fmt: skip


@pytest.fixture
def no_model(monkeypatch):
    import sra_search.models

    def refuse(*a, **k):
        raise AssertionError("a bad --params value got as far as loading the model")

    monkeypatch.setattr(sra_search.models, "load_model", refuse)


@pytest.mark.parametrize("key,value", EVAL_BAD)
def test_eval_params_are_strict(key, value, no_model):
    res = runner.invoke(app, ["eval", "--task", "passkey", "--params", f"{key}={value}"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert f"'{key}'" in res.output, res.output


def test_eval_params_of_the_right_type_are_accepted():
    from sra_search.cli.eval_cmd import build_config

    cfg = build_config("tau_in=1,c_s=3,inter=true,gem_share=0", None)
    assert (cfg.tau_in, cfg.c_s, cfg.inter, cfg.gem_share) == (1.0, 3, True, 0.0)


# ----------------------------------------------------------------------------- presets


def _write_preset(tmp_path: Path, **changes) -> Path:
    data = json.loads(PRESET.read_text())
    data.update(changes)
    path = tmp_path / "smollm2-135m" / "passkey" / "v3.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("field,value", [
    ("schema_version", 2.0), ("schema_version", True), ("schema_version", "2"), ("schema_version", 1.0),
    ("version", 3.0), ("version", True), ("version", "3"), ("beats_baseline", 0),
])  # fmt: skip
def test_preset_numbers_are_strict(tmp_path, field, value):
    assert read_preset(_write_preset(tmp_path)).version == 3  # the unchanged copy reads
    with pytest.raises(PresetFormatError) as err:
        read_preset(_write_preset(tmp_path, **{field: value}))
    assert field in str(err.value)


NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.one_of(st.text(max_size=70), st.from_regex(NAME, fullmatch=True).map(lambda s: s + "\n"),
                       st.from_regex(r"[a-z0-9]{1,10}[\n\r\t ]", fullmatch=True)))  # fmt: skip
def test_names_are_matched_in_full(value):
    """check_name accepts exactly the ASCII names of its pattern: nothing after a valid name
    (a newline, a space), no other script's letters or digits."""
    ok = bool(NAME.fullmatch(value)) and ".." not in value and value.isascii()
    try:
        check_name("task name", value)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == ok, repr(value)


NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())


@settings(max_examples=100, deadline=None, derandomize=True)
@given(digits=st.lists(NON_ASCII_DIGITS, min_size=1, max_size=4).map("".join), ascii_prefix=st.sampled_from(["", "1"]))
def test_versions_with_other_scripts_digits_are_refused(digits, ascii_prefix):
    version = ascii_prefix + digits
    assert version.isdigit()  # what str.isdigit (and int()) accept, and a version must not
    with pytest.raises(ValueError, match="version must be a positive integer"):
        Registry(REPO / "presets").get("smollm2-135m", "passkey", version)


@pytest.mark.parametrize("version", ["3\n", " 3", "+3", "3_0", "0", "-1", True, 3.0, "03", ""])
def test_malformed_versions_are_refused(version):
    with pytest.raises(ValueError, match="version must be a positive integer"):
        Registry(REPO / "presets").get("smollm2-135m", "passkey", version)
    assert Registry(REPO / "presets").get("smollm2-135m", "passkey", 3, include_unproven=True).version == 3


@pytest.mark.parametrize("name", ["v1.json\n", "v\u0661.json", "v1.json ", "v01.json", "v1.JSON"])
def test_version_files_are_matched_in_full(tmp_path, name):
    d = tmp_path / "m" / "t"
    d.mkdir(parents=True)
    shutil.copy(PRESET, d / "v2.json")
    (d / name).write_text("{}")
    assert versions(d) == [2], name


@pytest.mark.parametrize("path", [
    "/presets/smollm2-135m/passkey?version=3%0A", "/presets/smollm2-135m/passkey?version=%D9%A3",
    "/presets/smollm2-135m/passkey?version=3.0", "/presets/smollm2-135m%0A/passkey", "/presets/smollm2-135m/passkey%0A",
])  # fmt: skip
def test_server_matches_names_and_versions_in_full(path):
    from fastapi.testclient import TestClient

    from sra_search.presets.server import create_app

    client = TestClient(create_app(Registry(REPO / "presets")))
    assert client.get("/presets/smollm2-135m/passkey?version=3&include_unproven=true").status_code == 200
    assert client.get(path).status_code in (400, 422), path
