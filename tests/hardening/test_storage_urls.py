"""Storage URLs, property-based: the plain ``postgresql://`` form works with the installed driver;
a URL whose driver is missing, asynchronous or unknown is refused in one line naming the URL forms
that work; a server that cannot be reached is one line even with ``storage.retry_s = 0``; commands
that only read never create a SQLite file; no message ever holds the password."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.search.studyfile.schema import StudyFileError, resolve_storage_url
from sra_search.search.studyfile.storage_url import StorageURLError, usable_url
from sra_search.urls import redact_url, scrub_secrets

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
SECRET = "s3cr3tZ"  # every generated password starts with it: a message holding it leaked one

# Drivers that cannot work here: not installed, asyncio (Optuna's storage is synchronous), unknown.
UNUSABLE = ["mysql+pymysql", "mysql", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+pg8000",
            "mssql+pyodbc", "oracle+oracledb", "sqlite+aiosqlite", "nosuchdb", "postgresql+nosuchdriver",
            "cockroachdb", "redis"]  # fmt: skip
PASSWORDS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=12).map(lambda s: SECRET + s)
HOSTS = st.sampled_from(["127.0.0.1", "db.example.org", "localhost", "[::1]"])
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


def _url(driver: str, user: str, password: str, host: str, db: str) -> str:
    return f"{driver}://{user}:{quote(password, safe='')}@{host}:5432/{db}"


def _no_secret(text: str) -> None:
    assert SECRET not in text and quote(SECRET) not in text, text


@settings(max_examples=60, deadline=None, derandomize=True)
@given(driver=st.sampled_from(UNUSABLE), user=NAMES, password=PASSWORDS, host=HOSTS, db=NAMES)
def test_unusable_drivers_are_refused_naming_the_forms_that_work(driver, user, password, host, db):
    url = _url(driver, user, password, host, db)
    with pytest.raises(StudyFileError) as err:
        resolve_storage_url(url)
    msg = str(err.value)
    assert "\n" not in msg and redact_url(url) in msg
    assert "URLs that work here: sqlite:///PATH, postgresql://USER:PASSWORD@HOST:PORT/DB" in msg
    _no_secret(msg)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(plain=st.sampled_from(["postgresql", "postgres"]), user=NAMES, password=PASSWORDS, host=HOSTS, db=NAMES)
def test_plain_postgresql_means_the_installed_driver(plain, user, password, host, db):
    url = _url(plain, user, password, host, db)
    assert resolve_storage_url(url) == url  # shown and recorded as the user wrote it
    engine = make_url(usable_url(url))
    given_ = make_url(url.replace(f"{plain}://", "postgresql://", 1))
    assert engine.drivername == "postgresql+psycopg2"  # what the [search] extra installs
    assert (engine.username, engine.password, engine.host, engine.port, engine.database) == (
        given_.username, given_.password, given_.host, given_.port, given_.database)  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True)
@given(secret=PASSWORDS, before=st.text(max_size=20), after=st.text(max_size=20))
def test_scrub_secrets_removes_the_password_from_any_message(secret, before, after):
    url = f"postgresql://u:{quote(secret, safe='')}@h/db"
    for shown in (secret, quote(secret, safe="")):
        _no_secret(scrub_secrets(f"{before}{shown}{after}", url))


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    _no_secret(lines[0])
    return lines[0]


UNREACHABLE = f"postgresql://sra:{SECRET}pw@127.0.0.1:1/sra"  # port 1: connection refused at once


def _study(tmp_path: Path, model: str, url: str) -> Path:
    study = tmp_path / "s.toml"
    study.write_text(f"""name = "unreachable"
model = "{model}"
[[tasks]]
name = "passkey"
params = {{ length = 128 }}
cases = {{ search = 2 }}
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}
[budget]
trials = 1
[storage]
url = "{url}"
retry_s = 0
""")
    return study


def test_run_with_retry_0_and_an_unreachable_server_is_one_line(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.chdir(tmp_path)
    line = _one_line(runner.invoke(app, ["run", str(_study(tmp_path, tiny_model_dir, UNREACHABLE)), "--no-holdout"]))
    assert "storage postgresql://sra:***@127.0.0.1:1/sra unreachable" in line and "Connection refused" in line


READ_ONLY = {
    "status": lambda url, study: ["status", "--storage", url],
    "dashboard": lambda url, study: ["dashboard", "--storage", url, "--port", "1"],
    "report": lambda url, study: ["report", "x", "--storage", url, "--out", "out", "--no-heatmap"],
    "export": lambda url, study: ["export", str(study), "--storage", url, "--to", "presets-out"],
}


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_commands_with_an_unreachable_server_are_one_line(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, "smollm2-135m", "sqlite:///x.db")
    line = _one_line(runner.invoke(app, READ_ONLY[command](UNREACHABLE, study)))
    assert "postgresql://sra:***@127.0.0.1:1/sra unreachable" in line


@pytest.mark.parametrize("path", ["nonexistent/dir/x.db", "x.db", "./a/b/c/d.db"])
@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_commands_never_create_a_sqlite_file(command, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, "smollm2-135m", "sqlite:///x.db")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    line = _one_line(runner.invoke(app, READ_ONLY[command](f"sqlite:///{path}", study)))
    assert "no storage at sqlite:///" in line
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "a read-only command wrote something"


@pytest.mark.parametrize("command", sorted(READ_ONLY))
@pytest.mark.parametrize("driver", ["mysql+pymysql", "postgresql+asyncpg", "nosuchdb"])
def test_read_only_commands_refuse_unusable_drivers(command, driver, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, "smollm2-135m", "sqlite:///x.db")
    line = _one_line(runner.invoke(app, READ_ONLY[command](f"{driver}://u:{SECRET}@h/db", study)))
    assert "URLs that work here" in line


def test_every_storage_is_opened_through_open_storage():
    """No module but search/storage/rdb.py makes an engine or an RDBStorage, and no Optuna call gets a URL string."""
    direct = re.compile(r"RDBStorage\(|create_engine\(|storage=(url|spec\.storage|self\.url)\b")
    hits = [
        f"{p.relative_to(REPO)}:{i}"
        for p in sorted((REPO / "sra_search").rglob("*.py")) if p != REPO / "sra_search" / "search" / "storage" / "rdb.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if direct.search(line)
    ]  # fmt: skip
    assert not hits, hits


def test_storage_url_error_is_a_value_error_naming_the_fix():
    with pytest.raises(StorageURLError, match="no storage at sqlite:///nope/x.db"):
        usable_url("sqlite:///nope/x.db", must_exist=True)
    assert usable_url("sqlite:///nope/x.db").startswith("sqlite:///")  # run creates it
