"""A first look at SRA on the default model: one passkey prompt, answered with and without SRA."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import torch

from sra_search.config import SRAConfig
from sra_search.runtime.context import enable_sra
from sra_search.runtime.stats import SRAStats

_INTRO = (
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
    "I will quiz you about the important information there.\n"
)
_FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "


def passkey_prompt(tokenizer, target_tokens: int, seed: int = 0, depth: float = 0.5) -> tuple[str, str]:
    """A LandMark-style passkey prompt of about ``target_tokens`` tokens; returns (prompt, key)."""
    rng = random.Random(seed)
    key = str(rng.randint(10000, 99999))
    needle = f"The pass key is {key}. Remember it. {key} is the pass key. "
    question = "What is the pass key?"
    per_filler = len(tokenizer(_FILLER, add_special_tokens=False).input_ids)
    fixed = len(tokenizer(_INTRO + needle + question, add_special_tokens=False).input_ids) + 30
    n_fill = max(1, (target_tokens - fixed) // per_filler)
    before = int(round(n_fill * depth))
    text = _INTRO + _FILLER * before + needle + _FILLER * (n_fill - before) + "\n" + question
    messages = [{"role": "user", "content": text}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return prompt + "The pass key is", key


@dataclass
class DemoRun:
    label: str
    answer: str
    correct: bool
    seconds: float
    stats: SRAStats | None


def run_demo(model, tokenizer, config: SRAConfig, target_tokens: int = 1024, seed: int = 0) -> tuple[int, list[DemoRun]]:
    """Answer one passkey prompt greedily without SRA, then with ``config``."""
    prompt, key = passkey_prompt(tokenizer, target_tokens, seed)
    enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    n = enc.input_ids.shape[1]
    runs = []
    for label, cfg in (("baseline", None), ("SRA", config)):
        start = time.perf_counter()
        with torch.no_grad():
            if cfg is None:
                out, stats = model.generate(**enc, max_new_tokens=8, do_sample=False), None
            else:
                with enable_sra(model, cfg) as stats:
                    out = model.generate(**enc, max_new_tokens=8, do_sample=False)
        answer = tokenizer.decode(out[0, n:], skip_special_tokens=True).strip()
        runs.append(DemoRun(label, answer, key in answer, time.perf_counter() - start, stats))
    return n, runs
