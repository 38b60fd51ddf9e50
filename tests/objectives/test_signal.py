"""The gold answer's log-likelihood beside a free answer (objectives.signal): the lead-in it follows,
the gold tokens' log-probabilities, and SRA on the prompt's rows only (a prefill and a cached
continuation give the same numbers)."""

from __future__ import annotations

import pytest
import torch

import objectives
from objectives import ObjectiveError
from objectives.answers import PLAIN_CUE
from objectives.signal import gold_token_logprobs
from sra_search.config import SRAConfig
from sra_search.runtime.context import enable_sra

PARAMS = {"length": 220, "needle": "multikey"}
CFG = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=3.0, s_ou=3.0, c_s=2, c_e=8)


def test_a_free_case_keeps_the_lead_in_that_a_primed_prompt_ends_with(tokenizer, plain_tokenizer):
    free = objectives.get("niah", **PARAMS).cases(tokenizer, n_cases=1)[0]
    primed = objectives.get("niah", **PARAMS, prime=True).cases(tokenizer, n_cases=1)[0]
    assert primed.lead_ids == []
    lead = tokenizer.decode(free.lead_ids)
    assert lead.startswith("The special magic number for ") and free.meta["key"] in lead
    ending = "<|im_start|>assistant\n" + lead  # where the primed prompt of the same task ends
    assert tokenizer.decode(free.prompt_ids + free.lead_ids).endswith(ending)
    assert tokenizer.decode(primed.prompt_ids).endswith(ending)
    plain = objectives.get("niah", **PARAMS).cases(plain_tokenizer, n_cases=1)[0]
    assert plain_tokenizer.decode(plain.prompt_ids + plain.lead_ids).endswith(f"{PLAIN_CUE} {lead}")


def test_the_signal_is_each_gold_tokens_log_probability_after_prompt_and_lead_in(tiny_lm, tokenizer):
    got = gold_token_logprobs(tiny_lm, tokenizer, "niah", task_params=PARAMS, n_cases=2)
    for case, lps in zip(objectives.get("niah", **PARAMS).cases(tokenizer, n_cases=2), got):
        ids = case.prompt_ids + case.lead_ids + case.answer_ids
        with torch.no_grad():
            logp = torch.log_softmax(tiny_lm(torch.tensor([ids])).logits[0].float(), -1)
        start = len(ids) - len(case.answer_ids)
        want = [float(logp[start - 1 + j, t]) for j, t in enumerate(case.answer_ids)]
        assert lps == pytest.approx(want, abs=1e-4)


def test_sra_edits_the_prompt_rows_only_as_a_prefill_then_a_cached_continuation_would(tiny_lm, tokenizer):
    case = objectives.get("niah", **PARAMS).cases(tokenizer, n_cases=1)[0]
    (with_sra,) = gold_token_logprobs(tiny_lm, tokenizer, "niah", CFG, task_params=PARAMS, n_cases=1)
    (without,) = gold_token_logprobs(tiny_lm, tokenizer, "niah", None, task_params=PARAMS, n_cases=1)
    assert max(abs(a - b) for a, b in zip(with_sra, without)) > 1e-3  # SRA moved the signal
    tail = case.lead_ids + case.answer_ids
    with torch.no_grad(), enable_sra(tiny_lm, CFG, prompt_len=len(case.prompt_ids)) as stats:
        pre = tiny_lm(torch.tensor([case.prompt_ids]), use_cache=True)
        cont = tiny_lm(torch.tensor([tail]), cache=pre.cache, use_cache=True)
    assert stats.summary().edited_rows > 0
    logits = torch.cat([pre.logits[0, -1:], cont.logits[0, :-1]]).float()  # row j predicts tail[j]
    logp = torch.log_softmax(logits, -1)
    a = len(case.answer_ids)
    want = [float(logp[len(tail) - a + j, t]) for j, t in enumerate(case.answer_ids)]
    assert with_sra == pytest.approx(want, abs=1e-4)


def test_the_signal_belongs_to_free_answers():
    with pytest.raises(ObjectiveError, match="mode 'generate'.*drop 'prime'/'scoring'"):
        gold_token_logprobs(None, None, "niah", task_params={**PARAMS, "prime": True, "scoring": "teacher_forced"})


def test_evaluate_records_the_signal_beside_each_free_answer_and_outcomes_keep_it(tiny_lm, tokenizer):
    from objectives.outcomes import Outcomes
    from objectives.signal import gold_signal

    res = objectives.evaluate(tiny_lm, tokenizer, "niah", CFG, task_params=PARAMS, n_cases=2, signal=True)
    want = [gold_signal(lps) for lps in gold_token_logprobs(tiny_lm, tokenizer, "niah", CFG, task_params=PARAMS, n_cases=2)]
    assert [c.metrics["gold_signal"] for c in res.cases] == pytest.approx(want, abs=1e-5)
    plain = objectives.evaluate(tiny_lm, tokenizer, "niah", CFG, task_params=PARAMS, n_cases=2)
    assert [c.score for c in plain.cases] == [c.score for c in res.cases]  # the answers are untouched
    assert plain.sra_stats == res.sra_stats  # and so are SRA's statistics of them
    out = Outcomes.of(res)
    assert out.case_signals == pytest.approx(want, abs=1e-5) and Outcomes.of(plain).case_signals == ()
    assert Outcomes.merge([out, out]).case_signals == out.case_signals * 2
    assert Outcomes.merge([out, Outcomes.of(plain)]).case_signals == ()
    with pytest.raises(ObjectiveError, match="drop 'prime'/'scoring'"):
        objectives.evaluate(tiny_lm, tokenizer, "niah", None, task_params={**PARAMS, "prime": True, "scoring": "teacher_forced"},
                            n_cases=1, signal=True)  # fmt: skip


def test_the_signal_from_the_answers_own_prefill_is_the_full_forwards(tiny_lm, tokenizer):
    """The cached path (the generation's cache cut back to the prompt, then lead-in + gold) is
    taken on a one-row free answer, and gives the full forward's numbers: this fails if
    transformers changes how a generation's cache is returned, cut or passed back."""
    from objectives.forward import greedy_with_cache
    from objectives.signal import cached_token_logprobs
    from objectives.sra import SRARun

    task = objectives.get("niah", **PARAMS)
    for config in (None, CFG):
        for case, full in zip(task.cases(tokenizer, n_cases=2), gold_token_logprobs(tiny_lm, tokenizer, task, config, n_cases=2)):
            run = SRARun(tiny_lm, config)
            with run.batch([len(case.prompt_ids)]):
                answer, cache = greedy_with_cache(tiny_lm, tokenizer, [case.prompt_ids], case.max_new_tokens)
            assert cache is not None and cache.get_seq_length() > len(case.prompt_ids)  # prompt + answer so far
            got = cached_token_logprobs(tiny_lm, task, case, cache)
            assert got is not None and got == pytest.approx(full, abs=1e-4)
    assert cached_token_logprobs(tiny_lm, task, case, None) is None
