"""Optuna RDB storage (SQLAlchemy): SQLite by default, any URL such as PostgreSQL for shared use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

RETRY = RetryHeartbeatStaleTrialCallback(max_retry=1)
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
