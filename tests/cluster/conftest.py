"""A real Ray cluster on this machine (head + 2 worker nodes, ``benchmarks.local_cluster``) and a
PostgreSQL server whose study role needs a password; both started once per module.

The password reaches the job the way ray_cluster.yaml passes it: in the environment of the head
node's Ray processes, which a job's entrypoint inherits. It is never on a command line, in the
working directory or in the job's runtime environment.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.local_cluster import LocalCluster

REPO = Path(__file__).resolve().parents[2]
PG = REPO / "scripts" / "postgres.sh"
PASSWORD_VAR = "SRA_SEARCH_PG_PASSWORD"


def pytest_configure(config):
    config.addinivalue_line("markers", "cluster: starts a multi-node Ray cluster with `ray start` (about a minute)")


@dataclass
class PgServer:
    dir: Path
    port: int
    password: str

    @property
    def url_template(self) -> str:
        """The study file's URL: the password stays a variable, expanded by the driver."""
        return f"postgresql+psycopg2://sra:${{{PASSWORD_VAR}}}@127.0.0.1:{self.port}/sra_search"

    @property
    def url(self) -> str:
        return self.url_template.replace(f"${{{PASSWORD_VAR}}}", self.password)


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.getuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_password() -> str:
    return secrets.token_urlsafe(18)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory, pg_password):
    """scripts/postgres.sh's throwaway server, plus a role ``sra`` that must log in with a password
    (scram-sha-256 over TCP; the superuser keeps the script's trust for set-up)."""
    if subprocess.run(["bash", str(PG), "bindir"], capture_output=True).returncode != 0:
        if os.environ.get("SRA_SEARCH_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL server binaries are missing although CI requires them")
        pytest.skip("PostgreSQL server binaries are not installed (run scripts/postgres.sh install)")
    pgdir = tmp_path_factory.mktemp("pg")
    started = subprocess.run(["bash", str(PG), "start", str(pgdir)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    admin = started.stdout.strip().splitlines()[-1]
    port = int(admin.rsplit(":", 1)[1].split("/")[0])
    password = pg_password
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE sra LOGIN PASSWORD '{password}'"))
            conn.execute(sa.text("ALTER DATABASE sra_search OWNER TO sra"))
            conn.execute(sa.text("GRANT ALL ON SCHEMA public TO sra"))
        engine.dispose()
        hba = pgdir / "data" / "pg_hba.conf"
        # First matching line wins: the study role needs its password, over TCP and the socket.
        lines = "host all sra 127.0.0.1/32 scram-sha-256\nlocal all sra scram-sha-256\n"
        hba.write_text(lines + hba.read_text())
        bindir = subprocess.run(["bash", str(PG), "bindir"], capture_output=True, text=True).stdout.strip()
        subprocess.run(_as_owner([f"{bindir}/pg_ctl", "-D", str(pgdir / "data"), "reload"]), check=True,
                       capture_output=True)  # fmt: skip
        yield PgServer(pgdir, port, password)
    finally:
        subprocess.run(["bash", str(PG), "stop", str(pgdir)], capture_output=True)


@pytest.fixture(scope="module")
def ray_cluster(request, pg_password):
    """Head (1 CPU, the password in its environment) and node_a, node_b (1 CPU each). The nodes
    start while the tiny model and PostgreSQL are made (a minute on a busy 2-core machine)."""
    cluster = LocalCluster(nodes=2, head_env={PASSWORD_VAR: pg_password}).up_in_background()
    try:
        request.getfixturevalue("tiny_model_dir")
        request.getfixturevalue("pg_server")
        yield cluster.wait_up()
    finally:
        cluster.down(remove=True)
