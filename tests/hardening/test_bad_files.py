"""Hostile files and names through the CLI: always exit 2 (1 for `presets validate`), one line,
no traceback, nothing hung. Causes from issue #13: rich markup in user text, Python's
4,300-digit integer limit, deep nesting, non-UTF-8 bytes, FIFOs, duplicate JSON keys."""

import os

import pytest
from typer.testing import CliRunner

from sra_search.cli.app import app

runner = CliRunner()


def _one_clean_line(res, code=2):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "Error:" not in res.output.replace("error:", "")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def _study_texts():
    return {
        "huge_int": 'name = "x"\nmodel = "m"\nseed = ' + "9" * 5000 + "\n",
        "deep": "a = " + "[" * 5000 + "]" * 5000 + "\n",
        "markup": 'name = "[/]"\nmodel = "[bold]x[/bold]"\n[[tasks]]\nname = "[/]"\n',
    }


@pytest.mark.parametrize("kind", sorted(_study_texts()))
def test_hostile_study_files(tmp_path, kind):
    f = tmp_path / "s.toml"
    f.write_text(_study_texts()[kind])
    line = _one_clean_line(runner.invoke(app, ["run", str(f)]))
    assert line.startswith("error:") and str(f) in line


def test_study_file_not_utf8_and_fifo(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "\xff"\n')
    assert "not UTF-8" in _one_clean_line(runner.invoke(app, ["run", str(bad)]))
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert "not a regular file" in _one_clean_line(runner.invoke(app, ["run", str(fifo)]))


def test_markup_in_a_preset_name_is_plain_text():
    line = _one_clean_line(runner.invoke(app, ["presets", "show", "[/]", "passkey"]))
    assert "'[/]' is not a valid name" in line


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"schema_version": 1, "schema_version": 1}', "duplicate key 'schema_version'"),
        (b"[" * 3000 + b"]" * 3000, "nested too deeply"),
        (b'{"version": ' + b"9" * 5000 + b"}", "not readable JSON"),
        (b'{"name": "\xff"}', "not readable JSON"),
    ],
)
def test_hostile_preset_files(tmp_path, content, message):
    f = tmp_path / "v1.json"
    f.write_bytes(content)
    res = runner.invoke(app, ["presets", "validate", str(f)])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output
    line = _one_clean_line(runner.invoke(app, ["eval", "-t", "passkey", "--preset", str(f)]))
    assert line.startswith("error: --preset:")


def test_a_long_multi_line_error_stays_on_one_line(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\nmodel = "m"\n' + "".join(f"bad_key_{i} = 1\n" for i in range(30)))
    line = _one_clean_line(runner.invoke(app, ["run", str(f)]))
    assert len(line) > 160 and "bad_key_0" in line and "bad_key_29" in line
