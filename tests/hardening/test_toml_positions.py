"""Study-file errors point at the right line, property-based: whatever text sits in strings and
comments before a bad key (``seed = 3`` inside a multi-line description, a ``[budget]`` header in a
literal string), and in the second ``[[tasks]]`` table rather than the first; a key set twice is
named, with its full path and the line of its second setting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sra_search.search.studyfile.schema import StudyFileError, parse_study
from sra_search.search.studyfile.toml_positions import key_lines

# A study file as lines; "@KEY" marks the line each breakable key is on. DECOY_* are replaced by
# drawn text inside a multi-line basic string, a multi-line literal string and a comment.
TEMPLATE = '''name = "lines"
description = """DECOY_BASIC"""
# DECOY_COMMENT
model = "smollm2-135m"  # @model
seed = 1  # @seed
[[tasks]]
name = "passkey"
params = { length = 256 }
weight = 1.0  # @tasks[0].weight
cases = { search = 4, holdout = 2 }  # @tasks[0].cases.search
chunk = 2  # @tasks[0].chunk
[[tasks]]
name = "passkey"
params = { length = 512, note = \'\'\'DECOY_LITERAL\'\'\' }
weight = 1.0  # @tasks[1].weight
chunk = 2  # @tasks[1].chunk
[search_space]
tau_in = { low = 0.1, high = 1.0 }  # @search_space.tau_in
s_in = { choices = [1.5,  # @search_space.s_in
                    3.0] }
[budget]
trials = 4  # @budget.trials
[storage]
heartbeat_s = 5  # @storage.heartbeat_s
'''

# How to break each key (old text -> new text on its line).
BREAK = {
    "seed": ("seed = 1", "seed = -1"),
    "tasks[0].weight": ("weight = 1.0", "weight = -1.0"),
    "tasks[0].cases.search": ("search = 4", "search = 0"),
    "tasks[0].chunk": ("chunk = 2", "chunk = 0"),
    "tasks[1].weight": ("weight = 1.0", "weight = -2.0"),
    "tasks[1].chunk": ("chunk = 2", "chunk = 0"),
    "search_space.tau_in": ("low = 0.1, high = 1.0", "low = 2.0, high = 1.0"),
    "search_space.s_in": ("[1.5,", "[-1.5,"),
    "budget.trials": ("trials = 4", "trials = 0"),
    "storage.heartbeat_s": ("heartbeat_s = 5", "heartbeat_s = 0"),
}
DECOYS = [
    "seed = 3", "[budget]", "trials = 4", "[[tasks]]", "weight = 2.0", "chunk = 1", "search = 1",
    "[search_space]", "tau_in = { low = 0.1, high = 0.2 }", "s_in = 1", "heartbeat_s = 9", "[storage]",
    "name = \"x\"", "cases = { search = 4 }", "model = \"m\"", "'''", '"', "#", "\\\\", "= = =",
]  # fmt: skip


def _safe(text: str, literal: bool) -> str:
    # Content that cannot end its string early: no ''' in a literal string, no unescaped " in a basic one.
    return text.replace("'''", "''") if literal else text.replace("\\", "\\\\").replace('"', '\\"')


def _document(key: str, basic: list[str], literal: list[str], comment: str) -> tuple[str, int]:
    old, new = BREAK[key]
    lines = TEMPLATE.replace("DECOY_BASIC", _safe("\n".join(basic), False)).replace(
        "DECOY_LITERAL", _safe("\n".join(literal), True)).replace("DECOY_COMMENT", comment.replace("\n", " "))  # fmt: skip
    out = lines.splitlines()
    line = next(i for i, text in enumerate(out, 1) if text.endswith(f"# @{key}"))
    assert old in out[line - 1], (key, out[line - 1])
    out[line - 1] = out[line - 1].replace(old, new)
    return "\n".join(out) + "\n", line


DECOY_LINES = st.lists(st.one_of(st.sampled_from(DECOYS), st.text(alphabet="abc =[]{}.#\"'", max_size=15)), max_size=6)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(key=st.sampled_from(sorted(BREAK)), basic=DECOY_LINES, literal=DECOY_LINES, comment=st.sampled_from(DECOYS))
def test_errors_point_at_the_key_whatever_the_strings_hold(key, basic, literal, comment):
    text, line = _document(key, basic, literal, comment)
    with pytest.raises(StudyFileError) as err:
        parse_study(text, "lines.toml")
    assert f"lines.toml:{line}: {key}" in str(err.value), f"{key} is on line {line}:\n{err.value}\n{text}"


def test_the_template_is_valid_without_a_broken_key():
    text = TEMPLATE.replace("DECOY_BASIC", "seed = 3").replace("DECOY_LITERAL", "[budget]").replace("DECOY_COMMENT", "x")
    assert parse_study(text).tasks[1].params["note"] == "[budget]"


# Keys set twice: (document, the key's path as named, line of the second setting).
DUPLICATES = [
    ("a = 1\nb = 2\na = 3\n", "a", 3),
    ("[budget]\ntrials = 1\ntrials = 2\n", "budget.trials", 3),
    ('x = """\nseed = 1\n"""\nseed = 1\nseed = 2\n', "seed", 5),
    ("p.q = 1\np = 2\n", "p", 2),
    ("a.b = 1\na.b = 2\n", "a.b", 2),
    ('"quoted key" = 1\n"quoted key" = 2\n', "quoted key", 2),
    ("[[tasks]]\nname = 1\n[[tasks]]\nname = 2\nname = 3\n", "tasks[1].name", 5),
    ("[t]\nk = 1 # k = 2\n'k' = 2\n", "t.k", 3),
]


@pytest.mark.parametrize("text,key,line", DUPLICATES)
def test_a_key_set_twice_is_named_with_its_line(text, key, line):
    with pytest.raises(StudyFileError) as err:
        parse_study(text, "dup.toml")
    assert f"duplicate key '{key}' at line {line}" in str(err.value), str(err.value)


TABLE_KEYS = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(keys=st.lists(TABLE_KEYS, min_size=2, max_size=6, unique=True), table=st.sampled_from(["", "[budget]", "[[tasks]]"]),
       pick=st.integers(0, 100), gap=st.integers(0, 3))  # fmt: skip
def test_any_key_set_twice_is_named(keys, table, pick, gap):
    lines = ([table] if table else []) + [f"{k} = {i}" for i, k in enumerate(keys)]
    dup = keys[pick % len(keys)]
    lines.insert(len(lines) - gap if gap < len(keys) else len(lines), f"{dup} = 99")
    second = max(i for i, ln in enumerate(lines, 1) if ln.startswith(f"{dup} ="))
    prefix = {"": "", "[budget]": "budget.", "[[tasks]]": "tasks[0]."}[table]
    with pytest.raises(StudyFileError) as err:
        parse_study("\n".join(lines) + "\n", "dup.toml")
    assert f"duplicate key '{prefix}{dup}' at line {second}" in str(err.value), str(err.value)


def test_key_lines_of_a_nested_document():
    lines = key_lines('a = [\n  { b = 1 },\n  { c = "x = 1" },\n]\n[t.u]\nv = 1\n')
    assert lines[("a", 0, "b")] == 2 and lines[("a", 1, "c")] == 3 and lines[("t", "u", "v")] == 6
