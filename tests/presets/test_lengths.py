"""A bucket's recorded outcomes split by prompt length: `presets lengths` and `presets show`."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from scipy import stats
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.presets import Registry, publish
from sra_search.presets.lengths import bucket_evidence, by_length
from sra_search.presets.schema import Preset
from tests.presets.conftest import make_preset

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Two lengths, five cases each: SRA loses every case at 64 tokens and gains four of five at 200.
SRA = [0.0] * 5 + [1.0, 1.0, 1.0, 1.0, 0.0]
BASE = [1.0] * 5 + [0.0] * 5


def _two_length_preset(sra=SRA, base=BASE, n_cases=5):
    data = make_preset().model_dump(mode="json")
    data["schema_version"] = 2
    data["buckets"] = data["buckets"][1:]  # the 61-200 bucket
    b = data["buckets"][0]
    b["evaluation"].update(n_cases=n_cases, lengths=[64, 200])
    b["metrics"]["evidence"] = {
        "test": "exact McNemar (sign test)", "n": len(sra), "statistic": 4, "p_value": 0.6, "p_adjusted": 0.6,
        "alpha": 0.05, "delta": -0.1, "ci_low": -0.5, "ci_high": 0.3, "interval_level": 0.9, "ci_method": "BCa",
        "sra_only": 4, "baseline_only": 5, "shown": False,
    }  # fmt: skip
    b["outcomes"] = {"keys": [f"passkey:{'a' if i < 5 else 'b'}:holdout:{i % 5}" for i in range(len(sra))],
                     "sra": sra, "baseline": base}  # fmt: skip
    data["provenance"]["trials"] = [7]
    return Preset.model_validate(data)


def test_each_length_gets_its_own_exact_mcnemar_test():
    rows = by_length(_two_length_preset().buckets[0])
    assert [r.length for r in rows] == [64, 200]
    short, long_ = (r.evidence for r in rows)
    assert (short.n, short.delta, short.sra_only, short.baseline_only) == (5, -1.0, 0, 5)
    assert (long_.n, long_.delta, long_.sra_only, long_.baseline_only) == (5, 0.8, 4, 0)
    # One-sided exact binomial of 4 discordant wins out of 4 at 1/2: 0.5**4.
    assert long_.p_value == pytest.approx(stats.binomtest(4, 4, 0.5, alternative="greater").pvalue) == 0.0625
    assert short.p_value == 1.0
    assert "not shown" in long_.verdict() and "cases would show a gain" in long_.verdict()
    whole = bucket_evidence(_two_length_preset().buckets[0])
    assert (whole.n, whole.sra_only, whole.baseline_only) == (10, 4, 5)


def test_a_count_that_does_not_match_the_lengths_is_refused():
    with pytest.raises(ValidationError, match=r"outcomes: 10 cases recorded, but evaluation.n_cases x lengths is 8"):
        _two_length_preset(n_cases=4)


def test_shipped_findings_split_into_lengths_that_add_up_to_the_recorded_test():
    reg = Registry(ROOT / "presets")
    for ref in reg.list():
        p = reg.get(ref.model, ref.task, ref.version, include_unproven=True)
        for b in p.buckets:
            rows = by_length(b)
            if b.outcomes is None:
                assert rows == [] and p.schema_version == 1
                continue
            rec = b.metrics.evidence
            assert [r.length for r in rows] == (b.evaluation.lengths or [b.evaluation.task_params["length"]])
            assert sum(r.evidence.n for r in rows) == rec.n
            assert sum(r.evidence.sra_only for r in rows) == rec.sra_only
            assert sum(r.evidence.baseline_only for r in rows) == rec.baseline_only
            assert bucket_evidence(b).p_value == pytest.approx(rec.p_value)


def test_cli_lengths_prints_each_length_and_refuses_a_version_1_preset(tmp_path):
    publish(_two_length_preset(), tmp_path)
    out = runner.invoke(app, ["presets", "lengths", "tiny-llama", "passkey", "--registry", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [(r["bucket"], r["length"], r["evidence"]["n"]) for r in rows] == [([61, 200], 64, 5), ([61, 200], 200, 5)]
    assert rows[1]["evidence"]["p_value"] == 0.0625 and rows[1]["verdict"].startswith("+0.800 [")
    table = runner.invoke(app, ["presets", "lengths", "tiny-llama", "passkey", "--registry", str(tmp_path)])
    assert table.exit_code == 0 and "p = 0.0625" in table.output
    shown = runner.invoke(app, ["presets", "show", "tiny-llama", "passkey", "--registry", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "61-200: -0.100 [" in shown.output and "p = 0.6 (adjusted)" in shown.output
    assert "presets lengths tiny-llama passkey --version 1" in shown.output
    v1 = tmp_path / "v1"
    publish(make_preset(), v1)
    refused = runner.invoke(app, ["presets", "lengths", "tiny-llama", "passkey", "--registry", str(v1)])
    assert refused.exit_code == 1 and "version-1 preset" in refused.output
