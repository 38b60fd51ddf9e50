"""``sra-search eval`` on the tiny model (load_model is replaced), and its input errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import sra_search.models
from sra_search.cli.app import app

runner = CliRunner()


@pytest.fixture
def fake_model(monkeypatch, tiny_lm, tokenizer):
    loaded = []

    def load_model(name):
        loaded.append(name)
        return tiny_lm, tokenizer

    monkeypatch.setattr(sra_search.models, "load_model", load_model, raising=False)
    return loaded


def test_json_output_has_baseline_sra_and_delta(fake_model):
    res = runner.invoke(
        app,
        ["eval", "--task", "passkey", "--length", "160", "--cases", "3", "--json", "--perplexity",
         "--params", "tau_in=0.4,s_in=2,c_s=2,c_e=8", "-p", "key_kind=words", "--with-cases"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert fake_model == ["smollm2-135m"]
    assert out["task"]["params"]["key_kind"] == "words" and out["task"]["params"]["length"] == 160
    assert out["config"]["tau_in"] == 0.4 and out["config"]["s_ou"] == 5.0  # others from the paper's config
    assert out["baseline"]["sra_stats"] is None and out["sra"]["sra_stats"]["edited_rows"] >= 0
    assert out["delta"] == pytest.approx(out["sra"]["score"] - out["baseline"]["score"])
    assert len(out["sra"]["cases"]) == 3 and "perplexity" in out["sra"]["metrics"]
    ev = out["evidence"]  # every claim of gain carries its paired test
    assert ev["n"] == 3 and ev["test"].startswith("exact McNemar") and 0 <= ev["p_value"] <= 1
    assert "n = 3" in ev["verdict"] and ("shown" in ev["verdict"])


def test_table_output(fake_model):
    res = runner.invoke(app, ["eval", "-t", "kv_retrieval", "--length", "200", "-n", "2", "--perplexity"])
    assert res.exit_code == 0, res.output
    for word in ("baseline", "sra", "accuracy", "delta", "perplexity", "acc. attn mean", "time"):
        assert word in res.output
    assert "paired on the same cases" in res.output and "n = 2" in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["-t", "passkee"], "unknown task 'passkee'"),
        (["-t", "passkey", "-p", "depth=2"], "parameter 'depth'"),
        (["-t", "passkey", "-p", "colour=red"], "unknown parameter 'colour'"),
        (["-t", "passkey", "-p", "novalue"], "expected key=value"),
        (["-t", "passkey", "--params", "tau_in=-1"], "'tau_in'"),
        (["-t", "passkey", "--params", "tau=1"], "'tau': unknown SRA parameter"),
        (["-t", "passkey", "--split", "train"], "unknown split 'train'"),
        (["-t", "passkey", "--preset", "/nonexistent/p.json"], "cannot read"),
    ],
)
def test_bad_input_is_a_clear_error_without_traceback(fake_model, args, message):
    res = runner.invoke(app, ["eval", *args, "--cases", "1"])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert fake_model == []  # rejected before loading the model


def test_preset_file_plain_or_wrapped(tmp_path):
    from sra_search.cli.eval_cmd import build_config

    cfg = {"tau_in": 0.3, "tau_ou": 0.4, "s_in": 2.0, "s_ou": 3.0, "c_s": 4, "c_e": 32}
    (tmp_path / "plain.json").write_text(json.dumps(cfg))
    (tmp_path / "wrapped.json").write_text(json.dumps({"name": "x", "config": cfg}))
    for name in ("plain.json", "wrapped.json"):
        assert build_config(None, tmp_path / name).model_dump() == {**cfg, "inter": True, "outer": True, "gem_share": 0.01}
    (tmp_path / "bad.json").write_text(json.dumps({**cfg, "s_in": "big"}))
    with pytest.raises(Exception) as err:
        build_config(None, tmp_path / "bad.json")
    assert err.type.__name__ == "Exit"


def test_parse_pairs_values():
    from sra_search.cli.eval_cmd import parse_pairs

    assert parse_pairs(["a=1,b=0.5", "c=true", "d=text"], "x") == {"a": 1, "b": 0.5, "c": True, "d": "text"}
    assert parse_pairs(["prompt=a, b"], "x", commas=False) == {"prompt": "a, b"}
