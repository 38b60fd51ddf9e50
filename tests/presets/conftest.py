from datetime import datetime, timezone

import pytest

from sra_search import SRAConfig
from sra_search.presets import (
    BucketMetrics,
    Evaluation,
    LengthBucket,
    ModelIdentity,
    Preset,
    Provenance,
    TaskSpec,
    model_fingerprint,
)
from tests.conftest import tiny_model

SHORT = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=3.0, s_ou=2.5, c_s=2, c_e=8)
LONG = SRAConfig(tau_in=0.8, tau_ou=1.2, s_in=1.5, s_ou=1.2, c_s=2, c_e=8)


def make_preset(fingerprint: str = "sha256:" + "0" * 64, model: str = "tiny-llama", task: str = "passkey", **kw):
    def bucket(lo, hi, cfg):
        return LengthBucket(
            min_tokens=lo,
            max_tokens=hi,
            config=cfg,
            evaluation=Evaluation(task_params={"length": hi, "seed": 0}, split="holdout", n_cases=8),
            metrics=BucketMetrics(
                score=0.6, baseline_score=0.5, delta=0.1, perplexity_ratio=1.01,
                accumulated_attention_mean=1.2, accumulated_attention_p95=1.35, edited_share=0.4,
                n_cases=8, prompt_tokens={"min": lo, "mean": (lo + hi) / 2, "max": hi},
            ),  # fmt: skip
        )

    fields = dict(
        schema_version=1,
        name=f"{model}/{task}",
        version=1,
        model=ModelIdentity(
            name=model, source="tiny", architecture="LlamaForCausalLM", num_layers=4, fingerprint=fingerprint
        ),
        task=TaskSpec(name=task, params={"key_kind": "digits"}),
        beats_baseline=True,
        buckets=[bucket(0, 60, SHORT), bucket(61, 200, LONG)],
        provenance=Provenance(
            study="test", storage="sqlite:///x.db", trials=[3, 7], sampler="tpe", seed=0,
            packages={"torch": "2.13.0"}, git_revision=None, created=datetime(2026, 11, 23, tzinfo=timezone.utc),
        ),  # fmt: skip
    )
    fields.update(kw)
    return Preset(**fields)


@pytest.fixture(scope="module")
def llama():
    return tiny_model("llama")


@pytest.fixture(scope="module")
def preset_for_llama(llama):
    return make_preset(model_fingerprint(llama))
