"""How retrieval tasks ask for and score answers: free answers by default, priming and teacher
forcing as explicit parameters, recorded in case keys; older keys and presets unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import objectives
from objectives import ObjectiveError
from objectives.answers import PLAIN_CUE, contains_answer, with_answer_mode

ROOT = Path(__file__).resolve().parents[2]
RETRIEVAL = ["passkey", "longchat_lines", "kv_retrieval", "niah"]


@pytest.mark.parametrize("name", RETRIEVAL)
def test_free_answers_are_the_default_and_the_prompt_ends_where_a_users_would(tokenizer, name):
    task = objectives.get(name, length=300)
    assert task.mode == "generate" and task.params.prime is False and task.params.scoring == "generate"
    case = task.cases(tokenizer, n_cases=1)[0]
    text = tokenizer.decode(case.prompt_ids)
    assert text.endswith("<|im_start|>assistant\n")  # the chat template's generation prompt, nothing after
    assert case.max_new_tokens > len(case.answer_ids)  # room to restate the lead-in
    primed = objectives.get(name, length=300, prime=True, scoring="teacher_forced")
    assert primed.mode == "exact"
    ptext = tokenizer.decode(primed.cases(tokenizer, n_cases=1)[0].prompt_ids)
    assert not ptext.endswith("assistant\n") and ptext.startswith(text[: len(text) // 2])


def test_plain_free_prompts_end_with_the_answer_cue(tokenizer):
    case = objectives.get("passkey", length=300, chat=False).cases(tokenizer, n_cases=1)[0]
    assert tokenizer.decode(case.prompt_ids).endswith("What is the pass key?\n" + PLAIN_CUE)


def test_teacher_forcing_needs_priming_and_takes_no_cap():
    with pytest.raises(ObjectiveError, match="scoring='teacher_forced'.*prime=true"):
        objectives.get("passkey", scoring="teacher_forced")
    with pytest.raises(ObjectiveError, match="max_answer_tokens"):
        objectives.get("passkey", prime=True, scoring="teacher_forced", max_answer_tokens=8)
    with pytest.raises(ObjectiveError, match="scoring"):
        objectives.get("passkey", scoring="contains")


def test_case_keys_record_the_answer_mode_and_older_keys_stay():
    free = objectives.get("passkey", length=1024)
    primed = objectives.get("passkey", length=1024, prime=True)
    forced = objectives.get("passkey", length=1024, prime=True, scoring="teacher_forced")
    keys = {t.case_key("holdout", 0) for t in (free, primed, forced)}
    assert len(keys) == 3
    # The shipped passkey v4 recorded its held-out outcomes (primed, teacher-forced) under these keys.
    shipped = json.loads((ROOT / "presets/smollm2-135m/passkey/v4.json").read_text())
    bucket = shipped["buckets"][0]
    assert forced.case_key("holdout", 0) == bucket["outcomes"]["keys"][-25]  # length 1024, case 0
    assert bucket["evaluation"]["lengths"][-1] == 1024


def test_older_presets_read_as_primed_and_teacher_forced():
    from sra_search.presets.read import read_preset

    old = read_preset(ROOT / "presets/smollm2-135m/passkey/v4.json")
    assert old.schema_version == 2
    assert old.task.params["prime"] is True and old.task.params["scoring"] == "teacher_forced"
    assert all(b.evaluation.task_params["scoring"] == "teacher_forced" for b in old.buckets)
    assert with_answer_mode("passkey", {"length": 512}) == {"length": 512, "prime": False, "scoring": "generate"}
    assert with_answer_mode("perplexity", {"length": 512}) == {"length": 512}  # no answers to ask for


def test_free_answer_scores_follow_the_rule_on_the_generated_text(tiny_lm, tokenizer):
    res = objectives.evaluate(tiny_lm, tokenizer, "passkey", task_params={"length": 200}, n_cases=3)
    for case in res.cases:
        assert case.score == (1.0 if contains_answer(case.prediction, case.gold) else 0.0)
    forced = objectives.evaluate(
        tiny_lm, tokenizer, "passkey", task_params={"length": 200, "prime": True, "scoring": "teacher_forced"}, n_cases=3
    )
    assert "answer_nll" in forced.cases[0].metrics and "answer_nll" not in res.cases[0].metrics
    assert res.cases[0].key != forced.cases[0].key


def test_a_primed_free_answer_agrees_with_teacher_forcing_on_the_real_model(smollm2):
    # Same primed prompt, greedy generation vs one teacher-forced forward: the gold is the first
    # thing either would print, so they agree case by case (here all correct at 256 tokens).
    model, tok = smollm2
    gen = objectives.evaluate(model, tok, "passkey", task_params={"length": 256, "prime": True}, n_cases=4)
    forced = objectives.evaluate(
        model, tok, "passkey", task_params={"length": 256, "prime": True, "scoring": "teacher_forced"}, n_cases=4
    )
    assert [c.score for c in gen.cases] == [c.score for c in forced.cases]
