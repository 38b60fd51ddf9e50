"""`regress` re-runs a preset's recorded evaluation for real (objectives.evaluate on a tiny
model saved to disk) and fails when the preset stopped paying off."""

import json

import pytest
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.presets import publish
from sra_search.presets.regress import junit_xml, regress
from sra_search.presets.schema import Evaluation
from sra_search.presets.fingerprint import model_fingerprint
from tests.presets.conftest import make_preset

TASK_PARAMS = {"length": 160, "seed": 0}


@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir):
    return tiny_model_dir


def _preset(tiny_dir, tiny_lm, score, beats, **eval_kw):
    import objectives

    base = make_preset(fingerprint=model_fingerprint(tiny_lm))
    buckets = []
    for b in base.buckets[:1]:
        ev = Evaluation(task_params=TASK_PARAMS, split="holdout", n_cases=3, attention_band=None, **eval_kw)
        m = b.metrics.model_copy(update={"score": score, "baseline_score": 0.0, "delta": score})
        buckets.append(b.model_copy(update={"min_tokens": 0, "max_tokens": 400, "evaluation": ev, "metrics": m}))
    model = base.model.model_copy(update={"source": str(tiny_dir)})
    assert "passkey" in objectives.names()
    return base.model_copy(update={"buckets": buckets, "model": model, "beats_baseline": beats})


def _measured(tiny_dir, tiny_lm, tokenizer):
    import objectives

    cfg = make_preset().buckets[0].config
    return objectives.evaluate(tiny_lm, tokenizer, "passkey", cfg, task_params=TASK_PARAMS, split="holdout", n_cases=3).score


def test_passes_when_the_recorded_result_still_holds(tiny_dir, tiny_lm, tokenizer):
    score = _measured(tiny_dir, tiny_lm, tokenizer)
    (res,) = regress([_preset(tiny_dir, tiny_lm, score, beats=False)])
    assert res.passed, res.failures
    assert res.score == pytest.approx(score) and res.n_cases == 3
    # A version-1 preset has no recorded evidence: the paired test is reported, not gated on.
    assert res.evidence["n"] == 3 and "p = " in res.verdict and "not gated" in res.verdict


def test_fails_on_a_degraded_preset(tiny_dir, tiny_lm, tokenizer):
    score = _measured(tiny_dir, tiny_lm, tokenizer)
    # Records a score the config no longer reaches and a gain over the baseline.
    degraded = _preset(tiny_dir, tiny_lm, score + 0.5, beats=True)
    (res,) = regress([degraded], tolerance=0.02)
    assert not res.passed
    assert any("score fell" in f for f in res.failures)
    assert any("gain over baseline vanished" in f for f in res.failures) or res.score > res.baseline_score
    assert "<failure" in junit_xml([res])


def test_fails_on_fingerprint_mismatch(tiny_dir, tiny_lm):
    p = _preset(tiny_dir, tiny_lm, 0.0, beats=False)
    p = p.model_copy(update={"model": p.model.model_copy(update={"fingerprint": "sha256:" + "1" * 64})})
    (res,) = regress([p])
    assert not res.passed and "fingerprint" in res.failures[0]


def test_cli_exit_code_json_and_junit(tiny_dir, tiny_lm, tokenizer, tmp_path):
    score = _measured(tiny_dir, tiny_lm, tokenizer)
    publish(_preset(tiny_dir, tiny_lm, score, beats=False), tmp_path / "ok")
    publish(_preset(tiny_dir, tiny_lm, score + 0.5, beats=True), tmp_path / "bad")
    runner = CliRunner()
    ok = runner.invoke(app, ["regress", "--registry", str(tmp_path / "ok"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["passed"] is True
    junit = tmp_path / "r.xml"
    bad = runner.invoke(app, ["regress", "--registry", str(tmp_path / "bad"), "--junit", str(junit)])
    assert bad.exit_code == 1
    assert "failures=\"1\"" in junit.read_text()
