"""Hostile files and names through the CLI: always exit 2 (1 for `presets validate`), one line,
no traceback, nothing hung. Causes from issue #13: rich markup in user text, Python's
4,300-digit integer limit, deep nesting, non-UTF-8 bytes, FIFOs, duplicate JSON keys. From issue
#27: a too-long integer is named by its key (and line, in TOML) with the range its field allows,
in study files, presets and `eval --params`; `eval`'s key=value values are bounded in depth and
size before they are parsed."""

import json
import os
from pathlib import Path

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
        (b'{"version": ' + b"9" * 5000 + b"}", "version: an integer of 5,000 digits; allowed: 1 to 999999999"),
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


NINES = "9" * 5000
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "presets" / "smollm2-135m" / "passkey" / "v4.json"


@pytest.mark.parametrize(
    "toml, expected",
    [
        (f"seed = {NINES}\n", "s.toml:3: seed: an integer of 5,000 digits; allowed: 0 to 4294967295"),
        (f"seed = -{NINES}\n", "s.toml:3: seed: an integer of 5,000 digits; allowed: 0 to 4294967295"),
        (f"seed = +{NINES[:-3]}_999\n", "s.toml:3: seed: an integer of 5,000 digits; allowed: 0 to 4294967295"),
        # Decoys: the same digits in a comment and a string come before the key that holds them.
        (f'# seed = {NINES}\ndescription = """\nseed = {NINES}\n"""\nseed = {NINES}\n',
         "s.toml:7: seed: an integer of 5,000 digits; allowed: 0 to 4294967295"),
        (f"[budget]\ntrials = {NINES}\n", "s.toml:4: budget.trials: an integer of 5,000 digits; allowed: 1 to"),
        (f'[[tasks]]\nname = "passkey"\nparams = {{ length = {NINES} }}\n',
         f"s.toml:5: tasks[0].params.length: an integer of 5,000 digits; integers have at most 4,300 digits"),
    ],
)  # fmt: skip
def test_long_integer_in_a_study_file_names_key_line_and_range(tmp_path, toml, expected):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\nmodel = "m"\n' + toml)
    line = _one_clean_line(runner.invoke(app, ["run", str(f)]))
    assert expected.replace("s.toml", str(f)) in line, line
    assert "set_int_max_str_digits" not in line and "Exceeds the limit" not in line
    assert not list(tmp_path.glob("*.db"))


def _preset_with(tmp_path, where: list, key: str) -> Path:
    """The shipped preset at its registry path, with the integer at ``where + [key]`` 5,000 digits long."""
    data = json.loads(SHIPPED.read_text())
    node = data
    for k in where:
        node = node[k]
    node[key] = 123456789
    f = tmp_path / "smollm2-135m" / "passkey" / "v4.json"
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps(data).replace(": 123456789", ": " + NINES, 1))
    return f


@pytest.mark.parametrize(
    "where, key, expected",
    [
        ([], "version", "version: an integer of 5,000 digits; allowed: 1 to 999999999"),
        (["buckets", 0, "metrics"], "n_cases", "buckets.0.metrics.n_cases: an integer of 5,000 digits; allowed: 1 to 10000000"),
        (["buckets", 0, "config"], "c_s", "buckets.0.config.c_s: an integer of 5,000 digits; allowed: 0 to 1000000"),
        (["buckets", 0, "config"], "s_in", "buckets.0.config.s_in: an integer of 5,000 digits; allowed: 0 to 1000"),
        (["buckets", 0, "evaluation", "task_params"], "seed", "task_params.seed: an integer of 5,000 digits; integers have at most 4,300 digits"),
    ],
)  # fmt: skip
def test_long_integer_in_a_preset_names_the_field_and_range(tmp_path, where, key, expected):
    f = _preset_with(tmp_path, where, key)
    res = runner.invoke(app, ["presets", "validate", str(f)])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert f"bad  {f}: invalid preset: " in res.output and expected in res.output, res.output
    assert "set_int_max_str_digits" not in res.output and "not readable JSON" not in res.output
    line = _one_clean_line(runner.invoke(app, ["eval", "-t", "passkey", "--preset", str(f)]))
    assert line.startswith("error: --preset:") and expected in line, line


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--params", f"c_s={NINES}"], "--params: 'c_s': an integer of 5,000 digits; allowed: 0 to 1000000"),
        (["--params", f"c_e=-{NINES}"], "--params: 'c_e': an integer of 5,000 digits; allowed: 1 to 1000000"),
        (["--params", f"tau_in=0.5,s_in={NINES}"], "--params: 's_in': an integer of 5,000 digits; allowed: 0 to 1000"),
        (["--params", f"inter={NINES}"], "--params: 'inter': an integer of 5,000 digits; input should be a valid boolean"),
        (["-p", f"length={NINES}"], "--task-param: 'length': an integer of 5,000 digits; allowed: 64 to"),
        (["--params", "s_in=" + "[" * 50_000 + "]" * 50_000], "--params: 's_in': nested 50,000 deep; at most 16 levels"),
        (["--params", "s_in=" + '{"a":' * 20_000 + "1" + "}" * 20_000], "--params: 's_in': nested 20,000 deep"),
        (["--params", "s_in=" + "[" * 17 + "]" * 17], "--params: 's_in': nested 17 deep; at most 16 levels"),
        (["--params", "s_in=" + "x" * 12_000], "--params: 's_in': 12,000 characters long; at most 10,000"),
        (["-p", "depth=" + "[" * 50_000], "--task-param: 'depth': nested 50,000 deep"),
    ],
)  # fmt: skip
def test_eval_values_are_bounded_and_named(args, expected):
    line = _one_clean_line(runner.invoke(app, ["eval", "-t", "passkey", *args]))
    assert expected in line, line
    assert "set_int_max_str_digits" not in line and "Recursion" not in line


def test_a_value_just_inside_the_bounds_is_read():
    from sra_search.values import MAX_VALUE_DEPTH, parse_value

    assert parse_value("[" * MAX_VALUE_DEPTH + "]" * MAX_VALUE_DEPTH) is not None
    assert parse_value('"[[[[[[[[[[[[[[[[[[[[[[[["') == "[" * 24  # brackets inside a string do not nest
    assert parse_value("9" * 4300) == int("9" * 4300)
