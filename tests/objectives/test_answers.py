"""The free-answer rule (objectives.answers.contains_answer) on tricky answers."""

from __future__ import annotations

import pytest

from objectives.answers import answer_words, contains_answer


@pytest.mark.parametrize(
    "answer, gold, expected",
    [
        # the plain cases
        ("The pass key is 12345.", "12345", True),
        ("12345", "12345", True),
        (" 12345\n", "12345", True),
        ("I don't know.", "12345", False),
        ("", "12345", False),
        # the key inside a longer number is another number
        ("The pass key is 123456.", "12345", False),
        ("The pass key is 012345", "12345", False),
        ("112345 is the key", "12345", False),
        # a key split by spaces is not the key; thousands separators are the same number
        ("The pass key is 12 345.", "12345", False),
        ("The pass key is 1 2 3 4 5", "12345", False),
        ("The pass key is 12,345.", "12345", True),
        ("1,234,567", "1234567", True),
        ("1,2345", "12345", False),
        # punctuation, brackets, quotes and markup around the key
        ("The <REGISTER_CONTENT> in line swift-kettle is <48213>.", "48213", True),
        ('The value associated with key "a1b2" is "9f3e".', "9f3e", True),
        ("**12345**", "12345", True),
        ("(12345)", "12345", True),
        # case, spacing and line breaks in a word key
        ("The pass key is 3817 Obsequious 42 QUAGMIRE.", "3817 obsequious 42 quagmire", True),
        ("3817\nobsequious   42\tquagmire", "3817 obsequious 42 quagmire", True),
        ("3817, obsequious, 42, quagmire", "3817 obsequious 42 quagmire", True),
        # words in another order, or missing, are not the key
        ("obsequious 3817 42 quagmire", "3817 obsequious 42 quagmire", False),
        ("3817 obsequious quagmire", "3817 obsequious 42 quagmire", False),
        # a word inside a longer word is not the word
        ("The phrase is feckless assiduousness upbraid", "feckless assiduous upbraid", False),
        # the model repeats the question (or the needle's lead-in) without the key
        ("What is the pass key? The pass key is", "12345", False),
        ("The special magic number for happy-jacket mentioned in the provided text is", "3780610", False),
        # a repeated prompt that does hold the key counts: the gold is in the answer
        ("The pass key is 12345. Remember it. 12345 is the pass key.", "12345", True),
        # hex and UUID-like values
        ("1f0e-22ab", "1f0e-22ab", True),
        ("1f0e22ab", "1f0e-22ab", False),
        # Unicode: full-width digits are digits (NFKC), accents are kept
        ("The key is １２３４５", "12345", True),
        ("café crème", "cafe creme", False),
        # a gold with no word never matches
        ("...", "...", False),
    ],
)
def test_contains_answer(answer, gold, expected):
    assert contains_answer(answer, gold) is expected


def test_answer_words_are_the_documented_normalisation():
    assert answer_words("The Key: <12,345>, and  'ÉTÉ'!") == ["the", "key", "12345", "and", "été"]
    assert answer_words("a_b-c") == ["a", "b", "c"]  # underscores and hyphens separate words
