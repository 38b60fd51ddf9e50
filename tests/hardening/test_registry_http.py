"""A registry URL that does not answer as ``sra-search serve`` does: refused connections, timeouts,
error statuses, bodies that are not JSON or not presets. Every command that takes ``--registry``
ends in one line naming the registry (password hidden) and the fix, exit 2, no traceback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.presets import PresetFormatError, PresetNotFoundError, Registry
from sra_search.presets import registry as registry_mod
from sra_search.presets.registry import RegistryError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((REPO / "presets" / "smollm2-135m" / "passkey" / "v3.json").read_text())
runner = CliRunner()

# What the fake server answers to every request: (status, content type, body, seconds to wait first).
ANSWERS = {
    "500 json": (500, "application/json", json.dumps({"detail": "stored preset is invalid"}), 0),
    "503 html": (503, "text/html", "<html>busy</html>", 0),
    "302 redirect": (302, "text/plain", "", 0),
    "200 html": (200, "text/html", "<html>not a registry</html>", 0),
    "200 not utf-8": (200, "application/json", b"\xff\xfe{", 0),
    "200 json list of junk": (200, "application/json", json.dumps([1, "x", None]), 0),
    "200 json object": (200, "application/json", json.dumps({"presets": []}), 0),
    "200 preset schema_version 1.0": (200, "application/json", json.dumps({**SHIPPED, "schema_version": 2.0}), 0),
    "200 preset version true": (200, "application/json", json.dumps({**SHIPPED, "version": True}), 0),
    "200 preset missing field": (200, "application/json", json.dumps({k: v for k, v in SHIPPED.items() if k != "buckets"}), 0),
    "404 html": (404, "text/html", "<html>nope</html>", 0),
    "400 json": (400, "application/json", json.dumps({"detail": "model name 'x' is not a valid name"}), 0),
    "slow": (200, "application/json", "[]", 3),
}


class _Handler(BaseHTTPRequestHandler):
    answer = ANSWERS["500 json"]

    def do_GET(self):  # noqa: N802 - http.server's name
        status, ctype, body, wait = self.server.answer
        time.sleep(wait)
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda *a: None  # a client that gave up on "slow" breaks the pipe: not news
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(registry_mod, "HTTP_TIMEOUT_S", 1)


def _url(server, password: bool = True) -> str:
    host, port = server.server_address[:2]
    return f"http://reader:hunter2-secret@{host}:{port}" if password else f"http://{host}:{port}"


EXPECTED = {  # answer -> (exception of the Registry API, words in its message)
    "500 json": (RegistryError, "answered HTTP 500 for /presets"),
    "503 html": (RegistryError, "answered HTTP 503"),
    "302 redirect": (RegistryError, "answered HTTP 302"),
    "200 html": (RegistryError, "not JSON"),
    "200 not utf-8": (RegistryError, "not JSON"),
    "200 json list of junk": (RegistryError, "not a preset list"),
    "200 json object": (RegistryError, "not a preset list"),
    "404 html": (PresetNotFoundError, "not found"),
    "400 json": (ValueError, "not a valid name"),
    "slow": (RegistryError, "did not answer within 1 s"),
}
GET_EXPECTED = {**EXPECTED, "200 json list of junk": (PresetFormatError, "invalid preset"),
                "200 json object": (PresetFormatError, "invalid preset"),
                "200 preset schema_version 1.0": (PresetFormatError, "schema_version"),
                "200 preset version true": (PresetFormatError, "version"),
                "200 preset missing field": (PresetFormatError, "buckets")}  # fmt: skip


@pytest.mark.parametrize("answer", sorted(EXPECTED))
def test_list_maps_every_bad_answer_to_one_error(server, short_timeout, answer):
    server.answer = ANSWERS[answer]
    kind, words = EXPECTED[answer]
    with pytest.raises(kind) as err:
        Registry(_url(server)).list()
    assert words in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize("answer", sorted(GET_EXPECTED))
def test_get_maps_every_bad_answer_to_one_error(server, short_timeout, answer):
    server.answer = ANSWERS[answer]
    kind, words = GET_EXPECTED[answer]
    with pytest.raises(kind) as err:
        Registry(_url(server)).get("smollm2-135m", "passkey", include_unproven=True)
    assert words in str(err.value) and "hunter2" not in str(err.value)


COMMANDS = [
    ["presets", "list"],
    ["presets", "list", "--json"],
    ["presets", "show", "smollm2-135m", "passkey"],
    ["presets", "show", "smollm2-135m", "passkey", "--version", "2"],
    ["presets", "validate"],
    ["regress"],
]


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "hunter2" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("answer", ["500 json", "200 html", "slow", "200 json object"])
def test_commands_with_a_bad_registry_answer_are_one_line(server, short_timeout, command, answer):
    server.answer = ANSWERS[answer]
    line = _one_line(runner.invoke(app, [*command, "--registry", _url(server)]))
    assert "registry http://reader:***@127.0.0.1:" in line or "invalid preset" in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://reader:hunter2-secret@127.0.0.1:1/", "http://[::1", "http://127.0.0.1:99999"])
def test_commands_with_an_unreachable_registry_are_one_line(command, url):
    line = _one_line(runner.invoke(app, [*command, "--registry", url]))
    assert "registry" in line and ("sra-search serve" in line or "--registry" in line)


def test_a_registry_that_answers_well_still_works(server):
    server.answer = (200, "application/json", json.dumps(SHIPPED), 0)
    preset = Registry(_url(server, password=False)).get("smollm2-135m", "passkey", include_unproven=True)
    assert preset.version == SHIPPED["version"]
