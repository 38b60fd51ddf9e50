"""The task registry and parameter validation."""

from __future__ import annotations

import pytest

import objectives
from objectives import ObjectiveError, SyntheticTask, register
from objectives.registry import _TASKS

BUILTIN = {"passkey", "longchat_lines", "kv_retrieval", "summarization", "longbench", "perplexity"}


def test_builtin_tasks_are_registered():
    assert BUILTIN <= set(objectives.names())
    for name in BUILTIN:
        assert objectives.task_class(name).name == name


def test_unknown_task_names_close_matches():
    with pytest.raises(ObjectiveError, match=r"unknown task 'passkee'.*did you mean passkey"):
        objectives.get("passkee")


def test_bad_parameter_value_names_the_field():
    with pytest.raises(ObjectiveError, match=r"task 'passkey'.*parameter 'depth'"):
        objectives.get("passkey", depth=1.5)


def test_unknown_parameter_is_rejected_and_named():
    with pytest.raises(ObjectiveError, match=r"unknown parameter 'lenght'"):
        objectives.get("passkey", lenght=512)


def test_cross_field_check_is_reported():
    with pytest.raises(ObjectiveError, match=r"depth_min"):
        objectives.get("passkey", depth_min=0.8, depth_max=0.2)


def test_string_values_are_coerced_like_cli_input():
    task = objectives.get("passkey", length="512", depth="0.25", key_kind="words")
    assert task.params.length == 512 and task.params.depth == 0.25 and task.params.key_kind == "words"


def test_required_parameter_is_named():
    with pytest.raises(ObjectiveError, match=r"parameter 'subset'"):
        objectives.get("longbench")


def test_unknown_longbench_subset_lists_subsets():
    with pytest.raises(ObjectiveError, match=r"unknown LongBench subset 'nope'.*multifieldqa_en"):
        objectives.get("longbench", subset="nope")


def test_register_adds_a_task_and_rejects_a_second_class_under_the_same_name():
    class _Complete(SyntheticTask):
        def draw_gold(self, rng):
            return str(rng.random()), "x"

        def make_prompt(self, tokenizer, rng, gold, chat):
            return [1, 2, 3], " x", {}

    @register("_test_task")
    class _Mine(_Complete):
        pass

    try:
        assert "_test_task" in objectives.names()
        assert isinstance(objectives.get("_test_task", length=128), _Mine)
        with pytest.raises(ValueError, match="registered twice"):

            @register("_test_task")
            class _Other(_Complete):
                pass

    finally:
        _TASKS.pop("_test_task", None)


def test_a_task_that_leaves_an_abstract_method_undefined_is_refused_at_registration():
    with pytest.raises(TypeError, match="does not define draw_gold, make_prompt"):

        @register("_incomplete_task")
        class _Half(SyntheticTask):
            pass

    assert "_incomplete_task" not in objectives.names()


def test_a_generation_task_without_a_scoring_rule_is_refused():
    from objectives.base import DatasetTask

    with pytest.raises(TypeError, match="must define score_prediction"):

        class _NoScore(DatasetTask):
            mode = "generate"
