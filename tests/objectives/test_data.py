"""Data-set tasks on small files written by the tests: loading, splits, prompts, scoring."""

from __future__ import annotations

import json

import pytest

import objectives
from objectives import ObjectiveError
from objectives.data import load_records, load_text

DOCS = [
    {"id": f"d{i}", "document": f"Document number {i}. " + "The river flooded the valley town. " * (5 + i), "summary": f"A flood hit town {i}."}
    for i in range(12)
]


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_load_jsonl_json_parquet_txt(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    _write_jsonl(tmp_path / "r.jsonl", recs)
    (tmp_path / "r.json").write_text(json.dumps({"data": recs}))
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "r.parquet")
    for name in ("r.jsonl", "r.json", "r.parquet"):
        assert load_records(str(tmp_path / name)) == recs
    (tmp_path / "t.txt").write_text("hello world")
    assert load_text(str(tmp_path / "t.txt")) == "hello world"
    assert load_text(str(tmp_path / "r.jsonl"), field="b") == "x\ny"


def test_directory_of_subsets(tmp_path):
    _write_jsonl(tmp_path / "trec.jsonl", [{"x": 1}])
    assert load_records(str(tmp_path), subset="trec") == [{"x": 1}]
    with pytest.raises(ObjectiveError, match="no lcc.jsonl"):
        load_records(str(tmp_path), subset="lcc")


def test_missing_file_bad_json_and_missing_field_are_clear(tmp_path):
    with pytest.raises(ObjectiveError, match="parameter 'data': no such file"):
        load_records(str(tmp_path / "nope.jsonl"))
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(ObjectiveError, match="cannot read"):
        load_records(str(tmp_path / "bad.jsonl"))
    _write_jsonl(tmp_path / "s.jsonl", [{"text": "a"}])
    with pytest.raises(ObjectiveError, match="lack field.*document"):
        objectives.get("summarization", data=str(tmp_path / "s.jsonl")).cases(None, n_cases=1)


def test_summarization_splits_truncation_and_scoring(tmp_path, tokenizer):
    path = str(_write_jsonl(tmp_path / "xsum.jsonl", DOCS))
    task = objectives.get("summarization", data=path, length=120, holdout_fraction=0.5)
    search = task.split_records("search")
    holdout = task.split_records("holdout")
    assert len(search) + len(holdout) == len(DOCS)
    assert not {i for i, _ in search} & {i for i, _ in holdout}
    cases = task.cases(tokenizer, n_cases=len(search))
    assert all(len(c.prompt_ids) <= 120 for c in cases)
    assert any(c.meta["kept_tokens"] < c.meta["document_tokens"] for c in cases)  # long ones were cut
    assert task.score_prediction(cases[0], cases[0].gold)["rougeL"] == pytest.approx(1.0)
    with pytest.raises(ObjectiveError, match="has .* cases"):
        task.cases(tokenizer, n_cases=len(search) + 1)
    # Another seed: same split membership, different order.
    other = objectives.get("summarization", data=path, length=120, seed=7).split_records("search")
    assert sorted(i for i, _ in other) == sorted(i for i, _ in search)


def test_longbench_prompt_chat_rule_and_metric(tmp_path, tokenizer):
    recs = [
        {"input": "What is the capital of France?", "context": "Paris is the capital of France. " * 50, "answers": ["Paris"], "all_classes": None, "length": 300, "_id": "q1"},
        {"input": "Who wrote Hamlet?", "context": "Hamlet was written by Shakespeare. " * 50, "answers": ["Shakespeare"], "all_classes": None, "length": 300, "_id": "q2"},
    ]
    path = _write_jsonl(tmp_path / "multifieldqa_en.jsonl", recs)
    task = objectives.get("longbench", subset="multifieldqa_en", data=str(tmp_path), length=200, holdout_fraction=0.01)
    (case,) = task.cases(tokenizer, n_cases=1)
    text = tokenizer.decode(case.prompt_ids)
    assert len(case.prompt_ids) <= 200
    assert "<|im_start|>" in text and "Read the following text and answer briefly." in text and "Question:" in text
    assert case.max_new_tokens == 64
    assert task.main_metric == "qa_f1"
    assert task.score_prediction(case, "the " + case.gold[0])["qa_f1"] == 1.0
    # Few-shot subsets go without the chat template and score only the first line.
    trec = [{"input": "How far is the moon?", "context": "Q: Who is he? Type: HUM", "answers": ["NUM"], "all_classes": ["NUM", "HUM"], "length": 10}]
    _write_jsonl(tmp_path / "trec.jsonl", trec)
    ttask = objectives.get("longbench", subset="trec", data=str(tmp_path), holdout_fraction=0.01)
    (tcase,) = ttask.cases(tokenizer, n_cases=1)
    assert "<|im_start|>" not in tokenizer.decode(tcase.prompt_ids)
    assert ttask.score_prediction(tcase, "NUM\nHUM HUM")["classification"] == 1.0
    assert ttask.score_prediction(tcase, "HUM\nNUM")["classification"] == 0.0


def test_perplexity_windows(tmp_path, tokenizer):
    (tmp_path / "wiki.txt").write_text("The quick brown fox jumps over the lazy dog. " * 400)
    task = objectives.get("perplexity", data=str(tmp_path / "wiki.txt"), length=128, last_k=32)
    cases = task.cases(tokenizer, n_cases=3)
    assert all(len(c.prompt_ids) == 128 and c.score_tokens == 32 for c in cases)
    hold = task.cases(tokenizer, split="holdout", n_cases=3)
    assert not {c.meta["start"] for c in cases} & {c.meta["start"] for c in hold}
    with pytest.raises(ObjectiveError, match="last_k"):
        objectives.get("perplexity", data="x.txt", length=100, last_k=100)
    with pytest.raises(ObjectiveError, match="fewer than one window"):
        objectives.get("perplexity", data=str(tmp_path / "wiki.txt"), length=100_000).cases(tokenizer, n_cases=1)


def test_hub_id_that_cannot_be_loaded_is_a_clear_error(monkeypatch):
    import datasets

    def boom(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", boom)
    with pytest.raises(ObjectiveError, match="cannot load hub data set 'owner/xsum'.*offline"):
        load_records("owner/xsum")
