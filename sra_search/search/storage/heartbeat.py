"""Heartbeats of the trials a driver has in flight, and recovery of a killed driver's trials.

Optuna records heartbeats only inside ``study.optimize``; under ask-and-tell the driver
must record them itself. One thread does it for every trial in flight, so a driver killed
with SIGKILL leaves RUNNING trials whose heartbeat goes stale; the next driver fails them
with Optuna's ``fail_stale_trials`` and ``RetryHeartbeatStaleTrialCallback`` re-enqueues
their parameters once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import warnings

import optuna
from optuna.storages import RDBStorage, fail_stale_trials
from optuna.trial import TrialState

from sra_search.search.storage.optuna_private import has_heartbeat, trial_id
from sra_search.search.storage.rdb import RETRY

log = logging.getLogger(__name__)


class DriverHeartbeat:
    """Records a heartbeat every ``interval_s`` for each trial id registered with :meth:`add`."""

    def __init__(self, storage: RDBStorage, interval_s: float) -> None:
        self._storage = storage
        self._interval = interval_s
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sra-search-heartbeat", daemon=True)

    def __enter__(self) -> "DriverHeartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)
        self._storage.remove_session()  # this thread's SQLAlchemy session, see RDBStorage.remove_session

    def add(self, trial_id: int) -> None:
        # Record at once: a trial with no heartbeat row is never considered stale by Optuna.
        self._storage.record_heartbeat(trial_id)
        with self._lock:
            self._ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = list(self._ids)
            for trial_id in ids:
                try:
                    self._storage.record_heartbeat(trial_id)
                except Exception as exc:  # a transient DB error must not kill the driver
                    log.warning("heartbeat of trial %s not recorded: %s", trial_id, exc)
        try:
            self._storage.remove_session()
        except Exception:
            pass


def _orphans(study: optuna.Study, storage: RDBStorage, grace_s: float) -> list[optuna.trial.FrozenTrial]:
    """RUNNING trials with no heartbeat row at all, older than the grace period.

    A driver killed between ``ask`` and its first heartbeat leaves such a trial; Optuna's
    stale check skips trials without a heartbeat row, so they would stay RUNNING forever.
    """
    running = study.get_trials(deepcopy=False, states=[TrialState.RUNNING])
    now = dt.datetime.now()
    out = []
    for t in running:
        if t.datetime_start is None or (now - t.datetime_start).total_seconds() < grace_s:
            continue
        if not has_heartbeat(storage, trial_id(t)):
            out.append(t)
    return out


def recover_stale(study: optuna.Study, storage: RDBStorage, interval_s: float, grace_s: float, wait: bool = True) -> int:
    """Fail and re-enqueue the RUNNING trials of a dead driver; return how many were failed.

    ``storage`` is the one ``study`` was opened on. With ``wait``, RUNNING trials that still have
    a recent heartbeat are waited for up to one grace period: their driver may have been killed a
    moment ago. Trials whose heartbeat keeps being renewed belong to a live driver (PostgreSQL,
    several drivers) and are left alone.
    """
    before = {t.number for t in study.get_trials(deepcopy=False, states=[TrialState.FAIL])}
    deadline = time.monotonic() + (grace_s + 2 * interval_s if wait else 0)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fail_stale_trials(study)
        for t in _orphans(study, storage, grace_s):
            try:
                if storage.set_trial_state_values(trial_id(t), state=TrialState.FAIL):
                    RETRY(study, storage.get_trial(trial_id(t)))
            except optuna.exceptions.UpdateFinishedTrialError:
                pass
        running = study.get_trials(deepcopy=False, states=[TrialState.RUNNING])
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(min(1.0, interval_s))
    after = {t.number for t in study.get_trials(deepcopy=False, states=[TrialState.FAIL])}
    failed = sorted(after - before)
    if failed:
        log.warning("trials %s were left RUNNING by a stopped driver: marked FAIL and re-enqueued once", failed)
    return len(failed)
