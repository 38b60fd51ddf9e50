"""LongChat line retrieval (paper Section 5.2, Fig. 6 bottom).

Lines ``line <adjective-noun>: REGISTER_CONTENT is <n>`` fill the prompt up to the target
length; the model must return the number of one line, whose position is controlled.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from objectives.base import SyntheticTask, distinct_pairs
from objectives.params import placement_params
from objectives.prompting import fit
from objectives.registry import register
from objectives.words import ADJECTIVES, NOUNS

INTRO = (
    "Below is a record of lines I want you to remember. Each line begins with 'line <line index>' and contains "
    "a '<REGISTER_CONTENT>' at the end of the line as a numerical value. For each line index, memorize its "
    "corresponding <REGISTER_CONTENT>. At the end of the record, I will ask you to retrieve the corresponding "
    "<REGISTER_CONTENT> of a certain line index. Now the record start:"
)


class LinesParams(placement_params("depth", "Relative position of the asked line")):
    value_digits: int = Field(5, ge=1, le=12, description="Digits of each REGISTER_CONTENT value.")
    max_lines: int | None = Field(None, ge=2, description="Cap on the number of lines (fewer = easier); None = fill the length.")
    template: Literal["longchat", "register"] = Field("longchat", description="'longchat': LongChat's wording; 'register': other wording.")


def _line(name: str, value: str) -> str:
    return f"line {name}: REGISTER_CONTENT is <{value}>"


@register("longchat_lines")
class LongchatLines(SyntheticTask):
    """Retrieve the REGISTER_CONTENT of one named line; exact match on the number."""

    Params = LinesParams

    def _value(self, rng) -> str:
        d = self.params.value_digits
        return str(rng.randint(10 ** (d - 1), 10**d - 1))

    def _name(self, rng) -> str:
        return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"

    def draw_gold(self, rng) -> tuple[str, Any]:
        name, value = self._name(rng), self._value(rng)
        return f"{name}={value}", (name, value)

    def make_prompt(self, tokenizer, rng, gold: Any, chat: bool) -> tuple[list[int], str, dict[str, Any]]:
        p = self.params
        name, value = gold
        depth = p.draw_placement(rng)
        # More distractors than can fit (a line is > 12 tokens); names are unique.
        upper = max(1, p.length // 12) if p.max_lines is None else p.max_lines - 1
        others = distinct_pairs(
            upper, lambda: self._name(rng), lambda: self._value(rng), name, n_keys=len(ADJECTIVES) * len(NOUNS)
        )
        intro, question, prime = INTRO, (
            f"Now the record is over. Tell me what is the <REGISTER_CONTENT> in line {name}? I need the number."
        ), f"The <REGISTER_CONTENT> in line {name} is <"
        if p.template == "register":
            intro = "Here is a register. Every line has a name and a number in angle brackets."
            question = f"End of the register. What number does line {name} hold?"
            prime = f"Line {name} holds <"

        def build(n: int) -> list[int]:
            lines = [_line(*x) for x in others[:n]]
            lines.insert(round(depth * n), _line(name, value))
            return self.render(tokenizer, intro + "\n" + "\n".join(lines) + "\n" + question, prime, chat)

        n, ids = fit(build, p.length, len(others), "distractor lines")
        return ids, value, {"depth": round(depth, 4), "lines": n + 1, "position": round(depth * n), "name": name, "lead_in": prime}
