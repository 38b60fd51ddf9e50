"""ray_cluster.yaml passes Ray's own cluster-launcher validation (what `ray up` runs)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _load() -> dict:
    return yaml.safe_load((REPO / "ray_cluster.yaml").read_text())


def test_ray_cluster_yaml_is_valid_for_ray_up():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _load()
    # `ray up` fills in the provider's defaults and then validates against ray-schema.json.
    validate_config(prepare_config(copy.deepcopy(config)))
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    gpu_types = [t for t in types.values() if t.get("resources", {}).get("GPU", 0) >= 1]
    assert gpu_types, "a GPU worker node type is required"
    assert any("pip install" in c and "sra-search" in c for c in config["setup_commands"])


def test_validation_catches_a_broken_config():
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _load()
    config["available_node_types"]["gpu_worker"]["resurces"] = {"GPU": 1}  # typo
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(config))


def _commands(config: dict) -> list[str]:
    keys = ("initialization_commands", "setup_commands", "head_setup_commands", "worker_setup_commands",
            "head_start_ray_commands", "worker_start_ray_commands")  # fmt: skip
    return [c for k in keys for c in config.get(k) or []]


def test_ray_cluster_yaml_reads_every_secret_from_the_environment():
    import json
    import re

    config = _load()
    commands = _commands(config)
    # No password is written down: every one the commands use is $SRA_SEARCH_PG_PASSWORD.
    for cmd in commands:
        for m in re.finditer(r"\bPASSWORD\s+(\S+)", cmd):  # SQL: ... ROLE sra LOGIN PASSWORD '...'
            assert m.group(1).startswith("'%s'") and '"$SRA_SEARCH_PG_PASSWORD"' in cmd, cmd  # printf fills it
        for m in re.finditer(r"SRA_SEARCH_PG_PASSWORD=(\S+)", cmd):  # the head's env file: generated there
            assert m.group(1) == "$(openssl", cmd
    assert "PASSWORD 'sra'" not in json.dumps(commands) and "runtime-env-json" not in (REPO / "ray_cluster.yaml").read_text()
    # As tests/cluster runs it: Ray's head starts with the variable in its environment, so a job's
    # `sra-search run` on the head inherits it; worker nodes never get it.
    (start,) = [c for c in config["head_start_ray_commands"] if "ray start --head" in c]
    assert start.index(". ~/.sra-search/pg.env") < start.index("ray start --head") and "set -a" in start
    assert "--dashboard-host=127.0.0.1" in start
    assert not any("pg.env" in c for c in config["worker_start_ray_commands"] + config["worker_setup_commands"])
    # The shipped cluster study names the same variable in its storage URL.
    study = (REPO / "studies" / "llama3-8b-longbench.toml").read_text()
    assert "${SRA_SEARCH_PG_PASSWORD}@127.0.0.1" in study


def test_ray_cluster_yaml_restricts_inbound_access(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _load()
    # Every node type names the operator's group, so Ray never creates its default one (which
    # opens SSH to 0.0.0.0/0); no rule anywhere in the file opens a port to everyone.
    for name, node_type in config["available_node_types"].items():
        assert node_type["node_config"].get("SecurityGroupIds") == ["${SRA_SEARCH_SECURITY_GROUP_ID}"], name
    assert "security_group" not in config["provider"]
    assert "0.0.0.0/0" not in json.dumps(config) and "::/0" not in json.dumps(config)

    script = REPO / "scripts" / "ray_cluster.sh"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for cidr in ("", "0.0.0.0/0", "::/0", "not-a-cidr"):
        out = subprocess.run(["bash", str(script), "security-group"], env={**env, "SRA_SEARCH_ADMIN_CIDR": cidr},
                             capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 2 and "SRA_SEARCH_ADMIN_CIDR" in out.stderr, (cidr, out.stderr)
    # The copy `scripts/ray_cluster.sh up` hands to `ray up` has the group id filled in and validates.
    rendered = tmp_path / "cluster.yaml"
    out = subprocess.run(["bash", str(script), "render"], capture_output=True, text=True,
                         env={**env, "SRA_SEARCH_SECURITY_GROUP_ID": "sg-0123abcd", "SRA_SEARCH_RENDERED_CONFIG": str(rendered)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    filled = yaml.safe_load(rendered.read_text())
    assert {tuple(t["node_config"]["SecurityGroupIds"]) for t in filled["available_node_types"].values()} == {("sg-0123abcd",)}
    validate_config(prepare_config(copy.deepcopy(filled)))
