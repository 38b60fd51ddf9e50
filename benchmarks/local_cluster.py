"""A real multi-node Ray cluster on one machine, started the way an operator starts one.

A head (``ray start --head``) and worker nodes (``ray start --address=HEAD``), each with its own
``--temp-dir``, CPU count and a custom resource named after the node (``node_a``: workers can be
placed on it), free ports, 200 MB object stores. Only the processes this helper started are ever
signalled: a node's processes are those whose command line names its temp dir or whose
environment carries its marker variable, and their descendants (the raylet's worker processes
rename themselves and start their own process group, so only their parent links them to the
node); never a process name. ``ray stop`` is never used (it stops every Ray on the machine).

Ray's token authentication is on, with this cluster's own token in ``<root>/auth_token`` (never
the user's ``~/.ray/auth_token``); clients get it through :meth:`LocalCluster.client_env`. That
token is what keeps other hosts out: Ray replaces ``--node-ip-address=127.0.0.1`` with the
machine's address (``services.resolve_ip_for_localhost``) and its GCS and raylets listen on every
interface; only the dashboard (job submission) is bound to 127.0.0.1.

    python -m benchmarks.local_cluster up --root /tmp/sra-ray --nodes 2   # prints the addresses
    python -m benchmarks.local_cluster down --root /tmp/sra-ray

Used by ``tests/cluster/`` and ``benchmarks/cluster_scaling.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MARKER = "SRA_SEARCH_RAY_NODE"
"""Environment variable set on every process of a node this helper started: ``<root>/<node>``."""

# The GCS declares a node dead after `failure_threshold` missed health checks; Ray's defaults
# (3 s period, 5 misses) take ~15-30 s. A lost node should fail its trials within seconds.
HEAD_SYSTEM_ENV = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    """One ``ray start`` of this cluster: its name, resources and process group."""

    name: str
    cpus: float = 1
    resources: dict[str, float] = field(default_factory=dict)
    pgid: int | None = None
    """Process group of its ``ray start`` (shown for diagnosis; stopping goes by :meth:`LocalCluster._pids`)."""
    node_id: str | None = None

    def all_resources(self) -> dict[str, float]:
        return {self.name: 1.0, **self.resources}


class LocalCluster:
    """A head and ``nodes`` worker nodes on 127.0.0.1; :meth:`up`, :meth:`kill_node`, :meth:`down`."""

    def __init__(self, root: str | os.PathLike[str] | None = None, nodes: int = 2, head_cpus: float = 1,
                 node_cpus: float = 1, object_store_mb: int = 200, head_env: dict[str, str] | None = None) -> None:  # fmt: skip
        # Ray's socket paths (<temp>/session_.../sockets/plasma_store) must stay under 107
        # characters, so the root is short: /tmp/sra-ray-XXXX, not pytest's tmp_path.
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="sra-ray-", dir="/tmp"))
        self.head = Node("head", head_cpus)
        self.workers = [Node(f"node_{chr(ord('a') + i)}", node_cpus) for i in range(nodes)]
        self.object_store_mb = object_store_mb
        self.head_env = dict(head_env or {})
        self.gcs_port = 0
        self.dashboard_port = 0

    # ----- addresses -----------------------------------------------------------------

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        """What ``ray job submit`` and the state API talk to (``RAY_ADDRESS``)."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def nodes(self) -> list[Node]:
        return [self.head, *self.workers]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    # ----- start ----------------------------------------------------------------------

    @property
    def token_path(self) -> Path:
        return self.root / "auth_token"

    def client_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a client of this cluster (``ray job submit``, ``ray list``): its address and token,
        and no setting of another Ray."""
        env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("RAY_")}
        bindir = str(Path(sys.executable).parent)
        # The job's entrypoint (`sra-search run`) and worker processes resolve from this PATH.
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env.update(RAY_ADDRESS=self.dashboard_url, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(self.token_path))
        return env

    def _env(self, node: Node, extra: dict[str, str]) -> dict[str, str]:
        env = self.client_env()
        env.pop("RAY_ADDRESS")
        env.update(RAY_USAGE_STATS_ENABLED="0", **{MARKER: str(self.root / node.name)}, **extra)
        return env

    def _spawn(self, node: Node, args: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
        temp = self.root / node.name
        temp.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(Path(sys.executable).parent / "ray"), "start", "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp}", f"--num-cpus={node.cpus:g}", f"--resources={json.dumps(node.all_resources())}",
            f"--object-store-memory={self.object_store_mb * 1024 * 1024}",
            f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats", *args,
        ]  # fmt: skip
        with open(self.root / f"{node.name}.log", "ab") as log:
            # A new session: a Ctrl-C in the caller's terminal must not reach the nodes' processes.
            proc = subprocess.Popen(cmd, env=self._env(node, extra_env), stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        node.pgid = proc.pid
        return proc

    def _wait_started(self, node: Node, proc: subprocess.Popen) -> None:
        if proc.wait(timeout=180) != 0:
            raise RuntimeError(f"ray start of {node.name} failed; see {self.root / (node.name + '.log')}")

    def up(self, timeout: float = 120.0) -> "LocalCluster":
        """Start the head, then the worker nodes; return once every node is ALIVE in the GCS."""
        self.gcs_port, self.dashboard_port = free_port(), free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.token_path.exists():
            self.token_path.write_text(secrets.token_hex(32))
            self.token_path.chmod(0o600)
        head_args = [
            "--head", f"--port={self.gcs_port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}", "--include-dashboard=true",
        ]  # fmt: skip
        try:
            self._wait_started(self.head, self._spawn(self.head, head_args, {**HEAD_SYSTEM_ENV, **self.head_env}))
            # Worker nodes join in parallel: each `ray start` spends seconds in imports.
            procs = [(n, self._spawn(n, [f"--address={self.gcs_address}"], {})) for n in self.workers]
            for node, proc in procs:
                self._wait_started(node, proc)
            self.wait_alive([n.name for n in self.nodes], timeout)
        except BaseException:
            self.down()
            raise
        self._save()
        return self

    def up_in_background(self, timeout: float = 120.0) -> "LocalCluster":
        """:meth:`up` in a thread (tests build their model meanwhile); :meth:`wait_up` joins it."""
        def run() -> None:
            try:
                self.up(timeout)
            except BaseException as exc:  # handed to wait_up
                self._up_error = exc

        self._up_error: BaseException | None = None
        self._up_thread = threading.Thread(target=run, name="ray-cluster-up", daemon=True)
        self._up_thread.start()
        return self

    def wait_up(self) -> "LocalCluster":
        thread = getattr(self, "_up_thread", None)
        if thread is not None:
            thread.join()
            if self._up_error is not None:
                raise self._up_error
        return self

    def add_node(self, name: str, cpus: float = 1, timeout: float = 60.0) -> Node:
        """Join one more worker node (e.g. to replace a lost one of the same name)."""
        node = Node(name, cpus)
        self.workers = [n for n in self.workers if n.name != name] + [node]
        self._wait_started(node, self._spawn(node, [f"--address={self.gcs_address}"], {}))
        self.wait_alive([name], timeout)
        self._save()
        return node

    def ray_cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run ``ray ARGS`` as a client of this cluster (its address and token; never this process's Ray)."""
        ray_bin = str(Path(sys.executable).parent / "ray")
        return subprocess.run([ray_bin, *args], env=self.client_env(), capture_output=True, text=True, timeout=timeout)

    def list_nodes(self) -> list[dict[str, Any]]:
        """The GCS's view of the nodes (``ray list nodes``: Ray's state API over the dashboard)."""
        out = self.ray_cli("list", "nodes", "--detail", "--format", "json", "--address", self.dashboard_url)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "ray list nodes failed")
        return json.loads(out.stdout)

    def alive(self) -> dict[str, str]:
        """Resource name -> node id, for every resource of every node the GCS holds ALIVE (so a
        node's custom resource, named after it, tells whether that node is up)."""
        return {
            r: n["node_id"] for n in self.list_nodes() if n.get("state") == "ALIVE"
            for r in (n.get("resources_total") or {})
        }  # fmt: skip

    def wait_alive(self, names: list[str], timeout: float) -> None:
        """Wait until a node holding each named custom resource is ALIVE; record their node ids."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                alive = self.alive()
                if all(name in alive for name in names):
                    for name in names:
                        self.node(name).node_id = alive[name]
                    return
            except Exception as exc:  # the dashboard is still starting
                last = exc
            time.sleep(1.0)
        raise TimeoutError(f"nodes {names} did not join within {timeout:.0f} s ({last})")

    # ----- stop -----------------------------------------------------------------------

    def _pids(self, node: Node) -> set[int]:
        """Live processes of ``node``: those whose command line names its temp dir or whose environment
        carries its marker, and every descendant of those. Worker processes forked by a raylet start
        their own process group and overwrite their environment with a process title, so only their
        parent links them to the node. (A process group alone is not proof: its number can be reused.)"""
        temp = f"{self.root / node.name}".encode()
        want = f"{MARKER}={self.root / node.name}".encode()
        parent: dict[int, int] = {}
        seeds: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
                parent[pid] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                args = (entry / "cmdline").read_bytes().split(b"\0")
                if any(a == temp or a.startswith(temp + b"/") or a.endswith(b"=" + temp) or b"=" + temp + b"/" in a
                       for a in args) or want in (entry / "environ").read_bytes().split(b"\0"):  # fmt: skip
                    seeds.add(pid)
            except (OSError, IndexError, ValueError):
                continue
        found, grew = set(seeds), True
        while grew:
            kids = {pid for pid, ppid in parent.items() if ppid in found and pid not in found}
            found |= kids
            grew = bool(kids)
        found.discard(os.getpid())
        return found

    def _signal(self, node: Node, sig: int) -> int:
        sent = 0
        for pid in self._pids(node):
            try:
                os.kill(pid, sig)
                sent += 1
            except ProcessLookupError:
                pass
        return sent

    def kill_node(self, name: str, grace_s: float = 0.0) -> None:
        """Stop one node's processes (SIGKILL unless ``grace_s``): a lost machine, as Ray sees it."""
        node = self.node(name)
        if grace_s:
            self._signal(node, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while self._pids(node) and time.monotonic() < deadline:
                time.sleep(0.2)
        for _ in range(20):
            if not self._signal(node, signal.SIGKILL):
                break
            time.sleep(0.2)

    def down(self, grace_s: float = 5.0, remove: bool = False) -> None:
        """Stop every node this cluster started (workers first), nothing else."""
        thread = getattr(self, "_up_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join()  # a start still under way would leave nodes behind
        for node in reversed(self.nodes):
            self.kill_node(node.name, grace_s=grace_s)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down(remove=True)

    # ----- state file (for the command line) -------------------------------------------

    def _save(self) -> None:
        state = {
            "root": str(self.root), "gcs_address": self.gcs_address, "dashboard_url": self.dashboard_url,
            "gcs_port": self.gcs_port, "dashboard_port": self.dashboard_port,
            "nodes": [asdict(n) for n in self.nodes],
        }  # fmt: skip
        (self.root / "cluster.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> "LocalCluster":
        state = json.loads((Path(root) / "cluster.json").read_text())
        self = cls(root, nodes=0)
        self.gcs_port, self.dashboard_port = state["gcs_port"], state["dashboard_port"]
        nodes = [Node(**n) for n in state["nodes"]]
        self.head, self.workers = nodes[0], nodes[1:]
        return self

    def describe(self) -> dict[str, Any]:
        return json.loads((self.root / "cluster.json").read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.local_cluster", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a head and --nodes worker nodes; print their addresses as JSON")
    up.add_argument("--root", help="folder for the nodes' temp dirs and logs (short path; default /tmp/sra-ray-*)")
    up.add_argument("--nodes", type=int, default=2)
    up.add_argument("--head-cpus", type=float, default=1)
    up.add_argument("--node-cpus", type=float, default=1)
    up.add_argument("--object-store-mb", type=int, default=200)
    down = sub.add_parser("down", help="stop the cluster started in --root (only its processes)")
    down.add_argument("--root", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "up":
        cluster = LocalCluster(args.root, args.nodes, args.head_cpus, args.node_cpus, args.object_store_mb).up()
        print(json.dumps(cluster.describe(), indent=2))
        print(f"# RAY_ADDRESS={cluster.dashboard_url} ray job submit ...; stop with: "
              f"python -m benchmarks.local_cluster down --root {cluster.root}", file=sys.stderr)  # fmt: skip
    else:
        LocalCluster.load(args.root).down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
