"""evaluate() mechanics on a tiny random Llama: batching, chunking, scoring rule, SRA statistics."""

from __future__ import annotations

import math

import pytest
import torch

import objectives
from objectives import Case
from objectives.evaluate import plan_batches
from objectives.forward import exact_batch, greedy_batch, pad_id


# Teacher-forced exact match (primed prompts): the scoring these mechanics tests are about.
FORCED = {"prime": True, "scoring": "teacher_forced"}

def test_plan_batches_groups_by_length_and_respects_limits():
    lengths = [100, 900, 300, 880, 120]
    assert plan_batches(lengths, 2) == [[1, 3], [2, 4], [0]]
    assert plan_batches(lengths, 1) == [[1], [3], [2], [4], [0]]
    auto = plan_batches(lengths, None, max_tokens=2000)
    assert auto == [[1, 3], [2, 4, 0]]  # 3 x 300 <= 2000; 900 x 3 would not fit
    assert sorted(i for b in auto for i in b) == list(range(5))
    with pytest.raises(objectives.ObjectiveError):
        plan_batches(lengths, 0)


def _case(tokenizer, cid: str, prompt: list[int], answer: list[int]) -> Case:
    return Case(id=cid, prompt_ids=prompt, gold=tokenizer.decode(answer), answer_ids=answer)


def test_teacher_forced_scoring_is_greedy_decoding(tiny_lm, tokenizer):
    """A case is correct iff greedy decoding emits its answer; its prediction is greedy's prefix."""
    torch.manual_seed(1)
    prompts = [torch.randint(100, 40000, (n,)).tolist() for n in (40, 57, 63)]
    greedy = [greedy_batch(tiny_lm, tokenizer, [p], 4) for p in prompts]
    greedy = [g[0] for g in greedy]
    cases = []
    for i, (p, g) in enumerate(zip(prompts, greedy)):
        cases.append(_case(tokenizer, f"right{i}", p, g[:3]))  # gold = greedy's first 3 tokens
        cases.append(_case(tokenizer, f"wrong{i}", p, [g[0], (g[1] + 1) % 40000, g[2]]))
    complete = lambda t: True  # noqa: E731 - the stop rule is tested separately
    outs = exact_batch(tiny_lm, cases, pad_id(tokenizer), complete)
    for case, out, g in zip(cases, outs, [x for g in greedy for x in (g, g)]):
        assert out.correct == case.id.startswith("right")
        n = len(out.predicted_ids)
        assert out.predicted_ids == g[:n]  # greedy up to (and including) the first miss
        assert n == (4 if out.correct else 2)
    # The stop rule sees the token greedy emits after the answer.
    seen = []
    exact_batch(tiny_lm, cases[:1], pad_id(tokenizer), lambda t: seen.append(t) or False)
    assert seen == [greedy[0][3]]


def test_scores_do_not_depend_on_batch_size(tiny_lm, tokenizer):
    task = objectives.get("kv_retrieval", length=220, max_pairs=12, **FORCED)
    runs = [objectives.evaluate(tiny_lm, tokenizer, task, n_cases=5, batch_size=b) for b in (1, 2, 5, None)]
    ref = runs[0]
    for r in runs[1:]:
        assert [c.id for c in r.cases] == [c.id for c in ref.cases]
        assert [c.score for c in r.cases] == [c.score for c in ref.cases]
        assert [c.prediction for c in r.cases] == [c.prediction for c in ref.cases]
        for a, b in zip(r.cases, ref.cases):
            assert a.metrics["answer_nll"] == pytest.approx(b.metrics["answer_nll"], abs=1e-4)


def test_chunks_merge_to_the_whole(tiny_lm, tokenizer):
    task = objectives.get("longchat_lines", length=200)
    whole = objectives.evaluate(tiny_lm, tokenizer, task, n_cases=4, perplexity_tokens=50)
    parts = [objectives.evaluate(tiny_lm, tokenizer, task, n_cases=2, offset=o, perplexity_tokens=50) for o in (0, 2)]
    cases = parts[0].cases + parts[1].cases
    assert [c.id for c in cases] == [c.id for c in whole.cases]
    merged = objectives.aggregate(task, cases)
    for key, value in whole.metrics.items():
        assert merged[key] == pytest.approx(value, rel=1e-5), key


def test_result_fields(tiny_lm, tokenizer):
    r = objectives.evaluate(tiny_lm, tokenizer, "passkey", n_cases=3, task_params={"length": 150, **FORCED}, perplexity_tokens=20)
    assert r.task == "passkey" and r.n_cases == 3 and r.split == "search" and r.higher_is_better
    assert 0.0 <= r.score <= 1.0 and r.score == r.metrics["accuracy"]
    assert r.prompt_tokens["max"] <= 150 and r.sra is None and r.sra_stats is None
    assert r.metrics["answer_ppl"] > 1 and r.metrics["perplexity"] > 1
    c = r.cases[0]
    assert c.id == "passkey/search/0/0" and 100 < c.prompt_tokens <= 150
    assert c.metrics["ppl_tokens"] == 20
    # The answer perplexity is the token-weighted mean NLL, exponentiated.
    nll = sum(x.metrics["answer_nll"] * x.metrics["answer_tokens"] for x in r.cases)
    tok = sum(x.metrics["answer_tokens"] for x in r.cases)
    assert r.metrics["answer_ppl"] == pytest.approx(math.exp(nll / tok))
    import json

    json.dumps(r.to_json_dict())  # valid JSON (no NaN)


def test_progress_is_reported(tiny_lm, tokenizer):
    calls = []
    objectives.evaluate(tiny_lm, tokenizer, "passkey", n_cases=3, batch_size=1, task_params={"length": 120},
                        progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_sra_statistics_and_effect(tiny_lm, tokenizer):
    from sra_search import SRAConfig

    cfg = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=3.0, s_ou=3.0, c_s=2, c_e=8)
    task = objectives.get("passkey", length=200, **FORCED)
    pair = objectives.evaluate_pair(tiny_lm, tokenizer, task, cfg, n_cases=3)
    st = pair.sra.sra_stats
    assert pair.baseline.sra_stats is None
    assert st.edited_rows > 0 and st.examined_rows >= st.edited_rows
    assert st.accumulated_attention_mean > 1.0 and st.accumulated_attention_p95 >= st.accumulated_attention_mean - 1e-6
    assert pair.sra.sra == cfg.model_dump()
    # SRA changes what the model computes (the answer likelihood moves).
    nb = [c.metrics["answer_nll"] for c in pair.baseline.cases]
    ns = [c.metrics["answer_nll"] for c in pair.sra.cases]
    assert any(abs(a - b) > 1e-4 for a, b in zip(nb, ns))
    # Batch size does not change SRA results either.
    again = objectives.evaluate(tiny_lm, tokenizer, task, cfg, n_cases=3, batch_size=3)
    assert [c.score for c in again.cases] == [c.score for c in pair.sra.cases]
    for a, b in zip(again.cases, pair.sra.cases):
        assert a.metrics["answer_nll"] == pytest.approx(b.metrics["answer_nll"], abs=1e-4)
    assert again.sra_stats.edited_rows == st.edited_rows


def test_generation_and_perplexity_tasks_run(tiny_lm, tokenizer, tmp_path):
    import json

    recs = [{"id": f"r{i}", "document": "Storm hits coast. " * (10 + i), "summary": "A storm hit."} for i in range(6)]
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    s = objectives.evaluate(tiny_lm, tokenizer, "summarization", n_cases=2, perplexity_tokens=10,
                            task_params={"data": str(tmp_path / "x.jsonl"), "max_new_tokens": 5})  # fmt: skip
    assert s.main_metric == "rougeL" and set(s.metrics) >= {"rouge1", "rouge2", "rougeL", "perplexity"}
    assert all(len(tokenizer(c.prediction, add_special_tokens=False)["input_ids"]) <= 6 for c in s.cases)
    (tmp_path / "t.txt").write_text("Storm hits coast and the town floods. " * 100)
    p = objectives.evaluate(tiny_lm, tokenizer, "perplexity", n_cases=2, task_params={"data": str(tmp_path / "t.txt"), "length": 64, "last_k": 16})
    assert not p.higher_is_better and p.main_metric == "perplexity"
    nll = [c.metrics["ppl_nll"] for c in p.cases]
    assert p.score == pytest.approx(math.exp(sum(nll) / len(nll)))
    assert all(c.score == pytest.approx(math.exp(n)) for c, n in zip(p.cases, nll))
