"""Bad command-line options of run / status / eval / presets / regress: exit code 2, a message
that names the option (or the value), no traceback, and nothing run or written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sra_search.cli.app import app

REPO = Path(__file__).resolve().parents[2]
STUDY = str(REPO / "studies" / "smollm2-passkey.toml")
runner = CliRunner()


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch, tmp_path):
    """A bad option must stop the command before it opens a storage or loads a model."""
    import sra_search.models
    from sra_search.search import driver

    def refuse(*a, **k):
        raise AssertionError("a bad option got as far as opening the storage or loading a model")

    monkeypatch.setattr(driver.Driver, "open_study", refuse)
    monkeypatch.setattr(sra_search.models, "load_model", refuse)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SRA_SEARCH_STORAGE", raising=False)
    monkeypatch.delenv("SRA_SEARCH_PRESETS", raising=False)


def _plain(text: str) -> str:
    """rich boxes wrap messages over lines: compare on single-spaced text without box characters."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def check_usage_error(args: list[str], *expected: str) -> str:
    result = runner.invoke(app, args)
    out = _plain(result.output)
    assert result.exit_code == 2, f"{args}: exit {result.exit_code}: {out}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{args}: {result.exception!r}"
    assert "Traceback" not in result.output, out
    for e in expected:
        assert _plain(e) in out, f"{args}: {e!r} not in: {out}"
    return out


CASES = [
    (["run", STUDY, "--trials", "0"], "--trials"),
    (["run", STUDY, "--trials", "abc"], "--trials"),
    (["run", STUDY, "--trials", "99999999999999999999"], "--trials"),
    (["run", STUDY, "--time", "nan"], "--time"),
    (["run", STUDY, "--time", "inf"], "--time"),
    (["run", STUDY, "--time", "-5"], "--time"),
    (["run", STUDY, "--workers", "0"], "--workers"),
    (["run", STUDY, "--storage", "not a url"], "storage URL"),
    (["run", STUDY, "--storage", "postgres ql://u:hunter2@h/db"], "storage URL"),
    (["run", STUDY, "--storage", "postgresql://u:${SRA_HARDENING_UNSET}@h/db"], "environment variable that is not set"),
    (["run", "/no/such.toml"], "study_file"),
    (["run", str(REPO)], "study_file"),
    (["run", STUDY, "--no-such-option"], "No such option"),
    (["status", "--storage", "not a url"], "storage URL"),
    (["status", "--storage", "sqlite:///none-here.db"], "no storage at"),
    (["status", "--storage", "postgresql+psycopg2://u:hunter2@127.0.0.1:1/x"], "storage postgresql+psycopg2://u:***@127.0.0.1:1/x unreachable"),
    (["eval", "--task", "passkey", "--cases", "0"], "--cases"),
    (["eval", "--task", "passkey", "--cases", "many"], "--cases"),
    (["eval", "--task", "bogus"], "unknown task 'bogus'"),
    (["eval", "--task", "passkey", "--split", "bogus"], "--split"),
    (["eval", "--task", "passkey", "--offset", "-1"], "--offset"),
    (["eval", "--task", "passkey", "--params", "tau_in=abc"], "tau_in"),
    (["eval", "--task", "passkey", "--params", "bogus=1"], "bogus"),
    (["eval", "--task", "passkey", "--params", "tau_in=NaN"], "tau_in"),
    (["eval", "--task", "passkey", "--params", "s_in=1e999"], "s_in"),
    (["eval", "--task", "passkey", "--params", "c_e=-3"], "c_e"),
    (["eval", "--task", "passkey", "--preset", "/no/such.json"], "--preset"),
    (["eval", "--task", "passkey", "--batch-size", "0"], "--batch-size"),
    (["eval", "--task", "passkey", "--length", "-5"], "length"),
    (["eval", "--task", "passkey", "--length", "99999999999"], "length"),
    (["eval", "--task", "passkey", "-p", "nolength"], "--task-param"),
    (["eval", "--task", "passkey", "-p", "key_digits=nan"], "key_digits"),
    (["eval", "--task", "passkey", "--perplexity-tokens", "0"], "--perplexity-tokens"),
    (["presets", "show", "smollm2-135m", "passkey", "--version", "abc"], "version"),
    (["presets", "show", "nosuch", "passkey"], "nosuch"),
    (["presets", "show", "../../etc", "passwd"], "not a valid name"),
    (["presets", "list", "--registry", "/no/such/dir"], "--registry"),
    (["presets", "validate", "/no/such.json"], "paths"),
    (["regress", "--tolerance", "-1"], "--tolerance"),
    (["regress", "--tolerance", "abc"], "--tolerance"),
    (["regress", "--tolerance", "nan"], "--tolerance"),
    (["regress", "/no/such.json"], "/no/such.json"),
]


@pytest.mark.parametrize("args,expected", CASES, ids=lambda x: " ".join(x)[-60:] if isinstance(x, list) else None)
def test_bad_option_exit_2_with_message(args, expected):
    out = check_usage_error(args, expected)
    assert "hunter2" not in out  # a password in a storage URL is never printed


def test_regress_with_an_empty_registry(tmp_path):
    (tmp_path / "empty").mkdir()
    check_usage_error(["regress", "--registry", str(tmp_path / "empty")], "no presets to check")


def test_preset_file_with_bad_values_names_the_field(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text('{"config": {"tau_in": "x", "s_in": 1e400, "bogus": 1}}')
    out = check_usage_error(["eval", "--task", "passkey", "--preset", str(bad)], "tau_in", "bogus")
    assert "s_in" in out


# ----------------------------------------------------------------------------- property-based

NOT_A_NUMBER = st.text(min_size=1, max_size=8).filter(lambda s: not re.fullmatch(r"\s*[-+]?[0-9.eE_]+\s*|\s*[-+]?(nan|inf|infinity)\s*", s.lower()) and not s.startswith("-"))
BAD_COUNT = st.one_of(st.integers(max_value=0).map(str), st.integers(min_value=1_000_001, max_value=10**30).map(str),
                      NOT_A_NUMBER, st.sampled_from(["1.5", "nan", "inf", "1e3"]))  # fmt: skip


@settings(max_examples=40, deadline=None, derandomize=True)
@given(value=BAD_COUNT, option=st.sampled_from(["--trials", "--workers"]))
def test_run_counts_reject_every_bad_value(value, option):
    check_usage_error(["run", STUDY, option, value], option)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(value=st.one_of(st.floats(max_value=0.999, allow_nan=False).map(repr), st.floats(min_value=3.2e7).map(repr),
                       NOT_A_NUMBER, st.sampled_from(["nan", "-inf", "inf"])))  # fmt: skip
def test_run_time_rejects_every_bad_value(value):
    check_usage_error(["run", STUDY, "--time", value], "--time")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(key=st.sampled_from(["tau_in", "tau_ou", "s_in", "s_ou", "c_s", "c_e", "inter", "outer", "gem_share"]),
       value=st.one_of(st.sampled_from(["nan", "inf", "-inf", "-1", "1e999", "[1]", "{}", "null", "\"x\""]), NOT_A_NUMBER))  # fmt: skip
def test_eval_sra_params_reject_every_bad_value(key, value):
    if key in ("inter", "outer") and value in ("-1",):
        value = "2"  # 0/1 are read as booleans by pydantic; 2 is not
    check_usage_error(["eval", "--task", "passkey", "--params", f"{key}={value}"], key)
