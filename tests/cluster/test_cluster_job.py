"""The README's cluster command, for real: `ray job submit --working-dir . -- sra-search run ...
--ray-address auto` against a head and two worker nodes started with `ray start`, storage on a
PostgreSQL server whose role needs a password.

In every run (about 90 s with the cluster's start): workers asking for a resource no node has stop
the study within `placement_timeout_s` with one line naming it; a job whose worker node is killed
mid-trial succeeds, its trials ran on more than one node, the lost node's trial is FAIL naming the
node and re-enqueued once, `sra-search status` reads the study from outside the cluster, and the
password is in no command line, job log or job record. With SRA_SEARCH_CLUSTER_LONG=1 (about 2 min
more; CI sets it in .ci/run): workers placed on a named node, a driver killed mid-study resumed by
the same submit, and a study whose only node is lost waiting for it and placing its work on the
node that joins back.

A test that loses a node mid-trial holds the trial there itself (:func:`gated_model`: the model
waits on a file the test removes), never by racing tiny trials against the clock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState

from sra_search.search.studyfile.examples import tiny_study_toml

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
long_run = pytest.mark.skipif(
    os.environ.get("SRA_SEARCH_CLUSTER_LONG") != "1", reason="set SRA_SEARCH_CLUSTER_LONG=1 (about 2 minutes more)"
)


def submit_command(study: Path) -> list[str]:
    """The README's command (RAY_ADDRESS comes from the environment)."""
    return [str(BIN / "ray"), "job", "submit", "--working-dir", ".", "--", "sra-search", "run", str(study),
            "--ray-address", "auto"]  # fmt: skip


def submit_env(cluster) -> dict[str, str]:
    # The submitting shell has no password: the job must get it from the head node.
    return {k: v for k, v in cluster.client_env().items() if k != "SRA_SEARCH_PG_PASSWORD"}


def job_id(text: str) -> str:
    found = re.search(r"Job '([^']+)' submitted successfully", text)
    assert found, text[-3000:]
    return found.group(1)


def write_study(tmp_path: Path, model: str, name: str, url: str, workers_extra: str = "", **kw) -> Path:
    path = tmp_path / f"{name}.toml"
    # The data file is named relative to the working directory, as a job on a real cluster names it.
    text = tiny_study_toml(model, name=name, storage=url, harbor="studies/data/harbor-town.txt", **kw)
    assert "cpus = 1\n" in text
    path.write_text(text.replace("cpus = 1\n", f"cpus = 1\n{workers_extra}\n", 1))  # into [workers]
    return path


def driver(cluster, study: Path) -> tuple[list[str], dict[str, str]]:
    """Command and environment of `sra-search run` as a driver on the head node would run it
    (Ray's GCS address, no job)."""
    env = submit_env(cluster)
    env.pop("RAY_ADDRESS")
    return [str(BIN / "sra-search"), "run", str(study), "--ray-address", cluster.gcs_address], env


def run_driver(cluster, study: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    cmd, env = driver(cluster, study)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the job ended while waiting for {what}")
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


GATED_MODEL_CODE = '''"""The tiny Llama, except that a forward under SRA waits while the file ``config.sra_gate``
exists, after touching ``<gate>.held``: a trial held mid-way until the test lets it go."""

import time
from pathlib import Path

from transformers import LlamaForCausalLM


class GatedLlamaForCausalLM(LlamaForCausalLM):
    def forward(self, *args, **kwargs):
        gate = Path(self.config.sra_gate)
        if self.config._attn_implementation == "sra" and gate.exists():  # trials only, not baselines
            gate.with_name(gate.name + ".held").touch()
            while gate.exists():
                time.sleep(0.05)
        return super().forward(*args, **kwargs)
'''


def gated_model(model_dir: str, dest: Path, gate: Path) -> str:
    """A copy of the tiny model whose SRA forwards wait while ``gate`` exists (its own code, so a
    study loads it with ``trust_remote_code = true``). Every node runs it from this folder."""
    shutil.copytree(model_dir, dest)
    (dest / "gated.py").write_text(GATED_MODEL_CODE)
    config = json.loads((dest / "config.json").read_text())
    config.update(auto_map={"AutoModelForCausalLM": "gated.GatedLlamaForCausalLM"}, sra_gate=str(gate))
    (dest / "config.json").write_text(json.dumps(config))
    return str(dest)


def trials_of(name: str, url: str) -> list:
    try:
        return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    except KeyError:  # the driver has not created the study yet
        return []


def test_missing_resource_stops_the_study_within_the_timeout(ray_cluster, pg_server, tiny_model_dir, tmp_path):
    study = write_study(tmp_path, tiny_model_dir, "tiny-nowhere", f"sqlite:///{tmp_path / 'p.db'}", trials=1,
                        workers=2, workers_extra="resources = { node_z = 1 }\nplacement_timeout_s = 5")  # fmt: skip
    t0 = time.monotonic()
    out = run_driver(ray_cluster, study, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert time.monotonic() - t0 < 90  # driver start-up + 5 s, not a hang
    (line,) = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert "node_z = 1" in line and "placement_timeout_s" in line and "no node has" in line, line


@long_run
def test_workers_are_placed_on_the_named_node(ray_cluster, pg_server, tiny_model_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'named.db'}"
    study = write_study(tmp_path, tiny_model_dir, "tiny-named", url, trials=2, search=2, workers=1,
                        workers_extra="resources = { node_b = 1 }")  # fmt: skip
    out = run_driver(ray_cluster, study)
    assert out.returncode == 0, out.stderr[-2000:]
    nodes = {t.user_attrs["node"] for t in trials_of("tiny-named", url)}
    assert nodes == {ray_cluster.node("node_b").node_id}


def driver_pid(trials) -> int | None:
    """The job's driver process, from the ``driver`` attr (``host:pid``) of a running trial."""
    for t in trials:
        if t.state == TrialState.RUNNING and "driver" in t.user_attrs:
            pid = int(t.user_attrs["driver"].rsplit(":", 1)[1])
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"sra-search" in cmdline:  # the job's driver on this machine, not some other process
                return pid
    return None


@long_run
def test_killed_driver_resumes_on_resubmit(ray_cluster, pg_server, tiny_model_dir, tmp_path):
    budget, name = 8, "tiny-resume"
    study = write_study(tmp_path, tiny_model_dir, name, pg_server.url_template, trials=budget, search=8, chunk=1,
                        workers=2)  # fmt: skip
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(submit_command(study), cwd=REPO, env=submit_env(ray_cluster), stdout=log,
                                 stderr=subprocess.STDOUT)  # fmt: skip
        try:
            def mid_study():
                trials = trials_of(name, pg_server.url)
                return driver_pid(trials) if sum(t.state == TrialState.COMPLETE for t in trials) >= 2 else None

            os.kill(wait_for(mid_study, 180, "2 completed trials and one running", first), signal.SIGKILL)
            first.wait(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    status = ray_cluster.ray_cli("job", "status", job_id((tmp_path / "first.log").read_text())).stdout
    assert "failed" in status.lower(), status
    before = trials_of(name, pg_server.url)
    done_before = {t.number: t.value for t in before if t.state == TrialState.COMPLETE}
    left_running = {t.number: t.params for t in before if t.state == TrialState.RUNNING}
    assert done_before and left_running

    again = subprocess.run(submit_command(study), cwd=REPO, env=submit_env(ray_cluster), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:]
    trials = {t.number: t for t in trials_of(name, pg_server.url)}
    for number, value in done_before.items():  # no completed trial lost or changed
        assert trials[number].state == TrialState.COMPLETE and trials[number].value == value
    for number, params in left_running.items():  # failed as stale by the new driver, retried once
        assert trials[number].state == TrialState.FAIL
        retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == number]
        # A driver killed inside `ask` leaves a trial with some parameters: the retry keeps those.
        assert len(retries) == 1 and params.items() <= retries[0].params.items()
    states = [t.state for t in trials.values()]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == budget
    assert TrialState.RUNNING not in states


@long_run
def test_work_is_placed_again_on_a_node_that_joins_back(ray_cluster, pg_server, tiny_model_dir, tmp_path):
    # The study's one worker needs node_b. While node_b is gone no node can hold it, so the study
    # waits (it does not end or spin); once a node_b joins again the actor is restarted there.
    # The first trial is held on node_b by the gate until node_b is gone: tiny trials finish the
    # whole study in about a second, before a kill could land.
    if "node_b" not in ray_cluster.alive():
        ray_cluster.add_node("node_b")
    gate = tmp_path / "hold"
    gate.touch()
    model = gated_model(tiny_model_dir, tmp_path / "tiny-gated", gate)
    budget, url = 4, f"sqlite:///{tmp_path / 'rejoin.db'}"
    study = write_study(tmp_path, model, "tiny-rejoin", url, trials=budget, search=6, chunk=1, workers=1,
                        workers_extra="resources = { node_b = 1 }", extra="trust_remote_code = true")  # fmt: skip
    old_id = ray_cluster.node("node_b").node_id
    cmd, env = driver(ray_cluster, study)
    with open(tmp_path / "driver.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(gate.with_name("hold.held").exists, 180, "a trial held on node_b", proc)
            trials = trials_of("tiny-rejoin", url)
            (held,) = [t for t in trials if t.state == TrialState.RUNNING]
            assert held.user_attrs["node"] == old_id and not any(t.state.is_finished() for t in trials)
            ray_cluster.kill_node("node_b")
            wait_for(lambda: "node_b" not in ray_cluster.alive(), 60, "the GCS to declare node_b dead", proc)
            gate.unlink()  # from here on nothing holds a trial but the missing node
            finished = {t.number for t in trials_of("tiny-rejoin", url) if t.state.is_finished()}
            time.sleep(5)  # no node for the worker: nothing may finish, and the driver must wait
            assert proc.poll() is None
            assert {t.number for t in trials_of("tiny-rejoin", url) if t.state.is_finished()} == finished
            new_id = ray_cluster.add_node("node_b").node_id
            proc.wait(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, (tmp_path / "driver.log").read_text()[-3000:]
    assert new_id != old_id
    trials = trials_of("tiny-rejoin", url)
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == budget
    (failed,) = [t for t in trials if t.state == TrialState.FAIL]
    assert failed.number == held.number
    assert failed.user_attrs["node"] == old_id and old_id in failed.user_attrs["fail_reason"]
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == failed.number]
    # The retry and every trial after the loss ran on the node that joined back.
    assert retry.user_attrs["node"] == new_id
    assert {t.user_attrs["node"] for t in trials if t.number > failed.number} == {new_id}


# Last: it kills a worker node (the cluster keeps the head and one node).
def test_job_on_the_cluster_survives_a_lost_node(ray_cluster, pg_server, tiny_model_dir, tmp_path):
    budget = 6
    # Every trial's SRA forward waits at the gate until the node is lost: the study cannot end before.
    gate = tmp_path / "hold"
    gate.touch()
    model = gated_model(tiny_model_dir, tmp_path / "tiny-gated", gate)
    study = write_study(tmp_path, model, "tiny-cluster", pg_server.url_template, trials=budget, search=6,
                        chunk=1, workers=2, extra="trust_remote_code = true")  # fmt: skip
    assert pg_server.password not in study.read_text()
    # With a wrong password the role is refused: the password really is what guards the storage.
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(pg_server.url.replace(pg_server.password, "wrong")).connect()

    names = {n.node_id: n.name for n in ray_cluster.nodes}
    log_path = tmp_path / "submit.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(submit_command(study), cwd=REPO, env=submit_env(ray_cluster), stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip

        def held_on_a_worker_node():
            # A trial running on a worker node (never the head: the driver runs there), held there
            # by the gate once a forward has reached it: it stays RUNNING until the gate opens.
            if not gate.with_name("hold.held").exists():
                return None
            for t in trials_of("tiny-cluster", pg_server.url):
                node = names.get(t.user_attrs.get("node"))
                if t.state == TrialState.RUNNING and node not in (None, "head"):
                    return node
            return None

        try:
            lost = wait_for(held_on_a_worker_node, 180, "a trial held on a worker node", proc)
            ray_cluster.kill_node(lost)  # SIGKILL of every process of that node: a machine gone
            gate.unlink()
            proc.wait(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
    out = log_path.read_text()
    job = job_id(out)
    status = ray_cluster.ray_cli("job", "status", job).stdout
    logs = ray_cluster.ray_cli("job", "logs", job).stdout
    assert proc.returncode == 0 and "succeeded" in status.lower(), logs[-3000:]

    # `sra-search status` from outside the cluster (the password from this shell's environment).
    env = {**os.environ, "SRA_SEARCH_PG_PASSWORD": pg_server.password}
    st = subprocess.run([str(BIN / "sra-search"), "status", "--storage", pg_server.url_template, "--json"],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert st.returncode == 0, st.stderr
    (entry,) = [s for s in json.loads(st.stdout)["studies"] if s["study"] == "tiny-cluster"]
    assert entry["trials"]["complete"] + entry["trials"]["pruned"] == budget and entry["trials"]["running"] == 0

    trials = optuna.load_study(study_name="tiny-cluster", storage=pg_server.url).trials
    nodes = {t.user_attrs.get("node") for t in trials}
    assert nodes <= set(names) and len(nodes) >= 2, (nodes, names)
    # The lost node's trial(s): FAIL naming the node, re-enqueued exactly once, the retry finished.
    lost_id = ray_cluster.node(lost).node_id
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed, "the kill should have failed the trial running on the lost node"
    for t in failed:
        assert t.user_attrs["node"] == lost_id and lost_id in t.user_attrs["fail_reason"], t.user_attrs
        retries = [r for r in trials if r.system_attrs.get("failed_trial") == t.number]
        assert len(retries) == 1 and retries[0].params == t.params
        assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
        assert retries[0].user_attrs["node"] != lost_id

    # The password is nowhere a user of the cluster reads: job logs, job records, the submit output.
    listed = ray_cluster.ray_cli("job", "list").stdout
    for text in (logs, listed, status, out, st.stdout, st.stderr):
        assert pg_server.password not in text
    assert "postgresql" not in logs or "sra:***@" in logs  # a storage URL is printed redacted
