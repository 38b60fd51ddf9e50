"""The search-strategy interface: the registry, ranking recorded on the study, and a driver that
knows strategies only through the interface (a strategy added in a test runs a real study)."""

from __future__ import annotations

import optuna
import pytest

from sra_search.search.results import RANK_BY_CASES, RANK_BY_VALUE, RANKINGS, ranking_of
from sra_search.search.storage import attrs
from sra_search.search.strategies import registry
from sra_search.search.strategies.base import SearchStrategy
from sra_search.search.strategies.fixed_chunks import FixedChunks
from sra_search.search.strategies.racing import Racing
from sra_search.search.studyfile.pruner_spec import Pruner


def test_every_pruner_kind_has_exactly_one_strategy():
    kinds = Pruner.model_fields["kind"].annotation.__args__
    for kind in kinds:
        owners = [cls for cls in registry.STRATEGIES if kind in cls.kinds]
        assert len(owners) == 1, f"pruner kind {kind!r} is served by {owners}"
    assert registry.strategy_class("racing") is Racing and registry.strategy_class("median") is FixedChunks
    with pytest.raises(ValueError, match="no search strategy serves it"):
        registry.strategy_class("bandit")
    assert all(issubclass(cls, SearchStrategy) and cls.ranking in RANKINGS for cls in registry.STRATEGIES)


def test_ranking_is_read_from_the_study_else_from_racing_trials():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    attrs.RACING.set(trial, {"n_cases": 8, "stages": [8], "stop": "max_cases"})
    study.tell(trial, 0.1)
    assert ranking_of(study, study.trials) == RANK_BY_CASES  # a study stored before ranking was recorded
    attrs.RANKING.set(study, RANK_BY_VALUE)
    assert ranking_of(study, study.trials) == RANK_BY_VALUE


class CountingChunks(FixedChunks):
    """Fixed chunks that count the driver's calls of each hook."""

    kinds = FixedChunks.kinds
    calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        CountingChunks.calls[name] = CountingChunks.calls.get(name, 0) + 1

    def first_jobs(self, config):
        self._count("first_jobs")
        return super().first_jobs(config)

    def new_state(self):
        self._count("new_state")
        return {"mine": True}

    def after_chunk(self, study, run, job, outcomes, baselines):
        self._count("after_chunk")
        assert run.state == {"mine": True}
        return super().after_chunk(study, run, job, outcomes, baselines)

    def record(self, run):
        self._count("record")
        attrs.SRA_INACTIVE.set(run.trial, "recorded by the test strategy")


@pytest.mark.slow
def test_a_registered_strategy_runs_a_study_through_the_interface_alone(
    tiny_model_dir, ray_local, write_study, study_text, tmp_path, monkeypatch
):
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    monkeypatch.setattr(registry, "STRATEGIES", (CountingChunks, Racing))
    CountingChunks.calls = {}
    url = f"sqlite:///{tmp_path / 's.db'}"
    path = write_study(study_text(tiny_model_dir, name="strategy", storage=url, trials=2, holdout=0, pruner='kind = "median"'))
    summary = Driver(load_study_file(path), RunOptions(holdout=False)).run()
    assert summary.trials["complete"] + summary.trials["pruned"] == 2
    calls = CountingChunks.calls
    assert calls["first_jobs"] == calls["new_state"] == calls["record"] == 2 and calls["after_chunk"] >= 2
    study = optuna.load_study(study_name="strategy", storage=url)
    assert attrs.RANKING.get(study) == RANK_BY_VALUE
    assert all(attrs.SRA_INACTIVE.get(t) == "recorded by the test strategy" for t in study.trials)
