"""The export-attempt ledger: each new plan looks at held-out cases no earlier attempt used."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
from pydantic import ValidationError

from sra_search.presets import publish
from sra_search.presets.attempts import LEDGER, LedgerError, begin_attempt, finish_attempt, read_attempts
from sra_search.presets.schema import Provenance
from tests.presets.conftest import make_preset


def test_a_new_plan_starts_past_every_case_an_earlier_attempt_used(tmp_path):
    d = tmp_path / "m" / "passkey"
    first, again = begin_attempt(d, "plan-a", holdout_span=150, transfer_span=48)
    assert (first.attempt, first.holdout_offset, first.transfer_offset, again) == (1, 0, 0, False)
    same, again = begin_attempt(d, "plan-a", holdout_span=150, transfer_span=48)
    assert again and same == first  # the same plan is the same attempt, on the same cases
    second, _ = begin_attempt(d, "plan-b", holdout_span=100, transfer_span=20)
    assert (second.attempt, second.holdout_offset, second.transfer_offset) == (2, 150, 48)
    third, _ = begin_attempt(d, "plan-c", holdout_span=10, transfer_span=0)
    assert (third.attempt, third.holdout_offset, third.transfer_offset) == (3, 250, 68)
    finish_attempt(d, 2, "published v1", version=1)
    got = read_attempts(d)
    assert [a.attempt for a in got] == [1, 2, 3] and got[1].outcome == "published v1" and got[1].version == 1
    assert got[0].outcome == "started" and got[0].version is None


def test_versions_published_before_the_ledger_count_and_their_cases_are_not_reused(tmp_path):
    # Two versions exported before attempts were recorded: the earlier of 8 cases at offset 0,
    # the later of 8 at offset 20 (offset + n_cases = 28 per length).
    publish(make_preset(), tmp_path)
    later = make_preset()
    later = later.model_copy(update={"buckets": [b.model_copy(update={"evaluation": b.evaluation.model_copy(update={"offset": 20})})
                                                 for b in later.buckets]})
    publish(later, tmp_path)
    d = tmp_path / "tiny-llama" / "passkey"
    a, _ = begin_attempt(d, "plan", holdout_span=5, transfer_span=5)
    assert (a.attempt, a.holdout_offset, a.transfer_offset) == (3, 28, 0)
    finish_attempt(d, 3, "published v3", version=3)
    publish(make_preset(notes="attempt 3"), tmp_path)  # v3, which the ledger names as attempt 3's
    b, _ = begin_attempt(d, "plan-2", holdout_span=5, transfer_span=5)
    assert (b.attempt, b.holdout_offset) == (4, 33)  # v3 is attempt 3's, not another unrecorded attempt


def test_an_unreadable_ledger_is_refused_not_reset(tmp_path):
    d = tmp_path / "m" / "t"
    begin_attempt(d, "plan", holdout_span=5, transfer_span=0)
    (d / LEDGER).write_text('{"attempts": [{"attempt": "one"}]}')
    with pytest.raises(LedgerError, match=f"{LEDGER}.*restore it from version control"):
        begin_attempt(d, "other", holdout_span=5, transfer_span=0)
    assert "one" in (d / LEDGER).read_text()  # left as it was


def _begin(args):
    d, plan = args
    return begin_attempt(Path(d), plan, holdout_span=10, transfer_span=2)[0].attempt


def test_concurrent_exports_get_distinct_attempts_and_cases(tmp_path):
    d = tmp_path / "m" / "t"
    with mp.get_context("spawn").Pool(4) as pool:
        numbers = pool.map(_begin, [(str(d), f"plan-{i}") for i in range(8)])
    assert sorted(numbers) == list(range(1, 9))
    offsets = sorted(a.holdout_offset for a in read_attempts(d))
    assert offsets == [10 * i for i in range(8)]
    assert not list(d.glob(".attempts.*"))  # no temp file left behind


def test_schema_1_has_no_attempt():
    with pytest.raises(ValidationError, match="provenance.attempt"):
        make_preset(schema_version=1, provenance=make_preset().provenance.model_copy(update={"attempt": 1}))
    assert Provenance.model_fields["attempt"].default is None


def test_the_ledger_is_readable_by_everyone_like_the_presets_beside_it(tmp_path):
    """Another user exporting into a shared registry must read the ledger (mkstemp makes 0600)."""
    begin_attempt(tmp_path, "plan-a", holdout_span=10, transfer_span=0)
    assert (tmp_path / LEDGER).stat().st_mode & 0o777 == 0o644
