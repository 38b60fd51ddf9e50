"""Key-value retrieval from a JSON object (lost-in-the-middle, Liu et al. 2023).

Random hex keys and values fill a JSON object up to the target length; the model returns
the value of one key, whose position in the object is controlled.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from objectives.base import SyntheticTask, distinct_pairs
from objectives.params import placement_params
from objectives.prompting import fit
from objectives.registry import register

INTRO = "Extract the value corresponding to the specified key in the JSON object below."


class KVParams(placement_params("position", "Relative position of the gold pair")):
    key_chars: int = Field(8, ge=2, le=64, description="Hex characters of each key (32 = UUID, as in the paper's source).")
    value_chars: int = Field(8, ge=1, le=64, description="Hex characters of each value.")
    max_pairs: int | None = Field(None, ge=2, description="Cap on the number of pairs (fewer = easier); None = fill the length.")
    template: Literal["json", "table"] = Field("json", description="'json': the paper's JSON object; 'table': 'key -> value' lines, other wording.")


def _hex(rng, n: int) -> str:
    s = "".join(rng.choice("0123456789abcdef") for _ in range(n))
    # 32 characters read as a UUID, like the original task's keys.
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}" if n == 32 else s


@register("kv_retrieval")
class KVRetrieval(SyntheticTask):
    """Return the value of one key of a JSON object; exact match on the value."""

    Params = KVParams

    def draw_gold(self, rng) -> tuple[str, Any]:
        key, value = _hex(rng, self.params.key_chars), _hex(rng, self.params.value_chars)
        return f"{key}={value}", (key, value)

    def make_prompt(self, tokenizer, rng, gold: Any, chat: bool) -> tuple[list[int], str, dict[str, Any]]:
        p = self.params
        key, value = gold
        pos = p.draw_placement(rng)
        upper = max(1, p.length // 8) if p.max_pairs is None else p.max_pairs - 1
        others = distinct_pairs(upper, lambda: _hex(rng, p.key_chars), lambda: _hex(rng, p.value_chars), key)
        prime = f'The value associated with key "{key}" is "'

        def build(n: int) -> list[int]:
            pairs = list(others[:n])
            pairs.insert(round(pos * n), (key, value))
            if p.template == "table":
                rows = "\n".join(f"{k} -> {v}" for k, v in pairs)
                user = f"Each line below maps a code to a value.\n\n{rows}\n\nWhich value does the code {key} map to?"
            else:
                data = json.dumps(dict(pairs), indent=1)
                user = f"{INTRO}\n\nJSON data:\n{data}\n\nKey: \"{key}\"\nCorresponding value:"
            return self.render(tokenizer, user, prime if p.template == "json" else f"The code {key} maps to", chat)

        n, ids = fit(build, p.length, len(others), "distractor pairs")
        lead_in = prime if p.template == "json" else f"The code {key} maps to"
        answer = value if p.template == "json" else " " + value
        return ids, answer, {"position": round(pos, 4), "pairs": n + 1, "index": round(pos * n), "key": key, "lead_in": lead_in}
