"""Turning task text into token ids: chat template (or plain fallback) and length fitting."""

from __future__ import annotations

from typing import Callable

from objectives.errors import ObjectiveError, PromptTooShortError


def use_chat(tokenizer, chat: bool | None) -> bool:
    """Whether prompts go through the chat template: ``None`` means "when the tokenizer has one"."""
    has = bool(getattr(tokenizer, "chat_template", None))
    if chat is None:
        return has
    if chat and not has:
        raise ObjectiveError(
            "parameter 'chat': the tokenizer has no chat template; set chat=false to use plain prompts"
        )
    return chat


def render(tokenizer, user: str, assistant_prefix: str = "", *, chat: bool) -> list[int]:
    """Token ids of a one-turn prompt ending where the model's answer starts.

    ``assistant_prefix`` primes the answer (``"The pass key is"``) so that the gold answer is
    the very next tokens, which exact-match scoring relies on.
    """
    if chat:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
        )
        # The template already holds the special tokens; do not add a second BOS.
        return list(tokenizer(text + assistant_prefix, add_special_tokens=False)["input_ids"])
    text = user + ("\n" + assistant_prefix if assistant_prefix else "")
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])


def encode_answer(tokenizer, answer: str) -> list[int]:
    """Gold answer tokens as the model would emit them right after the prompt."""
    ids = list(tokenizer(answer, add_special_tokens=False)["input_ids"])
    if not ids:
        raise ObjectiveError(f"gold answer {answer!r} encodes to no token")
    return ids


def fit(build: Callable[[int], list[int]], target: int, upper: int, what: str) -> tuple[int, list[int]]:
    """Largest ``n`` in ``[0, upper]`` with ``len(build(n)) <= target``, and its ids.

    ``build(n)`` renders the prompt with ``n`` units of filler (words, lines, pairs); token
    counts grow with ``n``, so a binary search finds the fullest prompt that fits.
    """
    ids = build(0)
    if len(ids) > target:
        raise PromptTooShortError(
            f"parameter 'length': {target} tokens is too short, the prompt without {what} already has {len(ids)}",
            length=target, needed=len(ids),
        )  # fmt: skip
    lo, hi, best = 0, upper, ids
    while lo < hi:
        mid = (lo + hi + 1) // 2
        cand = build(mid)
        if len(cand) <= target:
            lo, best = mid, cand
        else:
            hi = mid - 1
    return lo, best


def truncate_middle(tokenizer, text: str, max_tokens: int) -> str:
    """LongBench's truncation: keep the first and last ``max_tokens / 2`` tokens of ``text``."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return text
    half = max_tokens // 2
    return tokenizer.decode(ids[:half], skip_special_tokens=True) + tokenizer.decode(
        ids[len(ids) - half :], skip_special_tokens=True
    )


def sentence_cut(words: list[str], depth: float) -> int:
    """Word index nearest to ``depth * len(words)`` that starts a sentence (keeps sentences whole)."""
    want = depth * len(words)
    cuts = [0] + [i + 1 for i, w in enumerate(words) if w.endswith((".", "?", "!"))] + [len(words)]
    return min(cuts, key=lambda c: (abs(c - want), c))
