"""A study's definition in the storage: create it, resume it, or refuse a changed one.

A study name stands for one definition (``StudyFile.definition_hash``): results of another model,
task or space must not mix. One exception: a study that never ran a trial because its run failed
before the first one (workers could not start, the baseline could not be measured) holds nothing
worth keeping, so the corrected study file replaces it instead of being told to pick a new name.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

import optuna
from optuna.trial import TrialState

from sra_search.search.storage.attrs import DEFINITION_HASH, FAILED_EARLY
from sra_search.search.studyfile.schema import StudyFile
from sra_search.urls import redact_url

log = logging.getLogger(__name__)



class StudyMismatchError(RuntimeError):
    """The storage already holds a study of that name with a different definition."""


def never_ran(study: optuna.Study) -> bool:
    """The study's last run failed before its first trial and no trial ever started: only the
    enqueued first trial, still WAITING, and the attributes of the failed start are stored."""
    if not FAILED_EARLY.get(study):
        return False
    return all(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False))


def open_or_replace(kwargs: dict[str, Any], spec: StudyFile, url: str) -> tuple[optuna.Study, bool]:
    """The study (``optuna.create_study(**kwargs)``) and whether this call created it.

    A stored study of another definition is refused (:class:`StudyMismatchError`) unless it
    :func:`never_ran`; then it is deleted and created again from ``spec``.
    """
    for _ in range(3):  # a deleted study can be re-created by another driver in between: look again
        try:
            return optuna.create_study(**kwargs, load_if_exists=False), True
        except optuna.exceptions.DuplicatedStudyError:
            pass
        study = optuna.create_study(**kwargs, load_if_exists=True)
        if DEFINITION_HASH.get(study) in (None, spec.definition_hash()):
            return study, False
        if not never_ran(study):
            raise StudyMismatchError(
                f"study '{spec.name}' in {redact_url(url)} was created from a different definition "
                f"(model, tasks, search space, objective, constraints, sampler or seed changed); "
                "give the study a new name, or use another storage"
            )
        log.warning(
            "study '%s' never ran a trial (%s); replacing it with the changed study file",
            spec.name, FAILED_EARLY.get(study),
        )
        optuna.delete_study(study_name=spec.name, storage=kwargs["storage"])
    raise StudyMismatchError(f"study '{spec.name}' in {redact_url(url)} keeps being re-created by another driver")


@contextmanager
def before_first_trial(study: optuna.Study) -> Iterator[None]:
    """The start of a run (workers, baseline): a failure here is recorded on the study, so the
    next run may replace a study that never ran a trial (:func:`never_ran`). While a run is in
    this phase the mark is cleared, so no other driver replaces the study under it."""
    if FAILED_EARLY.get(study):
        FAILED_EARLY.set(study, None)  # None: a run got past the start
    try:
        yield
    except BaseException as exc:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        try:
            FAILED_EARLY.set(study, f"{type(exc).__name__}: {reason}")
        except Exception as mark_exc:  # noqa: BLE001 - the storage failed too; the original error matters
            log.warning("could not record the failed start on the study: %s", mark_exc)
        raise
