"""Perplexity of the last K tokens of fixed-length windows of a text (paper Table 4).

The text (a ``.txt`` file, or a field of records from a file or the hub) is tokenized once
and cut into windows of ``length`` tokens; each window is one case, scored on its last
``last_k`` tokens with the whole window as context (and as SRA's prompt).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from objectives.base import Case, DatasetTask
from objectives.data import load_text
from objectives.errors import ObjectiveError
from objectives.params import TaskParams
from objectives.registry import register


class PerplexityParams(TaskParams):
    data: str = Field(description="A .txt file, a JSONL/parquet file or a hub id (e.g. 'Salesforce/wikitext').")
    text_field: str = "text"
    hub_config: str | None = Field(None, description="Config of a hub data set, e.g. 'wikitext-2-raw-v1'.")
    hub_split: str = "test"
    length: int = Field(1024, ge=16, le=1_000_000, description="Window length in tokens.")
    last_k: int = Field(200, ge=1, description="Tokens scored at the end of each window.")
    stride: int | None = Field(None, ge=1, description="Window step; None = length (windows do not overlap).")

    @model_validator(mode="after")
    def _k(self) -> "PerplexityParams":
        if self.last_k >= self.length:
            raise ValueError(f"last_k ({self.last_k}) must be smaller than length ({self.length})")
        return self


@register("perplexity")
class Perplexity(DatasetTask):
    """exp(mean NLL) of the last ``last_k`` tokens of each window; lower is better."""

    Params = PerplexityParams
    mode = "perplexity"
    main_metric = "perplexity"
    higher_is_better = False

    def load_records(self) -> list[dict[str, Any]]:
        # Records here are token windows; they need the tokenizer, so they are built in build_cases.
        return []

    def build_cases(self, tokenizer, split: str, indices: range) -> list[Case]:
        p = self.params
        key = (id(tokenizer), "windows")
        if key not in self._cache:
            text = load_text(p.data, field=p.text_field, subset=p.hub_config, hub_split=p.hub_split)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if not ids:
                raise ObjectiveError(f"parameter 'data': {p.data} holds no text")
            step = p.stride or p.length
            self._records = [
                {"id": f"tokens-{s}", "start": s, "ids": ids[s : s + p.length]}
                for s in range(0, len(ids) - p.length + 1, step)
            ]
            if not self._records:
                raise ObjectiveError(
                    f"parameter 'length': the text has {len(ids)} tokens, fewer than one window of {p.length}"
                )
            self._cache[key] = True  # type: ignore[assignment]
        return super().build_cases(tokenizer, split, indices)

    def chat(self, tokenizer) -> bool:
        return False  # raw text, no template

    def make_case(self, tokenizer, record: dict[str, Any], identity: str, chat: bool) -> Case:
        return Case(
            id=f"{self.name}/{identity}",
            prompt_ids=list(record["ids"]),
            gold=None,
            score_tokens=self.params.last_k,
            meta={"start": record["start"]},
        )
