"""The one re-score path: the sign of a gain, each check, pairing by case key, and rescore on a
real (tiny) model."""

import math

import pytest

import objectives
from objectives.compare import Checks, PerplexityText, compare, gain, gain_counts, rescore
from objectives.outcomes import Outcomes
from sra_search.config import SRAConfig
from sra_search.runtime.stats import SRASummary


def _out(scores, *, higher=True, stats=None, split="holdout", ids=None):
    ids = ids or tuple(f"t:h:{split}:{i}" for i in range(len(scores)))
    return Outcomes(
        task="t", split=split, offset=0, higher_is_better=higher, score=sum(scores) / len(scores),
        case_ids=tuple(ids), case_scores=tuple(scores), prompt_tokens=(100,) * len(scores), stats=stats,
    )  # fmt: skip


def test_gain_is_oriented_once():
    assert gain(0.8, 0.5, True) == pytest.approx(0.3)
    assert gain(8.0, 10.0, False) == pytest.approx(2.0)  # lower perplexity is better
    assert gain(12.0, 10.0, False) == pytest.approx(-2.0)
    assert not gain_counts(0.0, 0.0) and gain_counts(1e-9, 0.0)
    assert gain_counts(0.05, 0.05) and not gain_counts(0.04, 0.05)


def test_every_check_fails_on_its_own():
    stats = SRASummary(examined_rows=100, edited_rows=5, accumulated_attention_mean=1.6)
    cmp = compare(
        _out([0, 0, 1], stats=stats), _out([1, 0, 1]),
        Checks(min_gain=0.0, attention_band=(1.1, 1.4), max_perplexity_ratio=1.1, min_edited_share=0.1),
        perplexity_ratio=1.3,
    )  # fmt: skip
    assert set(cmp.failures) == {"gain", "attention", "edited_share", "perplexity"}
    assert cmp.gain == pytest.approx(-1 / 3) and cmp.delta == pytest.approx(-1 / 3) and not cmp.ok
    assert "holdout gain -0.3333" in cmp.failures["gain"]


def test_a_passing_comparison_and_its_json():
    stats = SRASummary(examined_rows=100, edited_rows=50, accumulated_attention_mean=1.2)
    cmp = compare(_out([1, 1, 1], stats=stats), _out([1, 0, 1]), Checks(attention_band=(1.1, 1.4)), perplexity_ratio=1.01)
    assert cmp.ok and cmp.n_cases == 3 and cmp.edited_share == 0.5
    d = cmp.to_dict()
    assert d["ok"] and d["stats"]["edited_rows"] == 50 and d["baseline_case_scores"] == [1, 0, 1]


def test_a_missing_perplexity_ratio_fails_a_set_bound():
    cmp = compare(_out([1.0]), _out([0.0]), Checks(max_perplexity_ratio=1.1))
    assert "perplexity" in cmp.failures


def test_no_gain_required_for_findings():
    cmp = compare(_out([0.0]), _out([1.0]), require_gain=False)
    assert cmp.ok and cmp.gain == -1.0


def test_cases_are_paired_by_key():
    with pytest.raises(ValueError, match="other cases"):
        compare(_out([1, 0], ids=("a", "b")), _out([1, 0], ids=("a", "c")))
    # A trial scored on the first cases of a longer baseline compares on those cases only.
    cmp = compare(_out([1.0, 1.0]), _out([0.0, 1.0, 0.0, 0.0]))
    assert cmp.baseline_score == pytest.approx(0.5) and cmp.n_cases == 2


def test_perplexity_oriented_comparison():
    cmp = compare(_out([9.0, 11.0], higher=False), _out([10.0, 12.0], higher=False))
    assert cmp.gain == pytest.approx(1.0) and cmp.delta == pytest.approx(-1.0) and cmp.ok


def test_rescore_on_a_tiny_model_pairs_by_the_stable_case_key(tiny_lm, tokenizer, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(" ".join(f"word{i % 97}" for i in range(3000)))
    cfg = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=3.0, s_ou=3.0, c_s=2, c_e=8)
    cmp = rescore(
        tiny_lm, tokenizer, "passkey", {"length": 160}, cfg, split="holdout", n_cases=3,
        checks=Checks(max_perplexity_ratio=100.0), require_gain=False,
        perplexity=PerplexityText(params={"data": str(text), "length": 128, "last_k": 64}, split="search", n_cases=2),
    )  # fmt: skip
    task = objectives.get("passkey", length=160)
    assert cmp.case_ids == tuple(task.case_key("holdout", i) for i in range(3))
    assert cmp.stats is not None and cmp.stats.examined_rows > 0
    assert cmp.perplexity_ratio is not None and math.isfinite(cmp.perplexity_ratio) and cmp.ok
    assert cmp.eval_s > 0


def test_case_keys_change_with_the_task_parameters():
    a = objectives.get("passkey", length=160)
    b = objectives.get("passkey", length=161)
    assert a.case_key("search", 0) != b.case_key("search", 0)
    assert a.case_key("search", 0) == objectives.get("passkey", length=160).case_key("search", 0)
    assert a.case_key("search", 0).startswith("passkey:") and a.case_key("search", 0).endswith(":search:0")


def test_a_comparison_gives_its_paired_evidence():
    base = [1.0] * 10 + [0.0] * 10
    sra = [1.0] * 10 + [1.0] * 8 + [0.0] * 2  # 8 fixed, none broken
    ev = compare(_out(sra), _out(base)).evidence()
    assert ev.test.startswith("exact McNemar") and ev.n == 20
    assert (ev.sra_only, ev.baseline_only) == (8, 0)
    assert ev.p_value == pytest.approx(0.5**8)  # one-sided sign test on 8 discordant pairs
    assert ev.shown(0.05)
