"""Property test: any corruption of a valid preset file is rejected with a message naming
the field, and the registry neither crashes nor changes anything on disk."""

import json
import os
import math
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sra_search.presets import PresetFormatError, Registry, publish, read_preset
from sra_search.presets.store import dumps
from tests.presets.conftest import make_preset

VALID = json.loads(dumps(make_preset()))
# Free-form fields where any JSON value is acceptable by design.
FREE = {("task", "params"), ("notes",), ("provenance", "packages")}


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(VALID) if p and not any(p[: len(f)] == f for f in FREE)]
BAD_VALUES = st.sampled_from(["x", "", None, [], {}, -1, 0, 10**30, math.nan, math.inf, -math.inf, True, 1.5])
MUTATION = st.tuples(st.sampled_from(PATHS), st.sampled_from(["delete", "replace", "add_key"]), BAD_VALUES)


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _as_read(doc):
    """``doc`` with the one documented change reading makes: schema 1 and 2 files predate free
    answers, so their task parameters get the primed, teacher-forced answer mode written out."""
    from objectives.answers import with_answer_mode

    if type(doc.get("schema_version")) is not int or doc["schema_version"] not in (1, 2):
        return doc
    doc = json.loads(json.dumps(doc))
    name = doc["task"]["name"]
    doc["task"]["params"] = with_answer_mode(name, doc["task"]["params"], legacy=True)
    for b in doc["buckets"]:
        b["evaluation"]["task_params"] = with_answer_mode(name, b["evaluation"]["task_params"], legacy=True)
    return doc


def _apply(doc, path, op, value):
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if op == "delete":
        if isinstance(parent, list):
            parent.pop(last)
        else:
            del parent[last]
    elif op == "replace":
        parent[last] = value
    else:
        target = parent[last]
        if not isinstance(target, dict):
            parent[last] = value
        else:
            target["unexpected_key"] = value
            return path + ("unexpected_key",)
    return path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MUTATION)
@example((("schema_version",), "replace", True))  # once accepted: pydantic's Literal[1] takes `true`
@example(((("buckets", 0, "evaluation", "task_params")), "replace", {}))  # accepted: any parameters may be recorded
def test_corruption_is_rejected_and_named(tmp_path_factory, mutation):
    root = tmp_path_factory.mktemp("reg")
    _, path = publish(make_preset(), root)
    doc = json.loads(path.read_text())
    field_path = _apply(doc, *mutation)
    path.chmod(0o644)
    path.write_text(json.dumps(doc))
    before = {p: p.read_bytes() for p in Path(root).rglob("*") if p.is_file()}

    try:
        parsed = read_preset(path)
        accepted = True
    except PresetFormatError as e:
        accepted = False
        message = str(e)
    if accepted:
        # Only a value that is valid as written may pass: nothing coerced, nothing dropped.
        dumped = json.loads(dumps(parsed))
        if mutation[1] == "delete":  # a key with a default may be left out
            parent = dumped
            for k in field_path[:-1]:
                parent = parent[k]
            if isinstance(parent, dict):
                parent.pop(field_path[-1], None)
        assert _same(dumped, _as_read(doc)), mutation
    else:
        dotted = ".".join(map(str, field_path))
        named = dotted in message or str(field_path[-1]) in message or any(
            ".".join(map(str, field_path[:i])) in message for i in range(1, len(field_path))
        )
        assert named, (dotted, message)
        assert "Traceback" not in message

    reg = Registry(root)
    assert len(reg.list()) == 1
    reg.problems()
    assert {p: p.read_bytes() for p in Path(root).rglob("*") if p.is_file()} == before


def test_links_out_of_the_registry_are_never_listed_or_served(tmp_path):
    """A v3.json link to a valid preset elsewhere, or a linked task directory, is not part of the
    registry: not listed, not validated as ok, not served, never 'latest'."""
    from fastapi.testclient import TestClient

    from sra_search.presets.server import create_app

    root, outside = tmp_path / "reg", tmp_path / "outside"
    publish(make_preset(notes="inside"), root)
    _, elsewhere = publish(make_preset(notes="outside"), outside)
    task_dir = root / "tiny-llama" / "passkey"
    (task_dir / "v3.json").symlink_to(elsewhere)
    (root / "tiny-llama" / "linked").symlink_to(outside / "tiny-llama" / "passkey")
    reg = Registry(root)
    assert [(r.task, r.version) for r in reg.list()] == [("passkey", 1)] and reg.problems() == []
    assert reg.get("tiny-llama", "passkey").notes == "inside"
    client = TestClient(create_app(reg))
    assert [p["version"] for p in client.get("/presets").json()] == [1]
    assert client.get("/presets/tiny-llama/passkey", params={"version": "3"}).status_code == 404
    assert client.get("/presets/tiny-llama/linked").status_code == 404


def test_http_corrupt_file_is_a_500_with_json_and_no_server_paths(tmp_path):
    from fastapi.testclient import TestClient

    from sra_search.presets.server import create_app

    root = tmp_path / "reg"
    _, path = publish(make_preset(), root)
    os.chmod(path, 0o644)
    path.write_text("[" * 3000 + "]" * 3000)
    client = TestClient(create_app(Registry(root)))
    bad = client.get("/presets/tiny-llama/passkey")
    assert bad.status_code == 500 and "registry problem" in bad.json()["detail"]
    assert "tiny-llama/passkey/v1.json" in bad.json()["detail"] and str(tmp_path) not in bad.text
    missing = client.get("/presets/tiny-llama/other")
    assert missing.status_code == 404 and str(tmp_path) not in missing.text
    assert client.get("/docs").status_code == 404  # no page that loads assets from a CDN
