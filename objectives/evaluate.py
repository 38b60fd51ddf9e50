"""``evaluate``: run a task's cases through a model, with or without SRA, and score them."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from objectives.base import Case, Task
from objectives.errors import ObjectiveError
from objectives.forward import ExactOutput, exact_batch, greedy_batch, greedy_with_cache, nll_batch, pad_id
from objectives.registry import resolve_task
from objectives.results import CaseResult, EvalResult, PairResult
from objectives.signal import SIGNAL_METRIC, cached_token_logprobs, case_token_logprobs, gold_signal, require_free_answers
from objectives.sra import SRARun

Progress = Callable[[int, int], None]

# Auto batching on accelerators: padded tokens per forward. On CPU a 1k-token forward already
# keeps the cores busy and batches of 4 were measured 2-15% slower than one case per forward
# (benchmarks/objectives.py, docs/objectives.md), so ``batch_size=None`` means 1 there.
AUTO_BATCH_TOKENS = 4096
AUTO_MAX_BATCH = 8


def plan_batches(lengths: list[int], batch_size: int | None, max_tokens: int = AUTO_BATCH_TOKENS) -> list[list[int]]:
    """Indices grouped by length (longest first) so that padding stays small.

    ``batch_size`` fixes the rows per batch; ``None`` fills each batch up to ``max_tokens``
    padded tokens (at most ``AUTO_MAX_BATCH`` rows).
    """
    if batch_size is not None and batch_size < 1:
        raise ObjectiveError(f"batch_size must be >= 1 (got {batch_size})")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        if batches:
            cur = batches[-1]
            width = lengths[cur[0]]  # longest first
            if batch_size is not None:
                fits = len(cur) < batch_size
            else:
                fits = len(cur) < AUTO_MAX_BATCH and (len(cur) + 1) * width <= max_tokens
            if fits:
                cur.append(i)
                continue
        batches.append([i])
    return batches


def _device_type(model) -> str:
    param = next(model.parameters(), None)
    return param.device.type if param is not None else "cpu"


def _exact(task: Task, tokenizer, case: Case, out: ExactOutput) -> CaseResult:
    metrics = {"answer_nll": out.answer_nll, "answer_tokens": float(out.answer_tokens)}
    if out.tail_nll is not None:
        metrics.update(ppl_nll=out.tail_nll, ppl_tokens=float(out.tail_tokens))
    return CaseResult(
        id=case.id,
        score=1.0 if out.correct else 0.0,
        prompt_tokens=len(case.prompt_ids),
        prediction=tokenizer.decode(out.predicted_ids, skip_special_tokens=False),
        gold=case.gold,
        metrics=metrics,
        meta=case.meta,
    )


def _run_batch(
    task: Task, model, tokenizer, batch: list[Case], run: SRARun, ppl_tokens: int, signal: bool = False
) -> list[CaseResult]:
    pad = pad_id(tokenizer)
    plen = [len(c.prompt_ids) for c in batch]
    if task.mode == "exact":
        with run.batch(plen):
            outs = exact_batch(model, batch, pad, lambda t: task.answer_complete(tokenizer, t), ppl_tokens)
        return [_exact(task, tokenizer, c, o) for c, o in zip(batch, outs)]
    if task.mode == "perplexity":
        with run.batch(plen):
            outs = nll_batch(model, [list(c.prompt_ids) for c in batch], [c.score_tokens for c in batch], pad)
        return [
            CaseResult(
                id=c.id, score=float(torch.tensor(nll).exp()), prompt_tokens=len(c.prompt_ids), prediction="",
                gold=None, metrics={"ppl_nll": nll, "ppl_tokens": float(k)}, meta=c.meta,
            )  # fmt: skip
            for c, (nll, k) in zip(batch, outs)
        ]
    # generate
    stops = task.stop_strings() if hasattr(task, "stop_strings") else []
    prompts, cap = [list(c.prompt_ids) for c in batch], max(c.max_new_tokens for c in batch)
    cache = None  # the generation's, kept only where the signal reads it (one row: a cut-back prefill)
    with run.batch(plen):
        if signal and len(batch) == 1:
            gen, cache = greedy_with_cache(model, tokenizer, prompts, cap, stops)
        else:
            gen = greedy_batch(model, tokenizer, prompts, cap, stops)
    results = []
    for c, ids in zip(batch, gen):
        ids = ids[: c.max_new_tokens]
        text = tokenizer.decode(ids, skip_special_tokens=True)
        metrics = task.score_prediction(c, text)
        results.append(
            CaseResult(
                id=c.id, score=float(metrics[task.main_metric]), prompt_tokens=len(c.prompt_ids), prediction=text,
                gold=c.gold, metrics=metrics, meta=c.meta,
            )  # fmt: skip
        )
    if signal:
        # From the answer's own prefill where its cache serves, else in a full forward with its own
        # SRA run, so the signal's forwards are not mixed into the answers' statistics.
        side = SRARun(model, run.config)
        for c, r in zip(batch, results):
            lps = cached_token_logprobs(model, task, c, cache)
            if lps is None:
                lps = case_token_logprobs(model, task, c, side, pad)
            r.metrics[SIGNAL_METRIC] = gold_signal(lps)
        del cache  # freed before the reference forward below
    if ppl_tokens:
        _add_reference_ppl(model, tokenizer, batch, results, run, ppl_tokens)
    return results


def _add_reference_ppl(model, tokenizer, batch, results, run: SRARun, ppl_tokens: int) -> None:
    # Generation tasks: perplexity of the reference continuation, in a separate forward whose
    # SRA statistics are not mixed with the generation's.
    side = SRARun(model, run.config)
    seqs, ks = [], []
    for c in batch:
        gold = c.gold[0] if isinstance(c.gold, list) else c.gold
        ref = tokenizer(" " + str(gold), add_special_tokens=False)["input_ids"] or [pad_id(tokenizer)]
        seqs.append(list(c.prompt_ids) + ref)
        ks.append(min(ppl_tokens, len(seqs[-1]) - 1))
    with side.batch([len(c.prompt_ids) for c in batch]):
        outs = nll_batch(model, seqs, ks, pad_id(tokenizer))
    for r, (nll, k) in zip(results, outs):
        r.metrics.update(ppl_nll=nll, ppl_tokens=float(k))


def evaluate(
    model,
    tokenizer,
    task: Task | str,
    sra=None,
    *,
    split: str = "search",
    n_cases: int | None = None,
    offset: int = 0,
    batch_size: int | None = None,
    progress: Progress | None = None,
    perplexity_tokens: int = 0,
    task_params: dict[str, Any] | None = None,
    signal: bool = False,
) -> EvalResult:
    """Score ``task`` on cases ``offset .. offset + n_cases`` of ``split``, under ``sra`` (an
    :class:`~sra_search.SRAConfig`) or without SRA (``None``).

    ``batch_size=None`` runs one case per forward on CPU and generation tasks, and batches
    teacher-forced cases by length (see :func:`plan_batches`) on accelerators.

    A case's score does not depend on the batch it ran in, so a caller may evaluate a split in
    chunks and merge them with :func:`aggregate`. ``perplexity_tokens=K`` also reports the
    perplexity of the last K tokens of prompt + gold answer (metric ``perplexity``). ``signal=True``
    also scores each free answer's gold log-likelihood signal (metric ``gold_signal``,
    :mod:`objectives.signal`): from the answer's own prefill (its cache, then a forward over the
    lead-in and the gold), or in a full forward of its own where that cache cannot serve.
    """
    task = resolve_task(task, task_params)
    if signal:
        require_free_answers(task)
    cases = task.cases(tokenizer, split=split, n_cases=n_cases, offset=offset)
    if batch_size is None and (task.mode == "generate" or _device_type(model) == "cpu"):
        # Batched greedy decoding is not bit-stable; on CPU batching is slower (see above).
        batch_size = 1
    was_training = model.training
    model.eval()
    run = SRARun(model, sra)
    results: list[CaseResult | None] = [None] * len(cases)
    t0 = time.perf_counter()
    done = 0
    if progress:
        progress(0, len(cases))
    try:
        for idx in plan_batches([len(c.prompt_ids) + len(c.answer_ids) for c in cases], batch_size):
            batch = [cases[i] for i in idx]
            for i, r in zip(idx, _run_batch(task, model, tokenizer, batch, run, perplexity_tokens, signal)):
                results[i] = r
            done += len(idx)
            if progress:
                progress(done, len(cases))
    finally:
        model.train(was_training)
    wall = time.perf_counter() - t0
    final = [r for r in results if r is not None]
    for i, r in enumerate(final):
        r.key = task.case_key(split, offset + i)
    metrics = task.aggregate(final)
    lens = [c.prompt_tokens for c in final] or [0]
    return EvalResult(
        task=task.name,
        params=task.describe()["params"],
        split=split,
        offset=offset,
        n_cases=len(final),
        main_metric=task.main_metric,
        higher_is_better=task.higher_is_better,
        score=metrics[task.main_metric],
        metrics=metrics,
        cases=final,
        prompt_tokens={"min": min(lens), "mean": sum(lens) / len(lens), "max": max(lens)},
        sra=sra.model_dump() if sra is not None else None,
        sra_stats=run.summary(),
        batch_size=batch_size,
        wall_time_s=wall,
    )


def evaluate_pair(model, tokenizer, task: Task | str, sra, *, progress: Callable[[str], Progress | None] | None = None, **kwargs: Any) -> PairResult:
    """Baseline and ``sra`` on the same cases. ``progress(label)`` may return a callback per run."""
    task = resolve_task(task, kwargs.pop("task_params", None))
    base = evaluate(model, tokenizer, task, None, progress=progress("baseline") if progress else None, **kwargs)
    with_sra = evaluate(model, tokenizer, task, sra, progress=progress("sra") if progress else None, **kwargs)
    return PairResult(baseline=base, sra=with_sra)


def aggregate(task: Task | str, cases: list[CaseResult], task_params: dict[str, Any] | None = None) -> dict[str, float]:
    """Task metrics over case results gathered from several :func:`evaluate` calls (chunks)."""
    return resolve_task(task, task_params).aggregate(cases)
