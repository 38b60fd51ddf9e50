"""The Optuna internals the search relies on, each where Optuna (5.x) has no public API.

Kept in this one module; ``tests/search/test_optuna_private.py`` fails when Optuna changes
any of them, so an upgrade is a failing test here rather than a driver that misbehaves.
"""

from __future__ import annotations

import optuna
from optuna.storages import RDBStorage

CACHE_BACKEND_PRIVATE_CALLS = ("_create_new_trial", "_set_trial_param", "_get_trials", "_get_best_trial_id",
                               "_get_stale_trial_ids")  # fmt: skip
"""Private ``RDBStorage`` methods that Optuna's own storage cache (``_CachedStorage``, which every
study on an ``RDBStorage`` goes through) calls on its backend. The resilient storage must retry
them like the public ones, or a lost connection inside ``study.ask``/``get_trials`` would not
be waited out."""


def trial_id(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """The storage's id of a trial (heartbeats and storage calls take it, not the number).

    ``Trial`` and ``FrozenTrial`` hold it as ``_trial_id`` with no public getter; the public
    route (``storage.get_trial_id_from_study_id_trial_number``) costs a query per trial.
    """
    return trial._trial_id


def has_heartbeat(storage: RDBStorage, trial_id: int) -> bool:
    """Whether the trial has a heartbeat row. Optuna's stale check skips trials without one, and
    no public call tells them apart, so the row is read through Optuna's own ORM model."""
    from optuna.storages._rdb import models

    with storage.scoped_session() as session:
        return models.TrialHeartbeatModel.where_trial_id(trial_id, session) is not None



class BestTrialView:
    """The two things ``WilcoxonPruner.prune`` reads of a study (``best_trial``, ``direction``),
    with ``best_trial`` chosen by the caller.

    Optuna's pruner pairs a trial with ``study.best_trial`` (best by value alone); racing pairs it
    with the incumbent (most cases, then value), and Optuna has no parameter for that.
    """

    def __init__(self, study: optuna.Study, best_trial: optuna.trial.FrozenTrial) -> None:
        self.direction = study.direction
        self.best_trial = best_trial


def wilcoxon_prune(
    pruner: optuna.pruners.WilcoxonPruner, study: optuna.Study, trial: optuna.trial.FrozenTrial,
    best_trial: optuna.trial.FrozenTrial,
) -> bool:
    """``pruner.prune`` with ``best_trial`` as the trial to pair ``trial`` with."""
    return pruner.prune(BestTrialView(study, best_trial), trial)  # type: ignore[arg-type]
