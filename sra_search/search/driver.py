"""The study driver: Optuna ask-and-tell on one side, Ray worker actors on the other.

Only the driver talks to the storage. Workers get chunks of cases and return outcomes;
the driver reports each chunk to the pruner, computes the objective and the constraints
(``trial.set_constraint``) and tells Optuna, at most once per trial (``skip_if_finished``).
This module opens or resumes the study and runs the trial loop; the worker pool, the jobs,
the baselines and holdout, the budget and progress, and the results live next to it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from sra_search.search import objective as obj
from sra_search.search.tuning import samplers as samplers_mod
from sra_search.search.tuning import space as space_mod
from sra_search.search.tuning.repeats import earlier_trial_with
from sra_search.search.tuning.warm_start import WarmStart, enqueue_first_trials, warm_start_configs
from sra_search.search.baselines import Baselines, headroom_warnings, rescore_holdout
from sra_search.search.storage import attrs
from sra_search.search.storage.definition import StudyMismatchError, before_first_trial, open_or_replace
from sra_search.search.storage.heartbeat import DriverHeartbeat, recover_stale
from sra_search.search.execution.jobs import ChunkResult, Job, perplexity_job
from sra_search.search.storage.optuna_private import trial_id
from sra_search.search.execution.pool import EvaluationError, Slot, WorkerPool, WorkerSetupError, first_line
from sra_search.search.studyfile.preflight import check_study
from sra_search.search.progress import Budget, Progress, Reporter, state_counts
from sra_search.search.strategies.registry import make_pruner, strategy_for
from sra_search.search.run_summary import RunSummary
from sra_search.search.results import best_feasible, pareto_feasible, recorded_for, trial_summary
from sra_search.search.studyfile.schema import StudyFile
from sra_search.search.storage.rdb import RETRY, StorageUnavailableError, open_storage
from sra_search.search.studyfile.task_params import worker_tasks
from sra_search.search.trial import TrialInFlight, TrialRun
from sra_search.search.decisions.verdicts import record_best_evidence
from sra_search.urls import redact_url

log = logging.getLogger(__name__)

FINISHED_OK = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class RunOptions:
    """Overrides from the command line; ``None`` keeps the study file's value."""

    trials: int | None = None
    time_s: float | None = None
    workers: int | None = None
    storage: str | None = None
    ray_address: str | None = None
    holdout: bool = True
    on_progress: Callable[[Progress], None] | None = None
    base_dir: str | None = None  # where relative file parameters are looked up (the study file's folder)


class Driver:
    """Runs one study file to its budget; safe to re-run (it resumes)."""

    def __init__(self, spec: StudyFile, options: RunOptions | None = None) -> None:
        self.spec = spec
        self.opt = options or RunOptions()
        self.url = spec.storage_url(self.opt.storage)
        self.n_workers = self.opt.workers or spec.workers.count
        self.budget = Budget(spec, self.opt.trials, self.opt.time_s, self.n_workers)
        self.tasks, self.ppl = worker_tasks(spec, self.opt.base_dir)
        self.baselines = Baselines(
            spec.model, self.tasks, self.ppl, spec.race.max_cases if spec.race else None,
            signal=spec.race is not None and spec.race.on_signal,
        )  # fmt: skip
        self.strategy = strategy_for(spec, self.baselines)  # schedules a trial's cases, stops and ranks trials
        self.dists = space_mod.distributions(spec.search_space)
        self.pool = WorkerPool(spec, self.n_workers, self.opt.ray_address)
        self.progress = Reporter(spec.name, self.budget, self.opt.on_progress, self.pool.describe, lambda: len(self._runs))
        self.storage: Any = None
        # Ray ref -> ("trial", trial number, job) or ("probe", slot index, None)
        self._pending: dict[Any, tuple[str, int, Job | None]] = {}
        self._runs: dict[int, TrialRun] = {}
        self._created = False
        self._finished_here = 0
        self._warned_inactive = False
        self.warnings: list[str] = []  # said before the budget was spent; repeated in the summary
        self._driver_id = f"{socket.gethostname()}:{os.getpid()}"
        self._warm: list[WarmStart] = []  # read by check_tasks, enqueued by the study's creator

    def in_flight(self) -> list[TrialInFlight]:
        """The trials this driver is running now."""
        return [run.in_flight(self.pool.slots[run.slot]) for run in list(self._runs.values())]

    def elapsed(self) -> float:
        return self.budget.elapsed()

    # ----- study --------------------------------------------------------------------

    def open_study(self) -> optuna.Study:
        spec = self.spec
        storage = open_storage(
            self.url, heartbeat_s=spec.storage.heartbeat_s, grace_s=spec.storage.grace_s, retry_s=spec.storage.retry_s,
            create=True,
        )
        self.storage = storage
        kwargs = dict(
            study_name=spec.name,
            storage=storage,
            sampler=samplers_mod.make_sampler(spec),
            pruner=make_pruner(spec),
            directions=samplers_mod.directions(spec),
        )
        # The study name is unique in the storage, so of several drivers starting together exactly
        # one creates the study; only that one enqueues the first trial (no duplicate trial 0).
        # A stored study of another definition is refused, unless it never ran a trial.
        study, self._created = open_or_replace(kwargs, spec, self.url)
        if not self._created:
            # A resumed or joined study: a sampler seeded as the creator's replays its random draws
            # and proposes parameters already evaluated (or being evaluated by a driver that started
            # at the same instant and saw no trial yet); each joining driver draws its own stream.
            seed = samplers_mod.joined_seed(spec.seed, len(study.get_trials(deepcopy=False)), self._driver_id)
            study.sampler = samplers_mod.make_sampler(spec.model_copy(update={"seed": seed}))
        stored = study.user_attrs
        if not attrs.DEFINITION_HASH.is_on(stored):
            attrs.DEFINITION_HASH.set(study, spec.definition_hash())
            attrs.SPEC.set(study, spec.model_dump(mode="json"))
            attrs.MODEL.set(study, spec.model)
            attrs.OBJECTIVE.set(study, obj.objective_label(spec))
            attrs.FIXED_PARAMS.set(study, space_mod.fixed_values(spec.search_space))
            attrs.RANKING.set(study, self.strategy.ranking)
        self.budget.prior_elapsed = float(attrs.ELAPSED_S.get(stored, 0.0))
        return study

    def _enqueue_first(self, study: optuna.Study) -> None:
        if self._created and not study.get_trials(deepcopy=False):
            enqueue_first_trials(study, self.spec, self._warm)  # only by a new study's creator

    def _may_start(self, study: optuna.Study, counts: dict[TrialState, int]) -> bool:
        return self.budget.may_start(study, counts, len(self._runs))

    # ----- trials ---------------------------------------------------------------------

    def _new_trial(self, study: optuna.Study, slot: Slot, hb: DriverHeartbeat) -> None:
        with warnings.catch_warnings():
            # Optuna warns that heartbeats belong to study.optimize; this driver records them itself.
            warnings.simplefilter("ignore", UserWarning)
            trial = study.ask(fixed_distributions=self.dists)
        hb.add(trial_id(trial))
        try:
            config = space_mod.to_config(self.spec.search_space, trial.params)
        except Exception as exc:  # a space that produces an invalid config is a study-file bug
            attrs.FAIL_REASON.set(trial, f"invalid SRA config: {exc}")
            self._end_before_any_case(study, trial, TrialState.FAIL, hb)
            self.budget.errors_in_row += 1
            return
        attrs.CONFIG.set(trial, config.model_dump())
        earlier = earlier_trial_with(study, config, trial.number)
        if earlier is not None:
            attrs.DUPLICATE_OF.set(trial, earlier)
            self._end_before_any_case(study, trial, TrialState.PRUNED, hb)
            self.budget.repeats_in_row += 1
            log.info("trial %d proposed trial %d's config again; pruned before any case", trial.number, earlier)
            if self.budget.sampler_exhausted():
                self.progress.message = (
                    f"stopped: the sampler proposed {self.budget.repeats_in_row} configs in a row that the study already ran"
                )
            return
        self.budget.repeats_in_row = 0
        attrs.DRIVER.set(trial, self._driver_id)  # which process ran it (several drivers may share a study)
        attrs.NODE.set(trial, slot.node)  # the Ray node of its worker (all its jobs run on that slot)
        jobs = self.strategy.first_jobs(config)
        if self.ppl is not None:
            jobs.append(perplexity_job(self.ppl, config))
        run = TrialRun(trial=trial, config=config, slot=slot.index, jobs=jobs, state=self.strategy.new_state())
        self._runs[trial.number] = run
        slot.busy = True
        self._submit(run)

    @staticmethod
    def _end_before_any_case(study: optuna.Study, trial, state: TrialState, hb: DriverHeartbeat) -> None:
        """End a proposal the driver will not run (an invalid config, a repeat): no case is scored."""
        study.tell(trial, state=state, skip_if_finished=True)
        hb.discard(trial_id(trial))

    def _submit(self, run: TrialRun) -> None:
        ref = self.pool.submit(self.pool.slots[run.slot], run.job)
        self._pending[ref] = ("trial", run.trial.number, run.job)

    def _on_result(
        self, study: optuna.Study, run: TrialRun, job: Job, res: ChunkResult, baselines: dict, hb: DriverHeartbeat
    ) -> None:
        self.pool.slots[run.slot].pid = res.pid
        run.add(job, res.outcomes, baselines, self.baselines)
        if job.kind == "main" and not self.spec.multi_objective:
            # Report to the pruner and ask it (the strategy may also queue the trial's next cases).
            if self.strategy.after_chunk(study, run, job, res.outcomes, baselines):
                self._finish(study, run, hb, state=TrialState.PRUNED)
                return
        if job.kind == "main" and run.more_task_chunks():
            why = run.stop_outside_band(self.spec.constraints)  # objective.band_stop
            if why:
                self.strategy.stopped(run, why)
                log.info("trial %d: %s; its remaining cases are not run", run.trial.number, why)
        run.step += 1
        if run.step < len(run.jobs):
            self._submit(run)
            return
        value = run.value(baselines, self.baselines, self.spec.objective.target)
        stats = run.record_results(self.spec.constraints, self.baselines)  # constraints, task scores, SRA stats
        if stats.edited_rows == 0 and stats.inactive_reasons:
            self._report_inactive(run, stats.inactive_reasons[0])
        values = [value]
        if self.spec.multi_objective:
            values.append(run.ppl if run.ppl is not None and math.isfinite(run.ppl) else 1e6)
        self._finish(study, run, hb, values=values)

    def _report_inactive(self, run: TrialRun, why: str) -> None:
        """SRA edited nothing because it skipped every prompt: say why, once per run and on the trial."""
        attrs.SRA_INACTIVE.set(run.trial, why)
        self.progress.message = (
            f"SRA edited no row in trial {run.trial.number}: {why}; the task's prompts are shorter than the SRA "
            "geometry needs (raise the task's length, or lower c_s / c_e)"
        )
        if not self._warned_inactive:
            self._warned_inactive = True
            log.warning("%s", self.progress.message)

    def _finish(self, study: optuna.Study, run: TrialRun, hb: DriverHeartbeat, *, values: list[float] | None = None,
                state: TrialState | None = None, reason: str | None = None, retry: bool = False) -> None:
        wall = time.monotonic() - run.started
        attrs.WALL_S.set(run.trial, round(wall, 3))
        attrs.EVAL_S.set(run.trial, round(run.eval_s, 3))
        attrs.ELAPSED_AT_END_S.set(run.trial, round(self.elapsed(), 3))
        if reason:
            attrs.FAIL_REASON.set(run.trial, reason)
        run.record_outcomes(self.baselines)  # per-case scores as one attr
        self.strategy.record(run)  # racing: the trial's stages
        if values is not None and not all(math.isfinite(v) for v in values):
            state, reason = TrialState.FAIL, "objective is not a finite number"
            attrs.FAIL_REASON.set(run.trial, reason)
            values = None
        frozen = study.tell(run.trial, values, state=state, skip_if_finished=True)
        hb.discard(run.trial_id)
        if frozen.state in FINISHED_OK:
            self._finished_here += 1
            self.budget.durations.append(wall)
            self.budget.errors_in_row = 0
        if retry and frozen.state == TrialState.FAIL:
            # Optuna's retry callback re-enqueues the parameters once (it counts retry_history).
            RETRY(study, frozen)
        self._runs.pop(run.trial.number, None)
        self.pool.slots[run.slot].busy = False
        attrs.ELAPSED_S.set(study, round(self.elapsed(), 3))
        self.progress.emit(study, force=True)

    def _trial_loop(self, study: optuna.Study, baselines: dict, hb: DriverHeartbeat) -> None:
        import ray

        self.progress.set("trials")
        counts = state_counts(study)
        while True:
            for slot in self.pool.slots:
                if not slot.ready and slot.probe_after and time.monotonic() >= slot.probe_after:
                    slot.probe_after = 0.0
                    self._probe(slot)
                # Until the slot is busy: a proposal can end at once (an invalid config, a repeat of
                # a config already run), each bounded by its own in-a-row limit in may_start.
                while slot.ready and not slot.busy and self._may_start(study, counts):
                    self._new_trial(study, slot, hb)
                    counts = state_counts(study)
            may_start = self._may_start(study, counts)
            only_probes = all(kind == "probe" for kind, _, _ in self._pending.values())
            waiting_probe = any(not s.ready and s.probe_after for s in self.pool.slots)
            if only_probes and not may_start:
                break  # nothing in flight but restarts, and no trial left to give them
            if not self._pending and not (waiting_probe and may_start):
                break
            if not self._pending:
                time.sleep(0.5)
                continue
            ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=1.0)
            for ref in ready:
                kind, number, job = self._pending.pop(ref)
                if kind == "probe":
                    self.pool.on_probe(self.pool.slots[number], ref)
                    continue
                run = self._runs.get(number)
                if run is None:
                    continue  # already finished (a duplicate result is never told twice)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    slot = self.pool.slots[run.slot]
                    reason = self.pool.death_reason(slot, exc)  # names the pid and the node
                    log.warning("trial %d: %s; parameters re-enqueued once", number, reason)
                    self._finish(study, run, hb, state=TrialState.FAIL, reason=reason, retry=True)
                    self.pool.on_death(slot)
                    self._probe(slot)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    reason = f"evaluation error: {first_line(exc.cause if hasattr(exc, 'cause') else exc)}"
                    log.warning("trial %d: %s", number, reason)
                    self.budget.errors_in_row += 1
                    self._finish(study, run, hb, state=TrialState.FAIL, reason=reason)
                    if self.budget.stopped_by_errors():
                        self.progress.message = f"stopped: 3 trials in a row failed ({reason})"
                    continue
                try:
                    self._on_result(study, run, job, res, baselines, hb)
                except optuna.exceptions.UpdateFinishedTrialError:
                    # Another process finished this trial (e.g. failed it as stale): never tell twice.
                    log.warning("trial %d was finished elsewhere; its result is dropped", number)
                    self._drop(run, hb)
            counts = state_counts(study)
            self.progress.emit(study)
        if self.budget.stopped_by_errors():
            raise EvaluationError(self.progress.message)

    def _probe(self, slot: Slot) -> None:
        self._pending[self.pool.probe(slot)] = ("probe", slot.index, None)

    def _drop(self, run: TrialRun, hb: DriverHeartbeat) -> None:
        hb.discard(run.trial_id)
        self._runs.pop(run.trial.number, None)
        self.pool.slots[run.slot].busy = False
        for ref, (kind, number, _) in list(self._pending.items()):
            if kind == "trial" and number == run.trial.number:
                self._pending.pop(ref)

    def _interrupt(self, study: optuna.Study, hb: DriverHeartbeat) -> None:
        """Ctrl-C: fail the trials in flight and re-enqueue them, so a re-run picks them up."""
        for run in list(self._runs.values()):
            try:
                self._finish(study, run, hb, state=TrialState.FAIL, reason="driver interrupted", retry=True)
            except Exception as exc:  # storage gone too: the next run's stale-trial recovery handles it
                log.warning("trial %d left RUNNING: %s", run.trial.number, exc)
        self._pending.clear()

    def _holdout(self, study: optuna.Study) -> dict[str, Any] | None:
        if not self.opt.holdout or self.spec.multi_objective or not any(t.cases.holdout for t in self.tasks):
            return None
        return rescore_holdout(study, self.spec, self.baselines, self.pool, self.progress)

    # ----- entry point ------------------------------------------------------------------

    def check_tasks(self) -> None:
        """Check the study file before the storage is opened (model, task parameters, files, the
        first case of each task: ``preflight``), so a bad file writes nothing."""
        check_study(self.spec, self.tasks, self.ppl, self.opt.base_dir)
        self._warm = warm_start_configs(self.spec, self.opt.base_dir)

    def run(self) -> RunSummary:
        """Run (or resume) the study until its budget; what it holds after this run."""
        self.budget.t0 = time.monotonic()
        self.check_tasks()
        study = self.open_study()
        self.progress.set("starting", "checking for trials left RUNNING by a stopped driver")
        self.progress.emit(study, force=True)
        recovered = recover_stale(study, self.storage, self.spec.storage.heartbeat_s, self.spec.storage.grace_s)
        self._enqueue_first(study)
        holdout = None
        need_trials = self._may_start(study, state_counts(study))
        need_holdout = self.opt.holdout and any(t.cases.holdout for t in self.tasks)
        if need_trials or need_holdout:
            self.progress.set("starting", f"starting {self.n_workers} workers ({self.spec.model})")
            self.progress.emit(study, force=True)
            if need_trials:
                try:
                    with before_first_trial(study):  # a failure here lets a corrected file replace the study
                        self.pool.start()
                        baselines = self.baselines.ensure(study, "search", self.pool, self.progress)
                    for warning in headroom_warnings(self.baselines, baselines):
                        log.warning(warning)  # before the budget goes to trials
                        self.warnings.append(warning)
                    with DriverHeartbeat(self.storage, self.spec.storage.heartbeat_s) as hb:
                        try:
                            self._trial_loop(study, baselines, hb)
                        except StorageUnavailableError:
                            raise  # nothing can be written: the next run's stale-trial recovery fails and retries them
                        except BaseException:
                            self._interrupt(study, hb)
                            raise
                    holdout = self._holdout(study)
                finally:
                    self.pool.stop()
            elif (best := best_feasible(study)) is not None and recorded_for(study, attrs.HOLDOUT, best) is None:
                self.pool.start()
                try:
                    holdout = self._holdout(study)
                finally:
                    self.pool.stop()
            else:
                holdout = attrs.HOLDOUT.get(study)
        attrs.ELAPSED_S.set(study, round(self.elapsed(), 3))
        evidence = record_best_evidence(study) if not self.spec.multi_objective else None
        self.progress.set("done")
        self.progress.emit(study, force=True)
        counts = state_counts(study)
        best = best_feasible(study)
        return RunSummary(
            study=self.spec.name,
            storage=redact_url(self.url),
            model=self.spec.model,
            objective=obj.objective_label(self.spec),
            trials={s.name.lower(): counts[s] for s in TrialState},
            new_trials_done=self._finished_here,
            recovered_stale=recovered,
            elapsed_s=round(self.elapsed(), 3),
            best=trial_summary(best) if best else None,
            pareto=[trial_summary(t) for t in pareto_feasible(study)] if self.spec.multi_objective else None,
            best_evidence=evidence,
            holdout=holdout,
            workers=self.pool.stats,
            storage_outages=self.storage.outage_stats() if hasattr(self.storage, "outage_stats") else None,
            warnings=list(self.warnings),
        )


__all__ = [
    "Driver", "RunOptions", "RunSummary", "Progress", "TrialInFlight", "best_feasible",
    "StudyMismatchError", "WorkerSetupError", "EvaluationError", "StorageUnavailableError",
]  # fmt: skip
