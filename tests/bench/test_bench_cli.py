"""``sra-search bench scoring`` and ``bench runtime --logits last`` on a tiny local model."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sra_search.cli.app import app


def test_bench_scoring_reports_cases_per_second_for_both(tiny_model_dir):
    args = ["bench", "scoring", "--model", tiny_model_dir, "--length", "96", "--cases", "2",
            "--new-tokens", "3", "--repeats", "2"]  # fmt: skip
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["benchmark"] == "scoring" and out["prompt_tokens"] == 96 and out["cases"] == 2
    rates = out["cases_per_s"]
    assert rates["baseline"] > 0 and rates["sra"] > 0
    assert out["ratio"] == rates["sra"] / rates["baseline"]
    assert len(out["repeats"]["cases_per_s"]["sra"]) == 2
    assert out["generated_tokens"]["sra"] == [3, 3]  # a fixed number of new tokens, no stop token
    assert out["sra_rows"]["examined"] > 0  # SRA really ran on the prefills
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "cases/s: baseline" in text.output and "cost per case SRA/baseline" in text.output


def test_bench_runtime_times_prefills_as_generate_runs_them(tiny_model_dir):
    args = ["bench", "runtime", "--model", tiny_model_dir, "--lengths", "96", "--repeats", "1",
            "--decode-tokens", "2", "--no-reference", "--logits", "last", "--json"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["logits"] == "last"
    (row,) = out["results"]
    assert row["prompt_tokens"] == 96 and set(row["prefill_s"]) == {"baseline", "fast"}
    assert row["prefill_ratio"]["fast"] > 0 and row["peak_extra_mib"]["fast"] is not None
    bad = CliRunner().invoke(app, [*args[:-3], "--logits", "some"])
    assert bad.exit_code == 2 and "logits" in bad.output
