"""The Optuna internals the search relies on (sra_search/search/storage/optuna_private.py): each test
fails when an Optuna release changes one, before a driver misbehaves with it."""

from __future__ import annotations

import inspect
import re
import warnings

import optuna
import pytest
from optuna.storages import RDBStorage

from sra_search.search.storage import optuna_private
from sra_search.search.storage.rdb import _RETRIED, ResilientRDBStorage, open_storage


@pytest.fixture
def rdb(tmp_path):
    return open_storage(f"sqlite:///{tmp_path / 'p.db'}", heartbeat_s=5, grace_s=20, create=True)


def _ask(study: optuna.Study) -> optuna.Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeats outside study.optimize
        return study.ask()


def test_trial_id_is_the_storage_id_of_live_and_frozen_trials(rdb):
    study = optuna.create_study(study_name="ids", storage=rdb)
    study.tell(_ask(study), 1.0)
    live = _ask(study)
    study_id = rdb.get_study_id_from_name("ids")
    # The public route, a query per trial: the helper must agree with it.
    assert optuna_private.trial_id(live) == rdb.get_trial_id_from_study_id_trial_number(study_id, live.number)
    for frozen in study.get_trials(deepcopy=False):
        assert optuna_private.trial_id(frozen) == rdb.get_trial_id_from_study_id_trial_number(study_id, frozen.number)


def test_has_heartbeat_sees_the_row_record_heartbeat_writes(rdb):
    study = optuna.create_study(study_name="beats", storage=rdb)
    trial = _ask(study)
    tid = optuna_private.trial_id(trial)
    assert not optuna_private.has_heartbeat(rdb, tid)
    rdb.record_heartbeat(tid)
    assert optuna_private.has_heartbeat(rdb, tid)


def test_every_private_backend_call_of_optunas_cache_is_retried():
    """Optuna's ``_CachedStorage`` calls private methods of its RDB backend; the resilient storage
    retries exactly those named in ``CACHE_BACKEND_PRIVATE_CALLS`` (besides the public API)."""
    from optuna.storages import _cached_storage

    called = set(re.findall(r"self\._backend\.(\w+)\(", inspect.getsource(_cached_storage)))
    private = {name for name in called if name.startswith("_")}
    assert private == set(optuna_private.CACHE_BACKEND_PRIVATE_CALLS)
    for name in _RETRIED:
        assert callable(getattr(RDBStorage, name)), name
        # Wrapped by ResilientRDBStorage, not inherited as is.
        assert getattr(ResilientRDBStorage, name) is not getattr(RDBStorage, name), name
    # Every public method the cache forwards that writes or reads trials and studies is retried too.
    forwarded = {name for name in called if not name.startswith("_")}
    not_retried = forwarded - set(_RETRIED)
    assert not_retried <= {"get_heartbeat_interval", "get_heartbeat_stale_trial_callback"}, not_retried


def test_wilcoxon_pruner_reads_only_best_trial_and_direction_of_the_study():
    """``wilcoxon_prune`` hands Optuna's WilcoxonPruner a view with the incumbent as ``best_trial``:
    the pruner must read nothing else of the study, and pair with the trial it is given."""
    from optuna.trial import TrialState, create_trial

    from sra_search.search.strategies.wilcoxon_pruner import RacingPruner

    dist = optuna.distributions.FloatDistribution(0, 1)

    def trial(per_step: float, value: float):
        return create_trial(params={"x": 0.5}, distributions={"x": dist}, value=value, state=TrialState.COMPLETE,
                            intermediate_values={i: per_step for i in range(8)})  # fmt: skip

    study = optuna.create_study(direction="maximize")
    good, flat = trial(1.0, 1.0), trial(0.0, 2.0)
    study.add_trials([good, flat])
    current = trial(0.0, 0.0)
    pruner = RacingPruner(p_threshold=0.1, n_startup_steps=2).wilcoxon
    frozen_good, frozen_flat = study.trials
    assert optuna_private.wilcoxon_prune(pruner, study, current, frozen_good)  # 8 cases lost to it
    assert not optuna_private.wilcoxon_prune(pruner, study, current, frozen_flat)  # level with it
    # Optuna's own choice (best by value) is the flat trial; the view is what makes it pair with another.
    assert study.best_trial.number == frozen_flat.number
    assert not pruner.prune(study, current)
    src = inspect.getsource(type(pruner).prune)
    assert set(re.findall(r"(?<![.\w])study\.(\w+)", src)) == {"best_trial", "direction"}
