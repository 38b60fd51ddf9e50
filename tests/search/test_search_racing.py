"""Racing over cases (``[pruner] kind = "racing"``) and per-case outcomes in the study.

The mechanism tests drive the real :class:`~sra_search.search.strategies.racing.Racing`,
:class:`~sra_search.search.trial.TrialRun` and Optuna's ``WilcoxonPruner`` (through
:class:`~sra_search.search.strategies.wilcoxon_pruner.RacingPruner`) on an in-memory study, with chunk outcomes
made up case by case instead of a worker's; the last test runs a racing study end to end on the
tiny model with Ray, and resumes it.
"""

from __future__ import annotations

import hashlib
import json
import re

import optuna
import pytest
from optuna.trial import TrialState

from sra_search.config import SRAConfig
from sra_search.search.baselines import Baselines, cached_outcomes, paired_scores
from sra_search.search.strategies.racing import Racing, keeps_racing
from sra_search.search.strategies.registry import make_pruner, strategy_for
from sra_search.search.strategies.wilcoxon_pruner import RacingPruner
from sra_search.search.results import best_feasible, compact_outcomes, expand_outcomes, feasible_ranked, trial_summary
from sra_search.search.studyfile.schema import StudyFileError, parse_study
from sra_search.search.trial import TrialRun

STUDY = """
name = "race"
model = "m"

[[tasks]]
name = "passkey"
params = {{ length = 128 }}
cases = {{ search = {search}, holdout = 0 }}
chunk = 2
{extra}
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}

[pruner]
{pruner}

[budget]
trials = 4
"""

RACE = 'kind = "racing"\ninitial_cases = 8\nmax_cases = 32'


def spec_of(pruner: str = RACE, search: int = 32, extra: str = ""):
    return parse_study(STUDY.format(pruner=pruner, search=search, extra=extra), "race.toml")


# ----------------------------------------------------------------------------- study file


def test_racing_fields_defaults_and_stages():
    spec = spec_of()
    assert spec.race.initial_cases == 8 and spec.race.max_cases == 32
    assert spec.race.p_threshold == 0.1 and spec.race.n_startup_steps == 2  # Optuna's defaults
    assert spec.race.stages() == [8, 16, 32]
    plain = spec_of('kind = "racing"', search=20)
    assert (plain.race.initial_cases, plain.race.max_cases, plain.race.stages()) == (8, 20, [8, 16, 20])
    tuned = spec_of('kind = "racing"\ninitial_cases = 4\np_threshold = 0.05\nn_startup_steps = 6', search=12)
    assert tuned.race.stages() == [4, 8, 12] and tuned.race.p_threshold == 0.05 and tuned.race.n_startup_steps == 6
    pruner = make_pruner(tuned)
    assert isinstance(pruner, RacingPruner) and isinstance(pruner.wilcoxon, optuna.pruners.WilcoxonPruner)
    assert spec_of('kind = "median"').race is None


@pytest.mark.parametrize(
    "pruner,search,extra,message",
    [
        (RACE, 16, "", "max_cases = 32 is above tasks[0].cases.search = 16"),
        ('kind = "racing"\ninitial_cases = 12\nmax_cases = 8', 32, "", "initial_cases = 12 is above max_cases = 8"),
        ('kind = "racing"\ninitial_cases = 8', 4, "", "initial_cases = 8 is above max_cases = 4 (max_cases defaults"),
        ('kind = "racing"\nn_warmup_steps = 2', 32, "", "n_warmup_steps: not used by kind = 'racing'"),
        ('kind = "median"\ninitial_cases = 4', 32, "", "initial_cases: only for kind = 'racing'"),
        (RACE, 32, '[objective]\ntarget = "score"\n', "needs objective.target = 'delta'"),
        (RACE, 32, '[[tasks]]\nname = "passkey"\nparams = { length = 256 }\n', "exactly one [[tasks]] (got 2)"),
        (RACE, 32, "[objective]\nperplexity_objective = true\n", "objective.perplexity_objective must be false"),
        ('kind = "racing"\np_threshold = 0.0', 32, "", "pruner.p_threshold: Input should be greater than 0"),
        ('kind = "median"\npromote = "above"', 32, "", "promote: only for kind = 'racing'"),
        ('kind = "racing"\npromote = "ahead"', 32, "", "pruner.promote: Input should be 'level' or 'above'"),
    ],
)
def test_racing_refuses_what_it_cannot_race(pruner, search, extra, message):
    with pytest.raises(StudyFileError) as err:
        spec_of(pruner, search, extra)
    text = str(err.value)
    assert message in text and text.startswith("race.toml:") and "pruner" in text, text


def test_racing_studies_made_before_later_fields_keep_their_hash():
    """Racing studies stored before ``test`` and ``promote`` existed resume: left unset, those fields
    stay out of the hash (the pinned values are what the code before ``promote`` computed)."""
    assert spec_of(RACE).definition_hash() == "b120cd0d99aaa965"
    assert spec_of(RACE + '\ntest = "sign"').definition_hash() == "a0e8a1f444ecfcf4"
    assert spec_of(RACE + '\npromote = "above"').definition_hash() != spec_of(RACE).definition_hash()
    assert spec_of(RACE).race.promote == "level" and spec_of(RACE + '\npromote = "above"').race.promote == "above"


def test_other_pruners_keep_their_definition_hash():
    """The hash of a study without racing is what it was before racing existed; racing's
    settings are part of a racing study's definition."""
    old_fields = {"model", "tasks", "search_space", "objective", "constraints", "seed", "sampler"}
    for body in ('kind = "median"', 'kind = "median"\nn_warmup_steps = 3', 'kind = "none"'):
        spec = spec_of(body)
        keep = spec.model_dump(include=old_fields)
        keep["constraints"]["attention"].pop("stop_margin")  # added later; unset, it stays out of the hash
        assert spec.definition_hash() == hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]
    assert spec_of('kind = "median"').definition_hash() == spec_of('kind = "none"').definition_hash()
    assert spec_of(RACE).definition_hash() != spec_of(RACE + "\np_threshold = 0.05").definition_hash()
    assert spec_of(RACE).definition_hash() != spec_of('kind = "median"').definition_hash()


# ----------------------------------------------------------------------------- mechanism

KEY = "passkey:0123456789:search"


def key(i: int) -> str:
    return f"{KEY}:{i}"


class Race:
    """An in-memory racing study whose trials' chunks are scored by a given list of case scores."""

    def __init__(self, baseline: list[float], pruner: str = RACE, base_signals: list[float] | None = None) -> None:
        self.spec = spec_of(pruner, search=len(baseline))
        self.keys = Baselines("m", list(self.spec.tasks), None, self.spec.race.max_cases)
        self.racing = strategy_for(self.spec, self.keys)
        assert isinstance(self.racing, Racing)
        entry = {"score": sum(baseline) / len(baseline), "case_scores": baseline, "case_keys": [key(i) for i in range(len(baseline))],
                 "higher_is_better": True, "n_cases": len(baseline), "eval_s": 0.0}  # fmt: skip
        if base_signals is not None:
            entry["case_signals"] = base_signals
        self.baselines = {self.keys.task_key(self.spec.tasks[0], "search"): entry}
        self.study = optuna.create_study(direction="maximize", pruner=make_pruner(self.spec))
        self.chunks: list[tuple[int, int]] = []

    def trial(self, scores: list[float], signals: list[float] | None = None) -> optuna.trial.FrozenTrial:
        from objectives.outcomes import Outcomes

        trial = self.study.ask()
        run = TrialRun(trial=trial, config=SRAConfig.paper_public(), slot=0, jobs=self.racing.first_jobs(SRAConfig.paper_public()), state=self.racing.new_state())
        state = None
        while run.step < len(run.jobs):
            job = run.jobs[run.step]
            self.chunks.append((job.offset, job.n_cases))
            idx = range(job.offset, job.offset + job.n_cases)
            got = tuple(float(scores[i]) for i in idx)
            out = Outcomes(task="passkey", split="search", offset=job.offset, higher_is_better=True, score=sum(got) / len(got),
                           case_ids=tuple(key(i) for i in idx), case_scores=got, prompt_tokens=(128,) * len(got),
                           case_signals=tuple(signals[i] for i in idx) if signals else ())  # fmt: skip
            run.add(job, out, self.baselines, self.keys)
            if self.racing.after_chunk(self.study, run, job, out, self.baselines):
                state = TrialState.PRUNED
                break
            run.step += 1
        run.record_outcomes(self.keys)
        self.racing.record(run)
        if state is TrialState.PRUNED:
            return self.study.tell(trial, state=state)
        return self.study.tell(trial, run.value(self.baselines, self.keys, "delta"))


BASE = [0.0] * 8 + [1.0] * 24
"""The baseline misses cases 0-7 and gets 8-31."""


def test_level_trials_double_their_cases_up_to_max_cases():
    race = Race(BASE)
    a = race.trial([1.0] * 32)  # no incumbent yet: it grows to max_cases
    assert a.state == TrialState.COMPLETE and a.user_attrs["racing"] == {"n_cases": 32, "stages": [8, 16, 32], "stop": "max_cases"}
    # One report per case, at the case's index in the search split, of its gain over the baseline's case.
    assert a.intermediate_values == {i: (1.0 if i < 8 else 0.0) for i in range(32)}
    assert a.value == pytest.approx(8 / 32)  # the mean per-case gain
    assert race.chunks == [(o, 2) for o in range(0, 32, 2)]  # chunks of `chunk`, in case order
    b = race.trial([1.0] * 32)  # level with the incumbent at every stage
    assert b.user_attrs["racing"]["stages"] == [8, 16, 32] and len(b.intermediate_values) == 32
    rec = b.user_attrs["outcomes"]["passkey"]
    assert rec == {"key": KEY, "offset": 0, "scores": [1.0] * 32}
    assert trial_summary(b)["n_cases"] == 32 and trial_summary(b)["racing"]["stop"] == "max_cases"


def test_a_clearly_worse_trial_is_pruned_before_initial_cases():
    race = Race(BASE)
    race.trial([1.0] * 32)
    bad = race.trial([0.0] * 32)  # loses every one of cases 0-7 to the incumbent
    assert bad.state == TrialState.PRUNED
    n = bad.user_attrs["racing"]["n_cases"]
    assert n < 8 and sorted(bad.intermediate_values) == list(range(n))
    assert bad.user_attrs["racing"]["stop"] == "pruned" and len(bad.user_attrs["outcomes"]["passkey"]["scores"]) == n


def test_without_a_feasible_trial_the_baseline_is_the_incumbent():
    """A study's first trials race against running without SRA (gain 0 on every case): one clearly
    worse than the baseline is pruned, one a little below it stops growing, neither gets max_cases."""
    race = Race([1.0] * 32)
    bad = race.trial([0.0] * 32)  # loses every case to the baseline
    assert bad.state == TrialState.PRUNED and bad.user_attrs["racing"]["n_cases"] < 8
    dip = race.trial([1.0] * 6 + [0.0] * 2 + [1.0] * 24)  # two losses: not significant, but below
    assert dip.state == TrialState.COMPLETE and dip.user_attrs["racing"]["stages"] == [8]
    assert dip.user_attrs["racing"]["stop"] == "below the baseline (no feasible trial at or above it yet) on its 8 cases: -0.2500 per case"
    # dip is feasible but below the baseline: the bar stays at the baseline, not at dip's -0.25.
    slip = race.trial([1.0] * 7 + [0.0] + [1.0] * 24)
    assert slip.user_attrs["racing"]["stop"].startswith("below the baseline")
    level = race.trial([1.0] * 32)  # level with the baseline: it grows
    assert level.user_attrs["racing"]["stages"] == [8, 16, 32]


def test_a_trial_below_the_incumbent_stops_growing_and_completes():
    race = Race(BASE)
    a = race.trial([1.0] * 32)
    # One case worse than the incumbent in the first stage: not significant, but below it.
    c = race.trial([1.0] * 7 + [0.0] + [1.0] * 24)
    assert c.state == TrialState.COMPLETE and c.user_attrs["racing"]["stages"] == [8]
    assert c.user_attrs["racing"]["stop"].startswith(f"below the incumbent (trial {a.number}) on the 8 cases both saw")
    assert c.value == pytest.approx(7 / 8)  # honest on its 8 cases, and higher than a's 8/32
    # The incumbent is the trial measured on the most cases, not the one with the best value on few.
    assert race.study.best_trial.number == c.number
    assert best_feasible(race.study).number == a.number
    assert [t.number for t in feasible_ranked(race.study)] == [a.number, c.number]
    # A later trial races against the incumbent (a), not against c's few lucky cases.
    d = race.trial([1.0] * 32)
    assert d.user_attrs["racing"]["stages"] == [8, 16, 32]


def test_promote_above_gives_the_next_stage_only_to_a_trial_ahead_of_the_incumbent():
    above = RACE + '\npromote = "above"'
    first = Race([1.0] * 32, above)
    tie = first.trial([1.0] * 32)  # level with the baseline on its first 8 cases: not above it
    assert tie.state == TrialState.COMPLETE and tie.user_attrs["racing"]["stages"] == [8]
    assert tie.user_attrs["racing"]["stop"] == "not above the baseline (no feasible trial at or above it yet) on its 8 cases: +0.0000 per case"
    race = Race(BASE, above)
    a = race.trial([1.0] * 32)  # fixes cases 0-7 of the baseline: above it, so it grows
    assert a.user_attrs["racing"]["stages"] == [8, 16, 32]
    b = race.trial([1.0] * 32)  # level with a at 8 cases: under "level" it would grow
    assert b.user_attrs["racing"]["stages"] == [8] and len(b.intermediate_values) == 8
    assert b.user_attrs["racing"]["stop"] == f"not above the incumbent (trial {a.number}) on the 8 cases both saw: +1.0000 vs +1.0000"
    c = race.trial([1.0] * 7 + [0.0] + [1.0] * 24)  # below a: stops under either rule, and says so
    assert c.user_attrs["racing"]["stop"].startswith(f"below the incumbent (trial {a.number})")
    assert Race(BASE).trial([1.0] * 32).user_attrs["racing"]["stages"] == [8, 16, 32]


SIGNAL = RACE + '\ntest = "signal"'


def test_racing_on_the_signal_holds_each_stage_against_the_incumbents_signal():
    race = Race(BASE, SIGNAL, base_signals=[-1.0] * 32)
    assert isinstance(race.racing.make_pruner(race.spec), optuna.pruners.NopPruner)
    assert race.racing.first_jobs(SRAConfig.paper_public())[0].signal  # the worker is asked for the signal
    a = race.trial([1.0] * 32, [-0.5] * 32)  # above the baseline's signal: grows to max_cases
    assert a.user_attrs["racing"]["stages"] == [8, 16, 32]
    assert a.user_attrs["racing"]["signals"] == {str(i): -0.5 for i in range(32)}
    b = race.trial([1.0] * 32, [-0.6] * 32)  # the same answers (level on 0/1), a lower signal: stops at 8
    assert b.user_attrs["racing"]["stages"] == [8] and len(b.intermediate_values) == 8
    assert b.user_attrs["racing"]["stop"] == (
        f"below the incumbent (trial {a.number}) on the gold signal of the 8 cases both saw: -0.6000 vs -0.5000 per case"
    )
    c = race.trial([0.0] * 8 + [1.0] * 24, [-0.4] * 32)  # loses cases 0-7 to a, a higher signal: no pruning within
    assert c.state == TrialState.COMPLETE and c.user_attrs["racing"]["stages"] == [8, 16, 32]
    # The pick is ranked on the task's score, not on the signal: a (+8/32 over the baseline) before c (0).
    assert [t.number for t in feasible_ranked(race.study)][:2] == [a.number, c.number]


def test_racing_on_the_signal_starts_against_the_baselines_and_needs_them():
    race = Race([1.0] * 32, SIGNAL, base_signals=[-1.0] * 16 + [0.0] * 16)
    low = race.trial([1.0] * 32, [-1.1] * 32)
    assert low.user_attrs["racing"]["stop"] == "below the baseline on the gold signal of the 8 cases both saw: -1.1000 vs -1.0000 per case"
    with pytest.raises(RuntimeError, match="baseline has no signals.*start a new study"):
        Race([1.0] * 32, SIGNAL).trial([1.0] * 32, [-0.5] * 32)
    with pytest.raises(RuntimeError, match="came back without its signals"):
        Race([1.0] * 32, SIGNAL, base_signals=[-1.0] * 32).trial([1.0] * 32)


@pytest.mark.parametrize(
    ("pruner", "params", "message"),
    [
        (SIGNAL + "\np_threshold = 0.05", "", "p_threshold: not used by test = 'signal'"),
        (SIGNAL + "\nn_startup_steps = 2", "", "n_startup_steps: not used by test = 'signal'"),
        (SIGNAL, ', prime = true, scoring = "teacher_forced"', "test = 'signal' needs free answers: tasks[0] ('passkey') is scored in mode 'exact'"),
    ],
)
def test_racing_on_the_signal_refuses_what_gives_no_signal(pruner, params, message):
    text = STUDY.format(pruner=pruner, search=32, extra="").replace("length = 128 }", f"length = 128{params} }}")
    with pytest.raises(StudyFileError, match=re.escape(message)):
        parse_study(text, "race.toml")
    assert spec_of(SIGNAL).definition_hash() != spec_of(RACE + '\ntest = "sign"').definition_hash()


def test_keeps_racing_is_one_rule_for_numbers_and_arrays():
    import numpy as np

    assert keeps_racing(0.0, "level") and not keeps_racing(0.0, "above")
    assert keeps_racing(0.01, "above") and not keeps_racing(-0.01, "level")
    assert keeps_racing(np.array([-1, 0, 1]), "above").tolist() == [False, False, True]
    with pytest.raises(ValueError, match="promote must be 'level' or 'above'"):
        keeps_racing(0.0, "ahead")


def test_a_trial_past_the_incumbents_cases_is_paired_on_the_shared_ones_without_warnings():
    import warnings

    from optuna.trial import create_trial

    dist = optuna.distributions.FloatDistribution(0, 1)
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params={"x": 0.5}, distributions={"x": dist}, value=1.0,
                                 intermediate_values={i: 1.0 for i in range(8)}))  # fmt: skip
    current = create_trial(params={"x": 0.5}, distributions={"x": dist}, value=0.0, state=TrialState.COMPLETE,
                           intermediate_values={i: 0.0 for i in range(12)})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RacingPruner(p_threshold=0.1, n_startup_steps=2).prune(study, current)


# ----------------------------------------------------------------------------- per-case records


def test_compact_outcomes_round_trip():
    ids = [key(i) for i in range(4, 9)]
    rec = compact_outcomes(ids, [1, 0, 1, 1, 0])
    assert rec == {"key": KEY, "offset": 4, "scores": [1.0, 0.0, 1.0, 1.0, 0.0]}
    assert expand_outcomes(rec) == (ids, [1.0, 0.0, 1.0, 1.0, 0.0])
    odd = [key(3), key(1)]
    assert compact_outcomes(odd, [0.5, 0.25]) == {"keys": odd, "scores": [0.5, 0.25]}
    assert expand_outcomes(compact_outcomes(odd, [0.5, 0.25])) == (odd, [0.5, 0.25])


def test_baselines_pair_by_case_key_and_old_entries_get_their_keys_back():
    import objectives
    from objectives.outcomes import Outcomes

    entry = {"case_scores": [1.0, 0.0, 1.0], "case_keys": [key(0), key(1), key(2)]}
    assert paired_scores(entry, [key(2), key(0)]) == [1.0, 1.0]
    with pytest.raises(ValueError, match="not measured on case"):
        paired_scores(entry, [key(5)])
    old = {"score": 2 / 3, "case_scores": [1.0, 0.0, 1.0], "higher_is_better": True, "n_cases": 3, "eval_s": 1.0}
    assert paired_scores(old, ["a", "b"]) == [1.0, 0.0]  # no keys: the split's first cases, in order
    spec = spec_of()
    task = spec.tasks[0]
    filled = Baselines.with_keys(old, task, "holdout")
    made = objectives.get("passkey", length=128)
    assert filled["case_keys"] == [made.case_key("holdout", i) for i in range(3)] and "case_keys" not in old
    like = Outcomes(task="passkey", split="holdout", offset=0, higher_is_better=True, score=1.0,
                    case_ids=tuple(filled["case_keys"][:2]), case_scores=(1.0, 1.0), prompt_tokens=(128, 128))  # fmt: skip
    assert cached_outcomes(filled, like).case_ids == tuple(filled["case_keys"])
    assert cached_outcomes(old, like).case_ids[:2] == like.case_ids  # an old entry pairs by order


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_racing_study_end_to_end_and_resume(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    url = f"sqlite:///{tmp_path / 'race.db'}"
    racing = 'kind = "racing"\ninitial_cases = 2\nmax_cases = 6'
    path = write_study(study_text(tiny_model_dir, name="tiny-race", storage=url, trials=4, search=6, chunk=2, pruner=racing))
    summary = Driver(load_study_file(path), RunOptions(holdout=False)).run()
    assert summary.trials["complete"] + summary.trials["pruned"] == 4 and summary.trials["fail"] == 0
    study = optuna.load_study(study_name="tiny-race", storage=url)
    (base_key,) = [k for k in study.user_attrs if k.startswith("baseline:passkey:search")]
    base = study.user_attrs[base_key]
    assert base["n_cases"] == 6 and len(base["case_keys"]) == 6  # measured once on max_cases
    done = study.get_trials(states=[TrialState.COMPLETE, TrialState.PRUNED])
    for t in done:
        race, rec = t.user_attrs["racing"], t.user_attrs["outcomes"]["passkey"]
        n = race["n_cases"]
        assert sorted(t.intermediate_values) == list(range(n)) == list(range(len(rec["scores"])))
        assert race["stages"] == [2, 4, 6][: len(race["stages"])] and rec["key"] + ":0" == base["case_keys"][0]
        if t.state == TrialState.COMPLETE:
            gains = [s - b for s, b in zip(rec["scores"], base["case_scores"])]
            assert t.value == pytest.approx(sum(gains) / n)
            assert t.intermediate_values == pytest.approx(dict(enumerate(gains)))
    best = best_feasible(study)
    feasible = feasible_ranked(study)
    assert best is not None and summary.best["number"] == best.number
    assert summary.best["n_cases"] == max(len(t.user_attrs["outcomes"]["passkey"]["scores"]) for t in feasible)

    # Resume with a larger budget: the baseline is reused, the race goes on against the incumbent.
    again = Driver(load_study_file(path), RunOptions(trials=6, holdout=False)).run()
    assert again.new_trials_done == 2
    study = optuna.load_study(study_name="tiny-race", storage=url)
    assert study.user_attrs[base_key] == base
    assert all("racing" in t.user_attrs for t in study.get_trials(states=[TrialState.COMPLETE, TrialState.PRUNED]))


def test_racing_on_the_signal_end_to_end(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    """Workers score the gold signal beside each free answer (baseline included) and the race holds
    each stage's end on it: through Ray, the driver and storage, on the tiny model."""
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    url = f"sqlite:///{tmp_path / 'signal.db'}"
    racing = 'kind = "racing"\ninitial_cases = 2\nmax_cases = 4\ntest = "signal"'
    path = write_study(study_text(tiny_model_dir, name="tiny-signal", storage=url, trials=3, search=4, chunk=2, pruner=racing))
    summary = Driver(load_study_file(path), RunOptions(holdout=False)).run()
    assert summary.trials["complete"] == 3 and summary.trials["fail"] == 0
    study = optuna.load_study(study_name="tiny-signal", storage=url)
    (base_key,) = [k for k in study.user_attrs if k.startswith("baseline:passkey:search")]
    signals = study.user_attrs[base_key]["case_signals"]
    assert len(signals) == 4 and all(s <= 0 for s in signals)  # log-probabilities
    for t in study.trials:
        race = t.user_attrs["racing"]
        assert sorted(int(k) for k in race["signals"]) == list(range(race["n_cases"]))
        assert race["stop"] == "max_cases" or "on the gold signal of the" in race["stop"]
