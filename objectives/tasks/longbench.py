"""LongBench v1 (paper Section 5.4): any subset, with LongBench's prompt, length cap and metric.

Records are LongBench's JSONL (``input, context, answers, all_classes, length``), read from a
file, a directory of ``<subset>.jsonl`` files, or the hub id ``THUDM/LongBench``. As in
LongBench's ``pred.py``: the formatted prompt is truncated in the middle to fit, chat
models get their template except on the few-shot and code subsets, and generation is greedy.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import Field, field_validator

from objectives import metrics
from objectives.base import Case, DatasetTask, prompt_with_chat
from objectives.data import load_records, require_fields
from objectives.params import TaskParams
from objectives.prompting import truncate_middle, use_chat
from objectives.registry import register

# LongBench's config/dataset2prompt.json (prompts are part of the benchmark's definition).
PROMPTS: dict[str, str] = {
    "narrativeqa": "You are given a story, which can be either a novel or a movie script, and a question. Answer the question as concisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: {context}\n\nNow, answer the question based on the story as concisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:",
    "qasper": "You are given a scientific article and a question. Answer the question as concisely as you can, using a single phrase or sentence if possible. If the question cannot be answered based on the information in the article, write \"unanswerable\". If the question is a yes/no question, answer \"yes\", \"no\", or \"unanswerable\". Do not provide any explanation.\n\nArticle: {context}\n\n Answer the question based on the above article as concisely as you can, using a single phrase or sentence if possible. If the question cannot be answered based on the information in the article, write \"unanswerable\". If the question is a yes/no question, answer \"yes\", \"no\", or \"unanswerable\". Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:",
    "multifieldqa_en": "Read the following text and answer briefly.\n\n{context}\n\nNow, answer the following question based on the above text, only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:",
    "multifieldqa_zh": "阅读以下文字并用中文简短回答：\n\n{context}\n\n现在请基于上面的文章回答下面的问题，只告诉我答案，不要输出任何其他字词。\n\n问题：{input}\n回答：",
    "hotpotqa": "Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:",
    "2wikimqa": "Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:",
    "musique": "Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:",
    "dureader": "请基于给定的文章回答下述问题。\n\n文章：{context}\n\n请基于上述文章回答下面的问题。\n\n问题：{input}\n回答：",
    "gov_report": "You are given a report by a government agency. Write a one-page summary of the report.\n\nReport:\n{context}\n\nNow, write a one-page summary of the report.\n\nSummary:",
    "qmsum": "You are given a meeting transcript and a query containing a question or instruction. Answer the query in one or more sentences.\n\nTranscript:\n{context}\n\nNow, answer the query based on the above meeting transcript in one or more sentences.\n\nQuery: {input}\nAnswer:",
    "multi_news": "You are given several news passages. Write a one-page summary of all news. \n\nNews:\n{context}\n\nNow, write a one-page summary of all the news.\n\nSummary:",
    "vcsum": "下面有一段会议记录，请你阅读后，写一段总结，总结会议的内容。\n会议记录：\n{context}\n\n会议总结：",
    "trec": "Please determine the type of the question below. Here are some examples of questions.\n\n{context}\n{input}",
    "triviaqa": "Answer the question based on the given passage. Only give me the answer and do not output any other words. The following are some examples.\n\n{context}\n\n{input}",
    "samsum": "Summarize the dialogue into a few short sentences. The following are some examples.\n\n{context}\n\n{input}",
    "lsht": "请判断给定新闻的类别，下面是一些例子。\n\n{context}\n{input}",
    "passage_count": "There are some paragraphs below sourced from Wikipedia. Some of them may be duplicates. Please carefully read these paragraphs and determine how many unique paragraphs there are after removing duplicates. In other words, how many non-repeating paragraphs are there in total?\n\n{context}\n\nPlease enter the final count of unique paragraphs after removing duplicates. The output format should only contain the number, such as 1, 2, 3, and so on.\n\nThe final answer is: ",
    "passage_retrieval_en": "Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine which paragraph the abstract is from.\n\n{context}\n\nThe following is an abstract.\n\n{input}\n\nPlease enter the number of the paragraph that the abstract is from. The answer format must be like \"Paragraph 1\", \"Paragraph 2\", etc.\n\nThe answer is: ",
    "passage_retrieval_zh": "以下是若干段落文字，以及其中一个段落的摘要。请确定给定的摘要出自哪一段。\n\n{context}\n\n下面是一个摘要\n\n{input}\n\n请输入摘要所属段落的编号。答案格式必须是\"段落1\"，\"段落2\"等格式\n\n答案是：",
    "lcc": "Please complete the code given below. \n{context}Next line of code:\n",
    "repobench-p": "Please complete the code given below. \n{context}{input}Next line of code:\n",
}

# LongBench's config/dataset2maxlen.json: max new tokens per subset.
MAX_NEW_TOKENS: dict[str, int] = {
    "narrativeqa": 128, "qasper": 128, "multifieldqa_en": 64, "multifieldqa_zh": 64, "hotpotqa": 32,
    "2wikimqa": 32, "musique": 32, "dureader": 128, "gov_report": 512, "qmsum": 512, "multi_news": 512,
    "vcsum": 512, "trec": 64, "triviaqa": 32, "samsum": 128, "lsht": 64, "passage_count": 32,
    "passage_retrieval_en": 32, "passage_retrieval_zh": 32, "lcc": 64, "repobench-p": 64,
}  # fmt: skip

METRICS: dict[str, tuple[str, Callable[..., float]]] = {
    **{s: ("qa_f1", metrics.qa_f1) for s in ("narrativeqa", "qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "musique", "triviaqa")},
    "multifieldqa_zh": ("qa_f1_zh", metrics.qa_f1_zh),
    **{s: ("rouge_l", metrics.rouge_l) for s in ("gov_report", "qmsum", "multi_news", "samsum")},
    **{s: ("rouge_l_zh", metrics.rouge_l_zh) for s in ("dureader", "vcsum")},
    **{s: ("classification", metrics.classification) for s in ("trec", "lsht")},
    "passage_retrieval_en": ("retrieval", metrics.retrieval),
    "passage_retrieval_zh": ("retrieval", lambda p, r, **kw: metrics.retrieval(p, r, lang="zh")),
    "passage_count": ("count", metrics.count),
    **{s: ("code_sim", metrics.code_sim) for s in ("lcc", "repobench-p")},
}  # fmt: skip

# pred.py: chat models are better off without their template on these.
NO_CHAT = {"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"}
# eval.py: only the first line of the answer is scored on these.
FIRST_LINE = {"trec", "triviaqa", "samsum", "lsht"}


class LongBenchParams(TaskParams):
    subset: str = Field(description="LongBench v1 subset, e.g. 'multifieldqa_en', 'trec', 'lcc'.")
    data: str = Field("THUDM/LongBench", description="<subset>.jsonl file, a directory of them, or a hub id.")
    hub_split: str = "test"
    length: int = Field(3500, ge=64, le=1_000_000, description="Max prompt tokens (LongBench's max_length); the prompt is cut in the middle.")
    max_new_tokens: int | None = Field(None, ge=1, le=4096, description="None = LongBench's cap for the subset.")

    @field_validator("subset")
    @classmethod
    def _known(cls, v: str) -> str:
        v = v.removesuffix("_e")  # LongBench-E records share the prompts of their subset
        if v not in PROMPTS:
            raise ValueError(f"unknown LongBench subset '{v}' (subsets: {', '.join(sorted(PROMPTS))})")
        return v


@register("longbench")
class LongBench(DatasetTask):
    """A LongBench v1 subset with its own prompt and metric; score in [0, 1] (LongBench x100)."""

    Params = LongBenchParams
    mode = "generate"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.main_metric = METRICS[self.params.subset][0]  # type: ignore[misc]

    def load_records(self) -> list[dict[str, Any]]:
        p = self.params
        records = load_records(p.data, subset=p.subset, hub_split=p.hub_split)
        require_fields(records, ["input", "context", "answers"], p.data)
        return records

    def chat(self, tokenizer) -> bool:
        if self.params.chat is None and self.params.subset in NO_CHAT:
            return False
        return use_chat(tokenizer, self.params.chat)

    def make_case(self, tokenizer, record: dict[str, Any], identity: str, chat: bool) -> Case:
        p = self.params
        raw = PROMPTS[p.subset].format(context=record["context"], input=record["input"])
        overhead = len(prompt_with_chat(tokenizer, "", "", chat))
        raw = truncate_middle(tokenizer, raw, max(1, p.length - overhead))
        ids = prompt_with_chat(tokenizer, raw, "", chat)
        # Decoding and re-encoding at the cut can merge tokens differently: trim until it fits.
        while len(ids) > p.length:
            raw = truncate_middle(tokenizer, raw, max(1, len(tokenizer(raw, add_special_tokens=False)["input_ids"]) - 2))
            ids = prompt_with_chat(tokenizer, raw, "", chat)
        return Case(
            id=f"{self.name}/{p.subset}/{identity}",
            prompt_ids=ids,
            gold=[str(a) for a in record["answers"]],
            max_new_tokens=p.max_new_tokens or MAX_NEW_TOKENS[p.subset],
            meta={"all_classes": record.get("all_classes") or [], "length": record.get("length")},
        )

    def stop_strings(self) -> list[str]:
        # pred.py stops samsum at a newline (the model otherwise repeats "\nDialogue").
        return ["\n"] if self.params.subset == "samsum" else []

    def score_prediction(self, case: Case, prediction: str) -> dict[str, float]:
        if self.params.subset in FIRST_LINE:
            prediction = prediction.lstrip("\n").split("\n")[0]
        name, fn = METRICS[self.params.subset]
        best = max((fn(prediction, ans, all_classes=case.meta["all_classes"]) for ans in case.gold), default=0.0)
        return {name: float(best)}
