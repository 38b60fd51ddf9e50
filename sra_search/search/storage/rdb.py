"""Optuna RDB storage (SQLAlchemy): SQLite by default, any URL such as PostgreSQL for shared use."""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from sra_search.search.storage import attrs
from sra_search.search.storage.optuna_private import CACHE_BACKEND_PRIVATE_CALLS
from sra_search.search.studyfile.storage_url import StorageURLError, scrub, sqlite_path, usable_url
from sra_search.urls import redact_url

log = logging.getLogger(__name__)

RESULT_USER_ATTRS = tuple(
    a.key for a in (attrs.FAIL_REASON, attrs.WALL_S, attrs.EVAL_S, attrs.ELAPSED_AT_END_S, attrs.TASK_SCORES,
                    attrs.SRA_STATS, attrs.PERPLEXITY_RATIO, attrs.OUTCOMES, attrs.RACING, attrs.SRA_INACTIVE)
)  # fmt: skip
"""What a failed trial measured: never copied into its retry."""


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
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        # A host that drops packets would otherwise hold a connect for minutes (TCP's own timeout).
        kwargs["connect_args"] = {"connect_timeout": 10}
    return kwargs


def _ensure_sqlite_dir(url: str) -> None:
    path = sqlite_path(url)
    if path is not None:
        path.resolve().parent.mkdir(parents=True, exist_ok=True)


class StorageUnavailableError(RuntimeError):
    """The storage stayed unreachable for longer than the driver was told to wait (``storage.retry_s``)."""


def is_transient(exc: BaseException) -> bool:
    """A lost or refused connection (server stopped, restarted, network), not a bad statement.

    Optuna wraps SQLAlchemy errors of a commit in ``StorageInternalError``; the cause chain is searched.
    """
    import sqlalchemy.exc as sa_exc

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        e = e.__cause__ or e.__context__
    return False


class _Outage:
    """Shared by every thread of one storage: one message when an outage starts, one when it ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None
        self.last_said = 0.0
        self.outages = 0
        self.retries = 0
        self.waited_s = 0.0


# Methods Optuna calls on an RDBStorage, each retried as a whole: the public storage API, and the
# private ones its storage cache calls (listed, and tested against Optuna, in optuna_private).
_RETRIED = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr", "get_study_id_from_name",
    "get_study_name_from_id", "get_study_directions", "get_study_user_attrs", "get_study_system_attrs",
    "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies", "create_new_trial", "set_trial_param",
    "get_trial_param", "set_trial_state_values", "set_trial_intermediate_value", "set_trial_user_attr",
    "set_trial_system_attr", "get_trial_id_from_study_id_trial_number", "get_trial", "get_all_trials",
    "get_best_trial", "record_heartbeat",
) + CACHE_BACKEND_PRIVATE_CALLS  # fmt: skip


class ResilientRDBStorage(RDBStorage):
    """RDBStorage whose calls wait out an unreachable database instead of failing.

    A call that fails with a connection error (PostgreSQL stopped or restarting, network lost)
    is retried with backoff (0.5 s doubling to 10 s) for up to ``retry_s`` seconds, with one
    warning when the outage starts, one every minute while it lasts and one when it ends; then
    :class:`StorageUnavailableError`. Errors that are not about the connection are raised at once.
    Writes are idempotent (attribute and heartbeat upserts), except finishing a trial: a retry of
    ``set_trial_state_values`` whose first attempt did commit finds the trial already in that state
    and reports success, so a result is never recorded twice.
    """

    def __init__(self, url: str, *, retry_s: float = 0.0, **kwargs: Any) -> None:
        self.retry_s = 0.0  # connecting is retried by open_storage, which says so in its own words
        self._outage = _Outage()
        self._depth = threading.local()
        super().__init__(url, **kwargs)
        self.retry_s = float(retry_s)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_outage", None)
        state.pop("_depth", None)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._outage = _Outage()
        self._depth = threading.local()

    def outage_stats(self) -> dict[str, float]:
        o = self._outage
        return {"outages": o.outages, "retries": o.retries, "waited_s": round(o.waited_s, 3)}

    def _call(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self.retry_s <= 0:
            return fn(*args, **kwargs)
        depth = getattr(self._depth, "n", 0)
        if depth:  # an inner call of a retried method: the outer one retries the whole call
            return fn(*args, **kwargs)
        self._depth.n = 1
        try:
            return self._retrying(name, fn, *args, **kwargs)
        finally:
            self._depth.n = 0

    def _retrying(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        o = self._outage
        start = None
        delay = 0.5
        failed_once = False
        while True:
            try:
                out = fn(*args, **kwargs)
            except optuna.exceptions.UpdateFinishedTrialError:
                if failed_once and name == "set_trial_state_values" and self._already_set(*args, **kwargs):
                    out = True  # the attempt that lost its connection had committed
                else:
                    raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                now = time.monotonic()
                failed_once = True
                start = start or now
                with o.lock:
                    o.retries += 1
                    if o.since is None:
                        o.since, o.last_said = now, now
                        o.outages += 1
                        log.warning(
                            "storage %s unreachable (%s); waiting and retrying for up to %.0f s (storage.retry_s)",
                            redact_url(self.url), scrub(_short(exc), self.url), self.retry_s,
                        )
                    elif now - o.last_said >= 60:
                        o.last_said = now
                        log.warning("storage %s still unreachable after %.0f s; retrying", redact_url(self.url), now - o.since)
                if now - start >= self.retry_s:
                    raise StorageUnavailableError(
                        f"storage {redact_url(self.url)} unreachable for {now - start:.0f} s (storage.retry_s = "
                        f"{self.retry_s:g}): {scrub(_short(exc), self.url)}. Completed trials are safe; run again to resume."
                    ) from None
                time.sleep(min(delay, max(0.0, self.retry_s - (now - start)) + 0.01))
                delay = min(delay * 2, 10.0)
                continue
            if start is not None:
                with o.lock:
                    o.waited_s += time.monotonic() - start
                    if o.since is not None:
                        log.warning("storage %s reachable again after %.1f s", redact_url(self.url), time.monotonic() - o.since)
                        o.since = None
            return out

    def _already_set(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
        t = RDBStorage.get_trial(self, trial_id)
        return t.state == state and (values is None or list(t.values or []) == list(values))


def _short(exc: BaseException) -> str:
    e: BaseException = exc
    while e.__cause__ is not None:
        e = e.__cause__
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}"


def _wrap(name: str):
    fn = getattr(RDBStorage, name)

    @functools.wraps(fn)
    def method(self: ResilientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, functools.partial(fn, self), *args, **kwargs)

    return method


for _name in _RETRIED:
    setattr(ResilientRDBStorage, _name, _wrap(_name))


def open_storage(
    url: str, *, heartbeat_s: int | None = None, grace_s: int | None = None, retry_s: float = 0.0,
    create: bool = False,
) -> RDBStorage:
    """An RDBStorage; with ``heartbeat_s`` stale RUNNING trials are failed and retried once.

    Every command opens its storage here. The URL is checked and mapped first
    (:func:`~sra_search.search.studyfile.storage_url.usable_url`: ``postgresql://`` gets the installed driver;
    a missing driver is a :class:`StorageURLError`); without ``create`` a SQLite file must exist
    (read-only commands never create one, nor its directories). With ``retry_s > 0`` connection
    errors, also while connecting, are waited out for up to ``retry_s`` seconds
    (:class:`ResilientRDBStorage`). Two processes creating the schema of a new database at the same
    moment can collide in PostgreSQL's catalog; the loser retries. Any other failure to open is a
    :class:`StorageUnavailableError` on one line, password hidden.
    """
    engine_url = usable_url(url, must_exist=not create)
    if create:
        _ensure_sqlite_dir(engine_url)
    kwargs: dict[str, Any] = {}
    if heartbeat_s is not None:
        kwargs = {
            "heartbeat_interval": int(heartbeat_s),
            "grace_period": int(grace_s) if grace_s else None,
            "heartbeat_stale_trial_callback": RETRY,
        }
    import warnings

    import sqlalchemy.exc as sa_exc

    # A SQLite file has no server that could come back: waiting would only delay the error.
    retry_s = 0.0 if engine_url.startswith("sqlite") else retry_s
    start = time.monotonic()
    delay, said, attempt = 0.5, False, 0
    while True:
        attempt += 1
        try:
            with warnings.catch_warnings():
                # Heartbeats are "experimental" in Optuna; the warning would repeat on every run.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = ResilientRDBStorage(engine_url, engine_kwargs=_engine_kwargs(engine_url), retry_s=retry_s, **kwargs)
            if said:
                log.warning("storage %s reachable after %.1f s", redact_url(url), time.monotonic() - start)
            return storage
        except (sa_exc.IntegrityError, sa_exc.ProgrammingError) as exc:
            # CREATE TABLE racing another process on an empty PostgreSQL database.
            if attempt >= 5 or engine_url.startswith("sqlite"):
                raise _open_error(url, exc, time.monotonic() - start, retry_s) from None
            log.info("schema creation raced another process (%s); retrying", _short(exc))
            time.sleep(0.2 * attempt)
        except Exception as exc:
            waited = time.monotonic() - start
            if not is_transient(exc) or waited >= retry_s:
                raise _open_error(url, exc, waited, retry_s) from None
            if not said:
                said = True
                log.warning(
                    "storage %s unreachable (%s); waiting and retrying for up to %.0f s (storage.retry_s)",
                    redact_url(url), scrub(_short(exc), url), retry_s,
                )
            time.sleep(min(delay, max(0.0, retry_s - waited) + 0.01))
            delay = min(delay * 2, 10.0)


def _open_error(url: str, exc: BaseException, waited: float, retry_s: float) -> StorageUnavailableError:
    """One line for a storage that did not open: the URL without its password, the driver's reason
    (its text scrubbed of the password too) and what to do."""
    reason = scrub(_short(exc), url)
    if not is_transient(exc):
        return StorageUnavailableError(f"cannot open storage {redact_url(url)}: {reason}")
    waited_text = f" for {waited:.0f} s (storage.retry_s = {retry_s:g})" if retry_s > 0 else ""
    return StorageUnavailableError(
        f"storage {redact_url(url)} unreachable{waited_text}: {reason}; check that the database server runs and "
        "that the URL's host, port and credentials are right"
    )


STORAGE_ERRORS = (StorageURLError, StorageUnavailableError)
"""What :func:`open_storage` raises for a storage that cannot be used; commands turn these into one line."""
