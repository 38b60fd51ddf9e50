"""A published bucket covers the prompts that showed its gain (ranges are chosen in task lengths;
a task length L makes prompts of up to L tokens)."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sra_search.presets import Preset
from sra_search.presets.schema import PromptTokens
from sra_search.search.decisions.bucket_range import covering_ranges
from tests.presets.conftest import make_preset

V5 = Path(__file__).resolve().parents[2] / "presets" / "smollm2-135m" / "passkey" / "v5.json"


def _with_prompts(bucket, lo: int, hi: int):
    metrics = bucket.metrics.model_copy(update={"prompt_tokens": PromptTokens(min=lo, mean=(lo + hi) / 2, max=hi)})
    return bucket.model_copy(update={"metrics": metrics})


def test_a_range_chosen_in_task_lengths_is_widened_to_its_measured_prompts():
    short, long = make_preset().buckets  # [0, 60] and [61, 200]
    # One task length (200) whose prompts have 199 tokens: the bucket [200, 200] would miss them all.
    [b] = covering_ranges([_with_prompts(long.model_copy(update={"min_tokens": 200}), 199, 199)])
    assert (b.min_tokens, b.max_tokens) == (199, 200) and b.contains(199)
    # Prompts already inside: unchanged.
    [same] = covering_ranges([_with_prompts(long, 70, 190)])
    assert (same.min_tokens, same.max_tokens) == (61, 200)


def test_widening_never_reaches_into_the_bucket_below():
    short, long = make_preset().buckets
    a, b = covering_ranges([_with_prompts(short, 10, 60), _with_prompts(long, 55, 199)])
    assert (a.min_tokens, a.max_tokens) == (0, 60)
    assert (b.min_tokens, b.max_tokens) == (61, 200)  # its prompts of 55-60 tokens go to the bucket below


def test_a_preset_that_gains_must_cover_its_held_out_prompts():
    data = json.loads(V5.read_text())
    assert Preset.model_validate(data).buckets[0].contains(4095)  # the shipped file covers them
    data["buckets"][0]["min_tokens"] = 4096  # as the export wrote it before covering_ranges
    with pytest.raises(ValidationError, match=r"held-out prompts have 4095-4095 tokens, outside the range"):
        Preset.model_validate(data)
    data["beats_baseline"] = False  # a finding is not served: older findings stay readable
    Preset.model_validate(data)
