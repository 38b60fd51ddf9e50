"""Every sampler kind of the schema works under ask-and-tell with Optuna's constraint API."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sra_search.search.strategies.registry import make_pruner
from sra_search.search.tuning import samplers, space
from sra_search.search.studyfile.schema import parse_study

BASE = """
name = "s"
model = "m"
seed = 1
[[tasks]]
name = "passkey"
[search_space]
tau_in = {tau}
s_in = {s}
c_e = {{ choices = [16, 50] }}
outer = {{ choices = [true, false] }}
[budget]
trials = 4
"""


def _run(spec, n: int) -> optuna.Study:
    study = optuna.create_study(
        sampler=samplers.make_sampler(spec), pruner=make_pruner(spec), directions=samplers.directions(spec)
    )
    dists = space.distributions(spec.search_space)
    for _ in range(n):
        t = study.ask(dists)
        cfg = space.to_config(spec.search_space, t.params)  # every sample is a valid SRAConfig
        t.set_constraint("attention_high", cfg.s_in - 4.0)  # feasible iff s_in <= 4
        values = [cfg.tau_in] if not spec.multi_objective else [cfg.tau_in, cfg.s_in]
        study.tell(t, values)
    return study


@pytest.mark.parametrize("kind", ["tpe", "gp", "random", "nsga2"])
def test_samplers_with_constraints(kind):
    text = BASE.format(tau='{ low = 0.1, high = 2.0, log = true }', s='{ low = 1.0, high = 8.0 }')
    extra = {"tpe": "n_startup_trials = 3", "gp": "n_startup_trials = 3", "random": "", "nsga2": "population_size = 4"}[kind]
    spec = parse_study(text + f'[sampler]\nkind = "{kind}"\n{extra}\n')
    study = _run(spec, 8)
    assert len(study.get_trials(states=[TrialState.COMPLETE])) == 8
    feasible = [t for t in study.trials if all(v <= 0 for v in t.constraints.values())]
    if feasible:
        assert study.best_trial.number in {t.number for t in feasible}


def test_grid_sampler_under_ask_and_tell():
    text = BASE.format(tau="{ choices = [0.1, 0.5, 1.0] }", s="{ fixed = 5.0 }").replace(
        "c_e = { choices = [16, 50] }\nouter = { choices = [true, false] }\n", ""
    )
    spec = parse_study(text + '[sampler]\nkind = "grid"\n')
    study = _run(spec, 3)  # Optuna's GridSampler would raise from study.stop() here
    assert sorted(t.params["tau_in"] for t in study.trials) == [0.1, 0.5, 1.0]
    assert study.sampler.is_exhausted(study)


def test_nsga2_two_objectives():
    text = BASE.format(tau="{ low = 0.1, high = 2.0 }", s="{ low = 1.0, high = 8.0 }")
    spec = parse_study(
        text
        + '[objective]\nperplexity_objective = true\n[constraints]\nperplexity = { max_ratio = 1.2, params = { data = "x.txt" } }\n'
        + '[sampler]\nkind = "nsga2"\npopulation_size = 4\n'
    )
    assert samplers.directions(spec) == ["maximize", "minimize"]
    assert isinstance(make_pruner(spec), optuna.pruners.NopPruner)
    study = _run(spec, 8)
    assert study.best_trials
