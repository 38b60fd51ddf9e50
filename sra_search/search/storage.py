"""Optuna RDB storage (SQLAlchemy): SQLite by default, any URL such as PostgreSQL for shared use."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial

RESULT_USER_ATTRS = ("fail_reason", "wall_s", "eval_s", "elapsed_at_end_s", "task_scores", "sra_stats", "perplexity_ratio")


class RetryOnce(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry callback (``max_retry=1``) that does not copy a failed trial's results.

    The callback copies system and user attributes into the re-enqueued trial; a trial that
    died between ``set_constraint`` and ``tell`` would hand its constraint values to the retry
    (Optuna then ignores the retry's own). Only parameters and provenance are kept.
    """

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        clean = copy.copy(trial)
        clean.system_attrs = {k: v for k, v in trial.system_attrs.items() if not k.startswith("constraints")}
        clean.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in RESULT_USER_ATTRS}
        super().__call__(study, clean)


def _make_retry() -> RetryHeartbeatStaleTrialCallback:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryOnce(max_retry=1)


RETRY = _make_retry()
"""Re-enqueues a failed trial's parameters once (stale heartbeat or dead worker)."""


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # The driver's heartbeat thread and its main loop write through separate
        # connections; wait for the lock instead of failing with "database is locked".
        return {"connect_args": {"timeout": 60}}
    # Long trials leave pooled connections idle; pre-ping avoids a dead one after a server restart.
    return {"pool_pre_ping": True}


def _ensure_sqlite_dir(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix) :]).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def open_storage(url: str, *, heartbeat_s: int | None = None, grace_s: int | None = None) -> RDBStorage:
    """An RDBStorage; with ``heartbeat_s`` stale RUNNING trials are failed and retried once."""
    _ensure_sqlite_dir(url)
    kwargs: dict[str, Any] = {}
    if heartbeat_s is not None:
        kwargs = {
            "heartbeat_interval": int(heartbeat_s),
            "grace_period": int(grace_s) if grace_s else None,
            "heartbeat_stale_trial_callback": RETRY,
        }
    import warnings

    with warnings.catch_warnings():
        # Heartbeats are "experimental" in Optuna; the warning would repeat on every run.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(url, engine_kwargs=_engine_kwargs(url), **kwargs)


def study_names(storage: RDBStorage) -> list[str]:
    return [s.study_name for s in optuna.study.get_all_study_summaries(storage, include_best_trial=False)]


def redact(url: str) -> str:
    """The URL without its password, for logs and JSON output."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given; the storage will report the error
        return url
