"""Objective and constraint arithmetic, and the Optuna wiring of constraints (no model)."""

from __future__ import annotations

import hashlib
import json
import math

import optuna
import pytest

from sra_search.search import objective as obj
from sra_search.runtime.stats import SRASummary
from sra_search.search.results import best_feasible
from sra_search.search.studyfile.schema import AttentionConstraint, Constraints, PerplexityConstraint


def test_task_value_delta_and_direction():
    assert obj.task_value([1, 0, 1, 1], [1, 1, 0, 0, 9], "delta", True) == pytest.approx(0.25)
    assert obj.task_value([1, 0], None, "score", True) == 0.5
    assert obj.task_value([20.0], [10.0], "delta", False) == -10.0  # perplexity-like: lower is better
    with pytest.raises(ValueError):
        obj.task_value([1, 1, 1], [1], "delta", True)
    assert obj.combine([(1.0, 0.5), (3.0, 1.0)]) == pytest.approx(0.875)


def test_chunk_stats_merge_weights_by_edited_rows():
    parts = [
        SRASummary(edited_rows=10, examined_rows=100, accumulated_attention_mean=1.2, accumulated_attention_p95=1.3),
        SRASummary(edited_rows=30, examined_rows=100, accumulated_attention_mean=1.4, accumulated_attention_p95=1.6),
        SRASummary(edited_rows=0, examined_rows=50),
        None,  # a chunk without statistics adds nothing
    ]
    st = SRASummary.merge(parts)
    assert st.accumulated_attention_mean == pytest.approx((12 + 42) / 40)
    assert st.edited_share == pytest.approx(40 / 250)
    assert st.accumulated_attention_p95 == 1.6
    # Nothing edited: the attention constraint reads 1.0 (rows sum to 1).
    c = Constraints(attention=AttentionConstraint())
    vals = obj.constraint_values(c, perplexity_ratio=None, stats=SRASummary.merge([]))
    assert vals["attention_low"] == pytest.approx(1.1 - 1.0) and vals["attention_high"] == pytest.approx(1.0 - 1.4)
    assert obj.constraint_values(c, perplexity_ratio=None, stats=None) == vals


def test_constraint_values():
    c = Constraints(perplexity=PerplexityConstraint(max_ratio=1.1, params={}), attention=AttentionConstraint(), min_edited_share=0.2)
    st = SRASummary.merge([SRASummary(edited_rows=5, examined_rows=10, accumulated_attention_mean=1.5)])
    vals = obj.constraint_values(c, perplexity_ratio=1.05, stats=st)
    assert vals["perplexity_ratio"] == pytest.approx(-0.05)
    assert vals["attention_low"] == pytest.approx(1.1 - 1.5)
    assert vals["attention_high"] == pytest.approx(0.1)
    assert vals["edited_share"] == pytest.approx(0.2 - 0.5)
    assert not obj.is_feasible(vals)
    assert obj.constraint_values(c, perplexity_ratio=math.inf, stats=st)["perplexity_ratio"] > 1e5


def test_trial_stats_record_reads_back_and_old_records_still_read():
    st = SRASummary.merge([SRASummary(edited_rows=5, examined_rows=10, accumulated_attention_mean=1.5,
                                      inactive_sequences=1, inactive_reasons=("too short",))])  # fmt: skip
    assert SRASummary.from_dict(st.to_dict()) == st
    # A trial recorded before SRASummary (SraStatsTotal.to_dict): same numbers, no inactive fields.
    old = {"edited_rows": 0, "examined_rows": None, "edited_share": None, "accumulated_attention_mean": 1.0,
           "accumulated_attention_p95": None}  # fmt: skip
    back = SRASummary.from_dict(old)
    assert back.edited_rows == 0 and back.examined_rows == 0 and back.edited_share is None


def test_infeasible_trial_is_never_best_with_set_constraint():
    """The API the driver uses: Optuna 5's trial.set_constraint, read by study.best_trial and TPE."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=2))
    for value, violation in [(10.0, 0.5), (1.0, -0.1), (2.0, -0.2), (99.0, 0.01)]:
        t = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        t.set_constraint("attention_high", violation)
        study.tell(t, value)
    assert study.best_trial.value == 2.0
    assert best_feasible(study).value == 2.0
    t = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})  # TPE with constraints samples fine
    study.tell(t, 0.0)


def test_retry_once_keeps_params_not_results():
    from optuna.trial import TrialState

    from sra_search.search.storage.rdb import RETRY

    study = optuna.create_study(direction="maximize")
    t = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    t.set_constraint("attention_high", 0.3)  # the driver died between set_constraint and tell
    t.set_user_attr("sra", {"x": 1})
    t.set_user_attr("fail_reason", "worker died")
    failed = study.tell(t, state=TrialState.FAIL)
    RETRY(study, failed)
    waiting = study.get_trials(states=[TrialState.WAITING])
    assert waiting and waiting[0].params == failed.params
    assert waiting[0].constraints == {} and "fail_reason" not in waiting[0].user_attrs
    assert waiting[0].system_attrs["failed_trial"] == failed.number
    # The retry of a retry is not enqueued (max_retry=1).
    retry = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    again = study.tell(retry, state=TrialState.FAIL)
    n_waiting = len(study.get_trials(states=[TrialState.WAITING]))
    RETRY(study, again)
    assert len(study.get_trials(states=[TrialState.WAITING])) == n_waiting


def test_min_edited_share_with_nothing_examined_is_infeasible_not_an_error():
    # Both loops off (or every prompt too short): no row examined, so nothing edited.
    from sra_search.search.objective import constraint_values
    from sra_search.search.studyfile.schema import Constraints

    stats = SRASummary.merge([SRASummary(edited_rows=0, examined_rows=0)])
    out = constraint_values(Constraints(min_edited_share=0.01, attention=None), perplexity_ratio=None, stats=stats)
    assert out == {"edited_share": 0.01}


def _att(mean: float | None, edited: int = 10) -> SRASummary:
    return SRASummary(edited_rows=edited, examined_rows=100, accumulated_attention_mean=mean)


def test_band_stop_only_outside_the_band_by_more_than_the_margin():
    band = Constraints(attention=AttentionConstraint(low=1.1, high=1.4, stop_margin=0.02))
    assert obj.band_stop(band, _att(1.07), 4) == (
        "attention band: 1.070 after 4 cases, outside 1.1-1.4 by more than stop_margin 0.02")
    assert obj.band_stop(band, _att(1.43), 4).startswith("attention band: 1.430 after 4 cases")
    for inside in (1.09, 1.1, 1.25, 1.4, 1.41):  # inside, or outside by no more than the margin
        assert obj.band_stop(band, _att(inside), 4) is None, inside
    assert obj.band_stop(band, _att(None, edited=0), 4) is None  # nothing edited yet: no evidence either way
    unset = Constraints(attention=AttentionConstraint(low=1.1, high=1.4))
    assert obj.band_stop(unset, _att(1.0), 4) is None  # no stop_margin: every trial runs its cases
    assert obj.band_stop(Constraints(attention=None), _att(1.0), 4) is None
    assert obj.outside_band(1.05, 1.1, 1.4, 0.0) and not obj.outside_band(1.05, 1.1, 1.4, 0.05)


def test_stop_margin_is_checked_and_left_out_of_the_hash_when_unset():
    from sra_search.search.studyfile.schema import StudyFileError, parse_study

    base = 'name = "s"\nmodel = "m"\n[[tasks]]\nname = "passkey"\n[search_space]\ntau_in = { low = 0.1, high = 1.0 }\n[budget]\ntrials = 2\n'
    plain = parse_study(base, "s.toml")
    explicit = parse_study(base + "[constraints]\nattention = { low = 1.1, high = 1.4 }\n", "s.toml")
    margin = parse_study(base + "[constraints]\nattention = { low = 1.1, high = 1.4, stop_margin = 0.02 }\n", "s.toml")
    # Unset, the margin is not in the definition: studies stored before it existed resume.
    keep = plain.model_dump(include={"model", "tasks", "search_space", "objective", "constraints", "seed", "sampler"})
    keep["constraints"]["attention"].pop("stop_margin")
    assert plain.definition_hash() == explicit.definition_hash() == hashlib.sha256(
        json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]
    assert margin.definition_hash() != plain.definition_hash()  # it changes which cases a trial sees
    with pytest.raises(StudyFileError, match="stop_margin"):
        parse_study(base + "[constraints]\nattention = { stop_margin = -0.1 }\n", "s.toml")
