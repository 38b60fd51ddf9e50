"""LandMark-style pass-key retrieval (paper Section 5.2, Fig. 6).

A pass key is hidden at a controlled depth inside repeated filler sentences; the model is
asked for it at the end. The prompt is LandMark's (Mohtashami & Jaggi), the key is either
a number (``digits``) or, as in the paper's harder variant, words mixing numbers and rare
vocabulary (``words``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from objectives.base import SyntheticTask
from objectives.params import placement_params
from objectives.prompting import fit, sentence_cut
from objectives.registry import register
from objectives.words import RARE_WORDS

INTRO = (
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
    "I will quiz you about the important information there."
)
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
QUESTION = "What is the pass key?"
PRIME = "The pass key is"

# (intro, filler, needle with {key}, question, lead-in) per template. "landmark" is LandMark's
# prompt (the default); "notes" says the same in other words over other filler, so a gain that
# only fits one wording shows (export's transfer check).
TEMPLATES = {
    "landmark": (INTRO, FILLER, "The pass key is {key}. Remember it. {key} is the pass key.", QUESTION, PRIME),
    "notes": (
        "Below are some notes. One of them holds a pass key. Read all of them and keep the pass key in mind; "
        "you will be asked for it at the end.",
        "Tea is served at four. The train leaves at noon. The library closes early on Fridays. "
        "The garden needs water. The letters arrived late.",
        "Note: the pass key is {key}. Keep it safe.",
        "Which pass key did the notes mention?",
        "The pass key is",
    ),
}


class PasskeyParams(placement_params("depth", "Share of the filler before the key")):
    key_kind: Literal["digits", "words"] = Field("digits", description="A number, or words mixing numbers and rare words.")
    key_digits: int = Field(5, ge=1, le=30, description="Digits of a 'digits' key.")
    key_words: int = Field(4, ge=1, le=100, description="Words of a 'words' key (the paper uses 50).")
    template: Literal["landmark", "notes"] = Field("landmark", description="The prompt's wording and filler.")


def _filler_words(n: int, filler: str = FILLER) -> list[str]:
    unit = filler.split()
    return [unit[i % len(unit)] for i in range(n)]


@register("passkey")
class Passkey(SyntheticTask):
    """Retrieve a pass key hidden in filler text; exact match on the key."""

    Params = PasskeyParams

    def draw_gold(self, rng) -> tuple[str, Any]:
        p = self.params
        if p.key_kind == "digits":
            key = str(rng.randint(10 ** (p.key_digits - 1), 10**p.key_digits - 1))
        else:
            # Half numbers, half rare words, shuffled: "3817 obsequious 42 quagmire".
            parts = [str(rng.randint(10, 9999)) if i % 2 == 0 else rng.choice(RARE_WORDS) for i in range(p.key_words)]
            rng.shuffle(parts)
            key = " ".join(parts)
        return key, key

    def make_prompt(self, tokenizer, rng, gold: Any, chat: bool) -> tuple[list[int], str, dict[str, Any]]:
        p = self.params
        depth = p.draw_placement(rng)
        intro, filler, needle, question, lead_in = TEMPLATES[p.template]
        needle = needle.format(key=gold)

        def build(n: int) -> list[int]:
            words = _filler_words(n, filler)
            cut = sentence_cut(words, depth)
            body = [intro, " ".join(words[:cut]), needle, " ".join(words[cut:]), question]
            return self.render(tokenizer, "\n".join(x for x in body if x), lead_in, chat)

        n, ids = fit(build, p.length, p.length, "filler")
        return ids, " " + gold, {"depth": round(depth, 4), "filler_words": n, "key": gold, "lead_in": lead_in}
