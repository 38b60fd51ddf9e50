"""XSum-style summarization (paper Section 5.3): greedy summary of a document, ROUGE vs the reference.

The paper judged with GPT-4; here the score is ROUGE (``rouge-score``, stemmed F-measure),
the standard automatic metric for XSum. Records need a document and a summary field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from objectives.base import Case, DatasetTask, prompt_with_chat
from objectives.data import load_records, require_fields
from objectives.metrics import rouge
from objectives.params import TaskParams
from objectives.prompting import fit
from objectives.registry import register

DEFAULT_PROMPT = "Summarize the following article in one sentence.\n\nArticle:\n{document}\n\nOne-sentence summary:"


class SummarizationParams(TaskParams):
    data: str = Field(description="JSONL/JSON/parquet file of records, or a hub id such as 'EdinburghNLP/xsum'.")
    hub_config: str | None = Field(None, description="Config name of a hub data set.")
    hub_split: str = Field("test", description="Split of a hub data set to read.")
    document_field: str = "document"
    summary_field: str = "summary"
    length: int = Field(2048, ge=64, le=1_000_000, description="Max prompt tokens; longer documents are cut at the end.")
    max_new_tokens: int = Field(64, ge=1, le=4096, description="Cap on the generated summary.")
    metric: Literal["rouge1", "rouge2", "rougeL"] = Field("rougeL", description="Main metric.")
    prompt: str = Field(DEFAULT_PROMPT, description="User prompt; must contain {document}.")

    @field_validator("prompt")
    @classmethod
    def _has_document(cls, v: str) -> str:
        if "{document}" not in v:
            raise ValueError("must contain the placeholder {document}")
        return v


@register("summarization")
class Summarization(DatasetTask):
    """Greedy one-sentence summary; ROUGE-1/2/L F against the reference summary."""

    Params = SummarizationParams
    mode = "generate"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.main_metric = self.params.metric  # type: ignore[misc]

    def load_records(self) -> list[dict[str, Any]]:
        p = self.params
        records = load_records(p.data, subset=p.hub_config, hub_split=p.hub_split)
        require_fields(records, [p.document_field, p.summary_field], p.data)
        return records

    def make_case(self, tokenizer, record: dict[str, Any], identity: str, chat: bool) -> Case:
        p = self.params
        doc_ids = tokenizer(str(record[p.document_field]), add_special_tokens=False)["input_ids"]

        def build(n: int) -> list[int]:
            doc = tokenizer.decode(doc_ids[:n], skip_special_tokens=True)
            return prompt_with_chat(tokenizer, p.prompt.format(document=doc), "", chat)

        n, ids = fit(build, p.length, len(doc_ids), "the document")
        return Case(
            id=f"{self.name}/{identity}",
            prompt_ids=ids,
            gold=str(record[p.summary_field]),
            max_new_tokens=p.max_new_tokens,
            meta={"document_tokens": len(doc_ids), "kept_tokens": n},
        )

    def score_prediction(self, case: Case, prediction: str) -> dict[str, float]:
        return rouge(prediction.strip(), case.gold, stem=True)
