"""Model calls: left-padded batches, teacher-forced scoring, greedy generation, tail NLL.

Rows are left padded and given explicit position ids (counted from each row's first real
token), so a row's logits do not depend on what else is in its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def pad_id(tokenizer) -> int:
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if tid is not None:
            return int(tid)
    return 0  # pragma: no cover


def left_pad(seqs: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``input_ids, attention_mask, position_ids`` of a left-padded batch."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[i, width - len(s) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), pos.to(device)


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def tail_logits(model, seqs: list[list[int]], tail: int, pad: int) -> torch.Tensor:
    """Float32 logits of the last ``tail`` positions of every row: ``[batch, tail, vocab]``.

    Rows are right-aligned by the left padding, so the last columns are every row's last tokens.
    """
    ids, mask, pos = left_pad(seqs, pad, _device(model))
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False, logits_to_keep=tail)
    return out.logits[:, -tail:].float()


@dataclass
class ExactOutput:
    """Teacher-forced result of one case."""

    correct: bool
    predicted_ids: list[int]  # greedy tokens up to the first miss (what greedy decoding emits)
    answer_nll: float  # mean NLL per gold answer token
    answer_tokens: int
    tail_nll: float | None = None  # mean NLL of the last ``tail_tokens`` tokens of prompt + answer
    tail_tokens: int = 0


def _nll(logits: torch.Tensor, targets: list[int]) -> float:
    logp = torch.log_softmax(logits, dim=-1)
    t = torch.tensor(targets, dtype=torch.long, device=logits.device)
    return float(-logp.gather(-1, t[:, None]).mean())


def exact_batch(
    model, cases, pad: int, complete, ppl_tokens: int = 0
) -> list[ExactOutput]:
    """One forward over prompt + gold answer for each case.

    Logits at position ``P - 1 + j`` predict answer token ``j``; the case is correct iff every
    argmax equals the gold token and the argmax after the answer ends it (``complete``).
    """
    seqs = [list(c.prompt_ids) + list(c.answer_ids) for c in cases]
    need = [len(c.answer_ids) + 1 for c in cases]
    ppl = [min(ppl_tokens, len(s) - 1) for s in seqs]
    tail = max(max(need), max(p + 1 for p in ppl))
    logits = tail_logits(model, seqs, tail, pad)
    outs = []
    for row, (case, seq) in enumerate(zip(cases, seqs)):
        a = len(case.answer_ids)
        lg = logits[row, tail - (a + 1) :]  # positions P-1 .. P+A-1
        pred = lg.argmax(-1).tolist()
        hits = [p == g for p, g in zip(pred[:a], case.answer_ids)]
        first_miss = hits.index(False) if False in hits else a
        correct = first_miss == a and complete(pred[a])
        predicted = pred[: first_miss + 1]
        out = ExactOutput(correct, predicted, _nll(lg[:a], list(case.answer_ids)), a)
        if ppl[row] > 0:
            k = ppl[row]
            # logits at positions S-k-1 .. S-2 predict the last k tokens.
            lt = logits[row, tail - k - 1 : tail - 1]
            out.tail_nll, out.tail_tokens = _nll(lt, seq[-k:]), k
        outs.append(out)
    return outs


def nll_batch(model, seqs: list[list[int]], last_k: list[int], pad: int) -> list[tuple[float, int]]:
    """Mean NLL of the last ``k`` tokens of each sequence, and ``k``."""
    tail = max(k for k in last_k) + 1
    logits = tail_logits(model, seqs, tail, pad)
    out = []
    for row, (seq, k) in enumerate(zip(seqs, last_k)):
        out.append((_nll(logits[row, tail - k - 1 : tail - 1], seq[-k:]), k))
    return out


def stop_token_ids(model, tokenizer) -> list[int]:
    """End-of-turn tokens: the tokenizer's EOS and the generation config's."""
    ids: set[int] = set()
    for src in (tokenizer.eos_token_id, getattr(getattr(model, "generation_config", None), "eos_token_id", None)):
        if isinstance(src, int):
            ids.add(src)
        elif isinstance(src, (list, tuple)):
            ids.update(int(x) for x in src)
    return sorted(ids)


def greedy_batch(model, tokenizer, seqs: list[list[int]], max_new_tokens: int, stop_strings: list[str] = ()) -> list[list[int]]:
    """Greedy continuation of each sequence (without the prompt), cut at the first stop token."""
    return greedy_with_cache(model, tokenizer, seqs, max_new_tokens, stop_strings)[0]


def cache_kwarg(model) -> str:
    """The forward's name for a KV cache: transformers 5 renamed ``past_key_values`` to ``cache``
    (the old name is deprecated, to be removed in 5.40); a test fails if neither is found."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


@torch.inference_mode()
def greedy_with_cache(
    model, tokenizer, seqs: list[list[int]], max_new_tokens: int, stop_strings: list[str] = ()
) -> tuple[list[list[int]], object | None]:
    """:func:`greedy_batch`'s answers and the generation's KV cache (``None`` if it gave none):
    the same greedy decoding, with ``return_dict_in_generate`` set to keep the cache."""
    from transformers import GenerationConfig

    pad = pad_id(tokenizer)
    stops = stop_token_ids(model, tokenizer)
    for s in stop_strings:
        # pred.py's trick for samsum: the last token of the encoded stop string ends generation.
        enc = tokenizer(s, add_special_tokens=False)["input_ids"]
        if enc:
            stops.append(int(enc[-1]))
    ids, mask, _ = left_pad(seqs, pad, _device(model))
    cfg = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, eos_token_id=stops or None, pad_token_id=pad,
        return_dict_in_generate=True,
    )  # fmt: skip
    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=cfg)
    new = out.sequences[:, ids.shape[1] :].tolist()
    result = []
    for row in new:
        cut = next((i for i, t in enumerate(row) if t in stops), len(row))
        result.append(row[:cut])
    return result, getattr(out, "cache", None) or getattr(out, "past_key_values", None)
