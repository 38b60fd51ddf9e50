"""How a retrieval task's answer is asked for and scored: the one free-answer rule.

Retrieval tasks (``passkey``, ``longchat_lines``, ``kv_retrieval``, ``niah``) score **free
answers** by default, as the paper and the long-context benchmarks (NIAH, RULER, LongChat) do:
the prompt ends where a user's would (the chat template's generation prompt, or ``Answer:`` for a
plain prompt), the model answers greedily under a small token cap that stops early at the end of
its turn, and the case is correct when the gold appears in the answer (:func:`contains_answer`).

Two older modes stay as explicit task parameters, recorded in case keys and presets:
``prime = true`` ends the prompt with the answer's lead-in (``The pass key is``), and
``scoring = "teacher_forced"`` (which needs ``prime``) scores the primed gold in one forward.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

Scoring = Literal["generate", "teacher_forced"]

# Cases measured before free answers existed were primed and teacher-forced; with these values
# the parameters are left out of the case key's hash, so those keys (in studies and presets) stay
# what they were. See Task.params_hash.
LEGACY_ANSWER: dict[str, Any] = {"prime": True, "scoring": "teacher_forced", "max_answer_tokens": None}

FIRST_TEMPLATES = frozenset({"landmark", "ruler", "json", "longchat"})
"""Each retrieval task's original prompt (its ``template`` default), left out of case keys too."""

PLAIN_CUE = "Answer:"
"""What a plain (no chat template) free-answer prompt ends with: a base model needs a cue to answer."""

ANSWER_SLACK = 4
"""Tokens the default cap allows beyond the lead-in and the gold (a closing quote, a full stop)."""

# Runs of letters or digits (any script); everything else separates words.
_WORD = re.compile(r"[^\W_]+")
# A thousands separator: "12,345" is the number 12345 (a comma between digit groups of three).
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def answer_words(text: str) -> list[str]:
    """The words of ``text`` as the rule compares them: Unicode NFKC, case-folded, thousands
    separators removed, then maximal runs of letters and digits. Punctuation, quotes, brackets,
    hyphens and white space only separate words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(_THOUSANDS.sub("", text))


def contains_answer(answer: str, gold: str) -> bool:
    """Whether the free ``answer`` holds ``gold``: the gold's words appear in the answer's words as a
    contiguous run of whole words (:func:`answer_words`).

    So ``"The pass key is 12345."`` holds ``12345``; ``"123456"`` and ``"12 345"`` do not (a key
    inside a longer number, or split, is a different number); ``"<12345>"`` and ``"12,345"`` do.
    An answer that lists several candidates holds the gold if any is it: distractor tasks count
    such answers right, as RULER's ``string_match`` does. A gold with no word never matches.
    """
    want, have = answer_words(gold), answer_words(answer)
    if not want:
        return False
    k = len(want)
    return any(have[i : i + k] == want for i in range(len(have) - k + 1))


def with_answer_mode(task: str, params: dict[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    """``params`` with ``prime`` and ``scoring`` written out, for a task that has them (others are
    returned unchanged, as is a task name that is not registered).

    A record states how its cases were asked and scored, so that re-running it does not depend on
    today's defaults. ``legacy=True`` fills the values every case had before free answers existed
    (what presets of schema 1 and 2 measured); otherwise the task's defaults.
    """
    from objectives.errors import ObjectiveError
    from objectives.registry import task_class

    try:
        fields = task_class(task).Params.model_fields
    except ObjectiveError:
        return dict(params)
    out = dict(params)
    for name in ("prime", "scoring"):
        if name in fields and name not in out:
            out[name] = LEGACY_ANSWER[name] if legacy else fields[name].default
    return out
