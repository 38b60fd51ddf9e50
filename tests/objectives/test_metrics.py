"""Metric functions against values computed by hand."""

from __future__ import annotations

import math

import pytest

from objectives import metrics as m


def test_normalize_answer_drops_case_punctuation_articles():
    assert m.normalize_answer("The  Eiffel Tower, in Paris!") == "eiffel tower in paris"


def test_qa_f1_by_hand():
    # prediction tokens {cat, sat}, reference {cat, sat, down}: P = 1, R = 2/3, F1 = 0.8
    assert m.qa_f1("The cat sat.", "a cat sat down") == pytest.approx(0.8)
    assert m.qa_f1("dog", "cat") == 0.0
    # Repeated tokens count as a multiset: pred {a1, a1}, ref {a1}: P = 1/2, R = 1, F1 = 2/3
    assert m.qa_f1("x x", "x") == pytest.approx(2 / 3)


def test_qa_f1_zh_by_hand():
    # jieba splits "我爱北京" into 我 / 爱 / 北京; reference "北京" matches one of three words.
    assert m.qa_f1_zh("我爱北京", "北京") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_rouge_by_hand():
    r = m.rouge("the cat sat", "the cat sat on the mat", stem=False)
    # unigrams: 3 of 3 predicted match, 3 of 6 reference covered -> F = 2/3
    assert r["rouge1"] == pytest.approx(2 / 3)
    # bigrams: 2 of 2 / 2 of 5 -> F = 2 * 1 * 0.4 / 1.4
    assert r["rouge2"] == pytest.approx(0.8 / 1.4)
    assert r["rougeL"] == pytest.approx(2 / 3)
    assert m.rouge("", "the cat")["rougeL"] == 0.0


def test_rouge_stemming_matches_word_forms():
    assert m.rouge("cats running", "cat runs", stem=True)["rouge1"] == pytest.approx(1.0)
    assert m.rouge("cats running", "cat runs", stem=False)["rouge1"] == 0.0


def test_rouge_l_zh_keeps_chinese_tokens():
    # rouge-score's default tokenizer would drop every CJK character and score 0.
    assert m.rouge_l_zh("今天 开会", "今天开会") > 0.5
    assert m.rouge_l_zh("", "今天") == 0.0


def test_classification_by_hand():
    classes = ["LOC", "NUM", "ENTY", "Location name"]
    assert m.classification("Type: NUM", "NUM", all_classes=classes) == 1.0
    assert m.classification("NUM or LOC", "NUM", all_classes=classes) == 0.5
    assert m.classification("LOC", "NUM", all_classes=classes) == 0.0
    # "LOC" is not a substring of "Location name" (case differs): only the gold class is named.
    assert m.classification("Location name", "Location name", all_classes=classes) == 1.0


def test_classification_ignores_a_class_contained_in_the_gold_class():
    classes = ["city", "city name"]
    assert m.classification("city name", "city name", all_classes=classes) == 1.0


def test_retrieval_and_count_by_hand():
    assert m.retrieval("Paragraph 3", "Paragraph 3") == 1.0
    assert m.retrieval("Paragraph 3 or Paragraph 5", "Paragraph 3") == 0.5
    assert m.retrieval("no idea", "Paragraph 3") == 0.0
    assert m.retrieval("段落7", "段落7", lang="zh") == 1.0
    assert m.count("There are 12 unique paragraphs, not 13", "12") == 0.5
    assert m.count("twelve", "12") == 0.0


def test_code_sim_takes_the_first_code_line():
    assert m.first_code_line("\n# comment\n```python\nx = 1\ny = 2") == "x = 1"
    # "abcd" vs "abce": 3 matching characters of 8 -> 2 * 3 / 8
    assert m.edit_similarity("abcd", "abce") == pytest.approx(0.75)
    assert m.code_sim("// c\nabcd", "abce") == pytest.approx(0.75)
    assert m.code_sim("x = 1", "x = 1") == 1.0


def test_perplexity():
    assert m.perplexity(2 * math.log(3), 2) == pytest.approx(3.0)
    assert math.isnan(m.perplexity(0.0, 0))
