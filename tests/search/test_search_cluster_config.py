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
