"""On the real SmolLM2: one teacher-forced forward scores a case exactly as greedy ``generate`` would."""

from __future__ import annotations

import pytest

import objectives
from objectives.forward import greedy_batch

pytestmark = pytest.mark.smollm2

# Primed prompts, teacher-forced: the scoring this file checks against generate.
FORCED = {"prime": True, "scoring": "teacher_forced"}
TASKS = [("passkey", FORCED), ("longchat_lines", FORCED), ("kv_retrieval", FORCED)]


def _generate(model, tok, case, cfg):
    n = len(case.answer_ids) + 1
    if cfg is None:
        return greedy_batch(model, tok, [case.prompt_ids], n)[0]
    from sra_search import enable_sra

    with enable_sra(model, cfg, prompt_len=len(case.prompt_ids)):
        return greedy_batch(model, tok, [case.prompt_ids], n)[0]


@pytest.mark.parametrize("with_sra", [False, True], ids=["baseline", "paper_public"])
def test_teacher_forced_equals_greedy_generate(smollm2, with_sra):
    from sra_search import SRAConfig

    model, tok = smollm2
    cfg = SRAConfig.paper_public() if with_sra else None
    outcomes = []
    for name, params in TASKS:
        task = objectives.get(name, length=384, **params)
        result = objectives.evaluate(model, tok, task, cfg, n_cases=2, batch_size=2)
        for case, cr in zip(task.cases(tok, n_cases=2), result.cases):
            gen = _generate(model, tok, case, cfg)
            a = len(case.answer_ids)
            greedy_right = gen[:a] == case.answer_ids and (len(gen) == a or task.answer_complete(tok, gen[a]))
            assert (cr.score == 1.0) == greedy_right, (case.id, cr.prediction, tok.decode(gen))
            # The scored prediction is what greedy decoding printed, up to its first miss.
            pred_ids = tok(cr.prediction, add_special_tokens=False)["input_ids"]
            assert tok.decode(gen).startswith(cr.prediction), (cr.prediction, tok.decode(gen))
            assert len(pred_ids) >= 1
            outcomes.append(greedy_right)
    if not with_sra:
        # Both outcomes occur, so the agreement above is tested in both directions.
        assert any(outcomes) and not all(outcomes), outcomes
