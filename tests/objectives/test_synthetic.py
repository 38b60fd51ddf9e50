"""Synthetic tasks: determinism, chunking, split disjointness, length fitting, prompt structure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import objectives
from objectives import ObjectiveError
from objectives.splits import split_of

SYNTHETIC = ["passkey", "longchat_lines", "kv_retrieval", "niah"]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_cases_are_deterministic_and_seeded(tokenizer, name):
    a = objectives.get(name, length=256).cases(tokenizer, n_cases=3)
    b = objectives.get(name, length=256).cases(tokenizer, n_cases=3)
    c = objectives.get(name, length=256, seed=1).cases(tokenizer, n_cases=3)
    assert [x.prompt_ids for x in a] == [x.prompt_ids for x in b]
    assert [x.gold for x in a] == [x.gold for x in b]
    assert [x.gold for x in a] != [x.gold for x in c]
    assert len({x.id for x in a + c}) == 6


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_chunk_is_the_same_cases_as_a_slice(tokenizer, name):
    task = objectives.get(name, length=200)
    whole = task.cases(tokenizer, n_cases=6)
    fresh = objectives.get(name, length=200)  # no shared cache
    chunk = fresh.cases(tokenizer, n_cases=3, offset=2)
    assert [c.id for c in chunk] == [c.id for c in whole[2:5]]
    assert [c.prompt_ids for c in chunk] == [c.prompt_ids for c in whole[2:5]]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_search_and_holdout_never_share_a_case(name):
    # Identities only (no prompt rendering): 300 draws per split over three seeds.
    task = objectives.get(name, length=128)
    from objectives.splits import case_rng

    seen = {"search": set(), "holdout": set()}
    for split in seen:
        for seed in range(3):
            for i in range(100):
                rng = case_rng(name, seed, split, i)
                while True:
                    ident, _ = task.draw_gold(rng)
                    if split_of(name, ident, task.params.holdout_fraction) == split:
                        break
                seen[split].add(ident)
    assert len(seen["search"]) > 250 and len(seen["holdout"]) > 250
    assert not seen["search"] & seen["holdout"]


def test_split_assignment_ignores_seed_and_follows_the_fraction():
    idents = [str(i) for i in range(4000)]
    share = sum(split_of("passkey", x, 0.25) == "holdout" for x in idents) / len(idents)
    assert 0.22 < share < 0.28


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(min_value=260, max_value=700), seed=st.integers(0, 10_000), name=st.sampled_from(SYNTHETIC))
def test_prompt_fits_the_target_length(tokenizer, length, seed, name):
    case = objectives.get(name, length=length, seed=seed).cases(tokenizer, n_cases=1)[0]
    # The filler unit is a word (passkey) or a line/pair: at most ~25 tokens are left unused.
    assert length - 25 <= len(case.prompt_ids) <= length


@pytest.mark.parametrize("name", SYNTHETIC)
def test_answer_tokens_spell_the_gold_and_the_prompt_primes_it(tokenizer, name):
    for case in objectives.get(name, length=300, prime=True).cases(tokenizer, n_cases=3):
        assert tokenizer.decode(case.answer_ids).strip() == case.gold
        text = tokenizer.decode(case.prompt_ids)
        assert case.gold in text  # the needle is in the context
        assert text.rstrip().endswith(("The pass key is", "is <", 'is "', "provided text is"))


def test_passkey_depth_places_the_key(tokenizer):
    for depth, lo, hi in [(0.0, 0.0, 0.15), (0.5, 0.4, 0.6), (1.0, 0.85, 1.0)]:
        case = objectives.get("passkey", length=800, depth=depth).cases(tokenizer, n_cases=1)[0]
        text = tokenizer.decode(case.prompt_ids)
        body_start = text.index("There is an important info")
        body_end = text.index("What is the pass key?")
        where = (text.index(f"The pass key is {case.gold}") - body_start) / (body_end - body_start)
        assert lo <= where <= hi, (depth, where)


def test_passkey_word_keys_mix_numbers_and_rare_words(tokenizer):
    case = objectives.get("passkey", length=300, key_kind="words", key_words=6).cases(tokenizer, n_cases=1)[0]
    parts = case.gold.split()
    assert len(parts) == 6 and sum(p.isdigit() for p in parts) == 3


def test_longchat_line_position_and_count(tokenizer):
    case = objectives.get("longchat_lines", length=600, depth=0.0).cases(tokenizer, n_cases=1)[0]
    text = tokenizer.decode(case.prompt_ids)
    lines = [l for l in text.splitlines() if l.startswith("line ")]
    assert len(lines) == case.meta["lines"] > 10
    assert lines[0].endswith(f"<{case.gold}>")
    capped = objectives.get("longchat_lines", length=600, max_lines=5).cases(tokenizer, n_cases=1)[0]
    assert capped.meta["lines"] == 5


def test_kv_gold_position(tokenizer):
    import json

    case = objectives.get("kv_retrieval", length=600, position=1.0).cases(tokenizer, n_cases=1)[0]
    text = tokenizer.decode(case.prompt_ids)
    data = json.loads(text[text.index("{") : text.index("}") + 1])
    assert list(data.values())[-1] == case.gold and len(data) == case.meta["pairs"]
    uuid = objectives.get("kv_retrieval", length=600, key_chars=32).cases(tokenizer, n_cases=1)[0]
    assert uuid.meta["key"].count("-") == 4


def test_too_short_length_is_a_clear_error(tokenizer):
    with pytest.raises(ObjectiveError, match="parameter 'length'"):
        objectives.get("longchat_lines", length=64).cases(tokenizer, n_cases=1)


def test_shortest_length_is_the_first_length_every_case_builds_at(tokenizer):
    from objectives.errors import PromptTooShortError
    from objectives.lengths import shortest_length

    start = shortest_length("longchat_lines", {"seed": 0}, tokenizer, split="holdout", n_cases=5, at_least=64)
    assert start > 64
    assert len(objectives.get("longchat_lines", length=start).cases(tokenizer, "holdout", 5)) == 5
    with pytest.raises(PromptTooShortError) as short:
        objectives.get("longchat_lines", length=start - 1).cases(tokenizer, "holdout", 5)
    assert short.value.length == start - 1 and short.value.needed == start
    assert shortest_length("passkey", {}, tokenizer, split="holdout", n_cases=5, at_least=256) == 256


def test_chat_template_fallback(tokenizer, plain_tokenizer):
    chat = objectives.get("passkey", length=200).cases(tokenizer, n_cases=1)[0]
    plain = objectives.get("passkey", length=200).cases(plain_tokenizer, n_cases=1)[0]
    assert "<|im_start|>" in tokenizer.decode(chat.prompt_ids)
    assert "<|im_start|>" not in plain_tokenizer.decode(plain.prompt_ids)
    assert chat.gold == plain.gold
    with pytest.raises(ObjectiveError, match="parameter 'chat'.*no chat template"):
        objectives.get("passkey", length=200, chat=True).cases(plain_tokenizer, n_cases=1)
    forced_plain = objectives.get("passkey", length=200, chat=False).cases(tokenizer, n_cases=1)[0]
    assert "<|im_start|>" not in tokenizer.decode(forced_plain.prompt_ids)


def test_bad_split_is_rejected(tokenizer):
    with pytest.raises(ObjectiveError, match="unknown split 'train'"):
        objectives.get("passkey", length=200).cases(tokenizer, split="train", n_cases=1)
