"""What the fault scenarios run against: a throwaway PostgreSQL server, and the machine's description."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PG_SCRIPT = REPO / "scripts" / "postgres.sh"


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


class Postgres:
    """A throwaway PostgreSQL server (scripts/postgres.sh) that can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.url = ""
        self.port = 0

    @staticmethod
    def available() -> bool:
        return subprocess.run(["bash", str(PG_SCRIPT), "bindir"], capture_output=True).returncode == 0

    def __enter__(self) -> "Postgres":
        out = subprocess.run(["bash", str(PG_SCRIPT), "start", str(self.dir)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"postgres.sh start failed: {out.stderr.strip()}")
        self.url = out.stdout.strip().splitlines()[-1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(self.dir)], capture_output=True)

    def _pg_ctl(self, *args: str) -> None:
        bindir = subprocess.run(["bash", str(PG_SCRIPT), "bindir"], capture_output=True, text=True).stdout.strip()
        cmd = [f"{bindir}/pg_ctl", "-D", str(self.dir / "data"), *args]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {out.stderr.strip() or out.stdout.strip()}")

    def stop(self) -> None:
        """Like a crash: ``-m immediate`` drops every connection at once."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c full_page_writes=off -c max_connections=100")  # fmt: skip
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", opts, "start")

    def new_database(self, name: str) -> str:
        """An empty database on this server (the schema is created by the first driver that uses it)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url.rsplit("/", 1)[0] + "/" + name
