"""The gold answer's log-likelihood: a continuous per-case signal beside a free answer's 0/1 score.

A free answer is right or wrong, and most configs of a study answer most cases alike, so a paired
0/1 comparison decides on its few discordant cases. The gold's token log-probabilities,
teacher-forced after the prompt and the answer's lead-in (``The special magic number for X ... is``),
move on every case. They are scored in one forward over prompt + lead-in + gold under the config,
with SRA editing only the prompt's rows (``prompt_len``): by the spec's prefix rule
(docs/sra-spec.md, "When it applies") the logits a prefill followed by a cached continuation
would give.

:func:`gold_signal` is the one summary a search uses: the log-probability of the gold's least
likely token. It was chosen on recorded studies (``benchmarks/case_signal.py``, docs/search.md
"A continuous signal"), where it agreed with the free answer's score more often than the mean
per token or the first token: the signal is only worth a decision where it agrees with the
task's own score, which is measured, not assumed.
"""

from __future__ import annotations

from typing import Any

import torch

from objectives.base import Case, Task
from objectives.errors import ObjectiveError
from objectives.forward import cache_kwarg, pad_id, tail_logits
from objectives.registry import resolve_task
from objectives.sra import SRARun


SIGNAL_METRIC = "gold_signal"
"""The case metric :func:`~objectives.evaluate` writes the signal to when asked (``signal=True``)."""


def gold_signal(token_logprobs: list[float]) -> float:
    """A case's signal from its gold token log-probabilities: the least likely token's."""
    return min(token_logprobs)


def _gold_logprobs(logits: torch.Tensor, answer_ids: list[int]) -> list[float]:
    """Each gold token's log-probability, from the logits of the rows that predict them."""
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, torch.tensor(answer_ids, device=logits.device)[:, None])
    return [float(x) for x in logp[:, 0]]


def require_free_answers(task: Task) -> None:
    """Refuse a task whose answers are not free: the signal sits beside a generated answer."""
    if task.mode != "generate":
        raise ObjectiveError(
            f"task '{task.name}': the gold log-likelihood signal is one of free answers (mode 'generate'), "
            f"not of mode '{task.mode}'; drop 'prime'/'scoring' from the task's parameters, or do not ask for the signal"
        )


def case_token_logprobs(model, task: Task, case: Case, run: SRARun, pad: int) -> list[float]:
    """Each gold token's log-probability after the case's prompt, lead-in and the gold before it."""
    require_free_answers(task)
    if not case.answer_ids:
        raise ObjectiveError(f"task '{task.name}': case {case.id} has no gold answer tokens to score")
    a = len(case.answer_ids)
    seq = list(case.prompt_ids) + list(case.lead_ids) + list(case.answer_ids)
    with run.batch([len(case.prompt_ids)]):
        # Logits at the a + 1 last positions; the first a predict the gold tokens.
        logits = tail_logits(model, [seq], a + 1, pad)[0, :a]
    return _gold_logprobs(logits, case.answer_ids)


@torch.inference_mode()
def cached_token_logprobs(model, task: Task, case: Case, cache) -> list[float] | None:
    """:func:`case_token_logprobs` from the free answer's own prefill: ``cache`` (a one-row
    generation's, :func:`~objectives.forward.greedy_with_cache`) cut back to the prompt, then one
    forward over lead-in + gold, a few tokens instead of the whole prompt. The prefill was SRA's
    and a cached continuation is never edited, so the numbers are the full forward's (to float
    rounding; a test holds them together). ``None`` where that path does not apply: no lead-in
    (the first gold token's logits would be the prefill's), or a cache that cannot be cut back
    (a sliding-window layer past its window); the caller then scores the full forward."""
    require_free_answers(task)
    width = len(case.prompt_ids)
    if not case.lead_ids or not case.answer_ids or cache is None:
        return None
    try:
        extra = cache.get_seq_length() - width
        if extra > 0:
            cache.crop(-extra)  # transformers 5: a negative count of tokens to remove
    except (RuntimeError, ValueError, AttributeError):
        return None
    if cache.get_seq_length() != width:
        return None
    device = next(model.parameters()).device
    tail = list(case.lead_ids) + list(case.answer_ids)
    out = model(
        input_ids=torch.tensor([tail], device=device), attention_mask=torch.ones(1, width + len(tail), dtype=torch.long, device=device),
        position_ids=torch.arange(width, width + len(tail), device=device)[None], use_cache=True, **{cache_kwarg(model): cache},
    )  # fmt: skip
    a, lead = len(case.answer_ids), len(case.lead_ids)
    return _gold_logprobs(out.logits[0, lead - 1 : lead - 1 + a], case.answer_ids)  # row j predicts tail[j + 1]


def gold_token_logprobs(
    model,
    tokenizer,
    task: Task | str,
    sra=None,
    *,
    split: str = "search",
    n_cases: int | None = None,
    offset: int = 0,
    task_params: dict[str, Any] | None = None,
) -> list[list[float]]:
    """Per case of ``offset .. offset + n_cases`` of ``split``: :func:`case_token_logprobs` under
    ``sra`` (an :class:`~sra_search.SRAConfig`) or without SRA (``None``), one case per forward."""
    task = resolve_task(task, task_params)
    require_free_answers(task)
    cases = task.cases(tokenizer, split=split, n_cases=n_cases, offset=offset)
    pad = pad_id(tokenizer)
    run = SRARun(model, sra)
    was_training = model.training
    model.eval()
    try:
        return [case_token_logprobs(model, task, case, run, pad) for case in cases]
    finally:
        model.train(was_training)
