"""The preset API (`serve`) and the dashboard have no authentication, by design: they bind to
127.0.0.1, and a shared one sits behind a reverse proxy that authenticates
(docs/reliability.md#sharing-the-preset-api-and-the-dashboard). Checked here: both bind to
loopback unless told otherwise, and the registry client authenticates to such a proxy with the
user and password of its URL (HTTP basic auth), never printing the password."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.presets import Registry
from sra_search.presets.registry import RegistryError

runner = CliRunner()
USER, PASSWORD = "alice", "pr0xy-S3cret"


class _Proxy(BaseHTTPRequestHandler):
    """Stands in for nginx with ``auth_basic``: 401 without the right credentials, else the API's
    answer to ``GET /presets`` for an empty registry."""

    def do_GET(self):  # noqa: N802 - http.server's name
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        ok = self.headers.get("Authorization") == expected
        body = json.dumps([] if ok else {"detail": "401 Authorization Required"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def proxy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_registry_client_authenticates_with_the_urls_credentials(proxy):
    assert Registry(f"http://{USER}:{PASSWORD}@{proxy}").list() == []
    with pytest.raises(RegistryError) as err:
        Registry(f"http://{proxy}").list()
    assert "answered HTTP 401" in str(err.value)


@pytest.mark.parametrize("password", ["wrong", PASSWORD + "x"])
def test_a_refused_password_is_one_line_without_it(proxy, password):
    res = runner.invoke(app, ["presets", "list", "--registry", f"http://{USER}:{password}@{proxy}"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.strip()]
    assert f"registry http://{USER}:***@{proxy} answered HTTP 401" in line
    assert password not in res.output


def test_serve_and_dashboard_bind_to_loopback(monkeypatch, tmp_path):
    import optuna
    import optuna_dashboard
    import uvicorn

    bound = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, host, port, **k: bound.update(serve=host))
    monkeypatch.setattr(optuna_dashboard, "run_server", lambda storage, host, port: bound.update(dashboard=host))
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    assert runner.invoke(app, ["serve", "--registry", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["dashboard", "--storage", url]).exit_code == 0
    assert bound == {"serve": "127.0.0.1", "dashboard": "127.0.0.1"}
    res = runner.invoke(app, ["serve", "--registry", str(tmp_path), "--host", "0.0.0.0"])
    assert bound["serve"] == "0.0.0.0" and "has no authentication" in res.output  # told, not refused
