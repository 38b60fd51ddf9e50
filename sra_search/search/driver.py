"""The study driver: Optuna ask-and-tell on one side, Ray worker actors on the other.

Only the driver talks to the storage. Workers get chunks of cases and return numbers;
the driver reports each chunk to the pruner, computes the objective and the constraints
(``trial.set_constraint``) and tells Optuna, at most once per trial (``skip_if_finished``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import warnings

import optuna
from optuna.trial import TrialState

from sra_search.search import objective as obj
from sra_search.search import samplers as samplers_mod
from sra_search.search import space as space_mod
from sra_search.search.heartbeat import DriverHeartbeat, recover_stale
from sra_search.search.schema import StudyFile, TaskSpec
from sra_search.search.storage import RETRY, StorageUnavailableError, open_storage, redact

log = logging.getLogger(__name__)


FINISHED_OK = (TrialState.COMPLETE, TrialState.PRUNED)


class StudyMismatchError(RuntimeError):
    """The storage already holds a study of that name with a different definition."""


class WorkerSetupError(RuntimeError):
    """Workers could not start (model load failed, or the cluster lacks the resources)."""


class EvaluationError(RuntimeError):
    """A baseline or holdout evaluation raised on a worker (a task or model problem, not a trial's)."""


@dataclass
class RunOptions:
    """Overrides from the command line; ``None`` keeps the study file's value."""

    trials: int | None = None
    time_s: float | None = None
    workers: int | None = None
    storage: str | None = None
    ray_address: str | None = None
    holdout: bool = True
    on_progress: Callable[["Progress"], None] | None = None
    base_dir: str | None = None  # where relative file parameters are looked up (the study file's folder)


@dataclass
class Progress:
    """A snapshot for progress displays."""

    study: str
    phase: str
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    budget_trials: int | None = None
    budget_time_s: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    best: dict[str, Any] | None = None
    message: str = ""
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.complete + self.pruned


# ----------------------------------------------------------------------------- helpers


def _json_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def resolve_file_params(params: dict[str, Any], base_dir: str | None) -> dict[str, Any]:
    """Make relative file parameters usable by workers.

    A relative path that exists from the current directory is kept as is (workers share
    it locally, and ``ray job submit --working-dir .`` reproduces it on a cluster); one that
    exists only next to the study file becomes absolute.
    """
    out = dict(params)
    for key, value in params.items():
        if not isinstance(value, str) or os.path.isabs(value) or "/" not in value and "." not in value:
            continue
        if Path(value).is_file():
            continue
        if base_dir and (Path(base_dir) / value).is_file():
            out[key] = str((Path(base_dir) / value).resolve())
    return out


def best_feasible(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best COMPLETE trial whose constraints all hold (single-objective studies)."""
    if len(study.directions) != 1:
        return None
    trials = [
        t
        for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
        if t.value is not None and obj.is_feasible(t.constraints)
    ]
    if not trials:
        return None
    sign = 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1
    return max(trials, key=lambda t: sign * t.value)


def pareto_feasible(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Feasible trials of the Pareto front (multi-objective studies)."""
    return [t for t in study.best_trials if obj.is_feasible(t.constraints)]


def trial_summary(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return {
        "number": t.number,
        "value": t.value if t.values is None or len(t.values) == 1 else None,
        "values": t.values,
        "params": t.user_attrs.get("sra", t.params),
        "constraints": t.constraints,
        "task_scores": t.user_attrs.get("task_scores"),
        "perplexity_ratio": t.user_attrs.get("perplexity_ratio"),
        "sra_stats": t.user_attrs.get("sra_stats"),
    }


# ----------------------------------------------------------------------------- trial state


@dataclass
class _Job:
    """One chunk of cases for one worker."""

    kind: str  # "main" (a task's search chunk), "ppl" (the perplexity constraint text)
    task_index: int
    payload: dict[str, Any]


@dataclass
class _TrialRun:
    trial: optuna.Trial
    config: dict[str, Any]
    slot: int
    jobs: list[_Job]
    step: int = 0
    scores: dict[int, list[float]] = field(default_factory=dict)
    higher: dict[int, bool] = field(default_factory=dict)
    stats: obj.SraStatsTotal = field(default_factory=obj.SraStatsTotal)
    ppl: float | None = None
    eval_s: float = 0.0
    reports: int = 0
    started: float = field(default_factory=time.monotonic)
    inactive: set[str] = field(default_factory=set)


@dataclass
class _Slot:
    index: int
    actor: Any
    deaths: int = 0
    pid: int | None = None
    busy: bool = False
    ready: bool = True  # False from a death until a probe (``info``) answers from the restarted actor
    probe_after: float = 0.0


# ----------------------------------------------------------------------------- the driver


class Driver:
    """Runs one study file to its budget; safe to re-run (it resumes)."""

    def __init__(self, spec: StudyFile, options: RunOptions | None = None) -> None:
        self.spec = spec
        self.opt = options or RunOptions()
        self.url = spec.storage_url(self.opt.storage)
        self.n_workers = self.opt.workers or spec.workers.count
        self.budget_trials = self.opt.trials or spec.budget.trials
        self.budget_time = self.opt.time_s or spec.budget.time_s
        if self.opt.trials and not self.opt.time_s:
            self.budget_time = None  # --trials N on the command line means "N trials", not "N or the clock"
        if spec.sampler.kind == "grid":
            size = space_mod.grid_size(spec.search_space)
            self.budget_trials = min(self.budget_trials or size, size)
        self.tasks = [t.model_copy(update={"params": resolve_file_params(t.params, self.opt.base_dir)}) for t in spec.tasks]
        self.ppl = spec.constraints.perplexity
        if self.ppl is not None:
            self.ppl = self.ppl.model_copy(update={"params": resolve_file_params(self.ppl.params, self.opt.base_dir)})
        self.dists = space_mod.distributions(spec.search_space)
        self._slots: list[_Slot] = []
        self._pending: dict[Any, tuple[str, Any, _Job | None]] = {}
        self._runs: dict[int, _TrialRun] = {}
        self._durations: list[float] = []
        self._errors_in_row = 0
        self._t0 = time.monotonic()
        self._prior_elapsed = 0.0
        self._phase = "starting"
        self._message = ""
        self._last_emit = 0.0
        self.worker_stats: list[dict[str, Any]] = []
        self.storage: Any = None
        self._created = False
        self._finished_here = 0
        self._driver_id = f"{socket.gethostname()}:{os.getpid()}"

    # ----- study --------------------------------------------------------------------

    def open_study(self) -> optuna.Study:
        spec = self.spec
        storage = open_storage(
            self.url, heartbeat_s=spec.storage.heartbeat_s, grace_s=spec.storage.grace_s, retry_s=spec.storage.retry_s
        )
        self.storage = storage
        kwargs = dict(
            study_name=spec.name,
            storage=storage,
            sampler=samplers_mod.make_sampler(spec),
            pruner=samplers_mod.make_pruner(spec),
            directions=samplers_mod.directions(spec),
        )
        # The study name is unique in the storage, so of several drivers starting together exactly
        # one creates the study; only that one enqueues the first trial (no duplicate trial 0).
        try:
            study = optuna.create_study(**kwargs, load_if_exists=False)
            self._created = True
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.create_study(**kwargs, load_if_exists=True)
            self._created = False
            n = len(study.get_trials(deepcopy=False))
            if n:
                # A resumed study: a sampler seeded as in the first run replays its random draws and
                # can propose parameters already evaluated; offset the seed by the trials so far.
                study.sampler = samplers_mod.make_sampler(spec.model_copy(update={"seed": (spec.seed + n) % 2**32}))
        attrs = study.user_attrs
        digest = spec.definition_hash()
        if attrs.get("definition_hash") not in (None, digest):
            raise StudyMismatchError(
                f"study '{spec.name}' in {redact(self.url)} was created from a different definition "
                f"(model, tasks, search space, objective, constraints, sampler or seed changed); "
                "give the study a new name, or use another storage"
            )
        if "definition_hash" not in attrs:
            study.set_user_attr("definition_hash", digest)
            study.set_user_attr("spec", spec.model_dump(mode="json"))
            study.set_user_attr("model", spec.model)
            study.set_user_attr("objective", obj.objective_label(spec))
            study.set_user_attr("fixed_params", space_mod.fixed_values(spec.search_space))
        self._prior_elapsed = float(attrs.get("elapsed_s", 0.0))
        return study

    def _enqueue_first(self, study: optuna.Study) -> None:
        if not self.spec.enqueue_paper_public or self.spec.sampler.kind == "grid":
            return
        if not self._created or study.get_trials(deepcopy=False):
            return  # only a new study starts with the paper's configuration, enqueued by its creator
        params = space_mod.paper_public_params(self.spec.search_space)
        study.enqueue_trial(params, user_attrs={"origin": "paper_public"}, skip_if_exists=True)

    # ----- budget ---------------------------------------------------------------------

    def elapsed(self) -> float:
        return self._prior_elapsed + (time.monotonic() - self._t0)

    def _counts(self, study: optuna.Study) -> dict[TrialState, int]:
        counts = {s: 0 for s in TrialState}
        for t in study.get_trials(deepcopy=False):
            counts[t.state] += 1
        return counts

    def _may_start(self, study: optuna.Study, counts: dict[TrialState, int]) -> bool:
        done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        # In flight: this driver's trials, or more when other drivers share the study.
        in_flight = max(len(self._runs), counts[TrialState.RUNNING])
        if self.budget_trials is not None and done + in_flight >= self.budget_trials:
            return False
        if self.budget_time is not None:
            # Do not start a trial that would end past the time budget (mean duration so far).
            per = sum(self._durations) / len(self._durations) if self._durations else 0.0
            if self.elapsed() + per >= self.budget_time:
                return False
        if (
            self.spec.sampler.kind == "grid"
            and counts[TrialState.WAITING] == 0  # a re-enqueued grid point still has to run
            and study.sampler.is_exhausted(study)  # type: ignore[attr-defined]
        ):
            return False
        if self._errors_in_row >= 3:
            return False
        return True

    def _eta(self, counts: dict[TrialState, int]) -> float | None:
        if not self._durations:
            return None
        per = sum(self._durations) / len(self._durations)
        eta = None
        if self.budget_trials is not None:
            done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
            left = max(0, self.budget_trials - done - len(self._runs))
            eta = (left + 0.5 * len(self._runs)) * per / max(1, self.n_workers)
        if self.budget_time is not None:
            t_left = max(0.0, self.budget_time - self.elapsed()) + (0.5 * per if self._runs else 0)
            eta = t_left if eta is None else min(eta, t_left)
        return eta

    def _emit(self, study: optuna.Study | None, force: bool = False) -> None:
        if self.opt.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < 0.5:
            return
        self._last_emit = now
        p = Progress(study=self.spec.name, phase=self._phase, message=self._message)
        p.budget_trials, p.budget_time_s, p.elapsed_s = self.budget_trials, self.budget_time, self.elapsed()
        p.workers = [{"slot": s.index, "pid": s.pid, "deaths": s.deaths, "busy": s.busy} for s in self._slots]
        if study is not None:
            counts = self._counts(study)
            p.complete, p.pruned, p.failed = counts[TrialState.COMPLETE], counts[TrialState.PRUNED], counts[TrialState.FAIL]
            p.running, p.waiting = counts[TrialState.RUNNING], counts[TrialState.WAITING]
            p.eta_s = self._eta(counts)
            best = best_feasible(study)
            if best is not None:
                p.best = trial_summary(best)
        self.opt.on_progress(p)

    # ----- Ray -----------------------------------------------------------------------

    def _start_workers(self) -> None:
        import ray

        from sra_search.search.worker import make_actor_class

        w = self.spec.workers
        address = self.opt.ray_address or w.address
        if not ray.is_initialized():
            # log_to_driver off: worker prints would interleave with the progress display and --json.
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=bool(os.environ.get("SRA_SEARCH_RAY_LOGS")),
                logging_level=logging.WARNING,
            )
        if address is None:
            # A local cluster cannot grow: refuse a request that would leave actors pending forever.
            res = ray.cluster_resources()
            need_cpu, need_gpu = self.n_workers * w.cpus, self.n_workers * w.gpus
            if need_cpu > res.get("CPU", 0) + 1e-9 or need_gpu > res.get("GPU", 0) + 1e-9:
                raise WorkerSetupError(
                    f"{self.n_workers} workers x (cpus={w.cpus}, gpus={w.gpus}) need {need_cpu:g} CPUs and "
                    f"{need_gpu:g} GPUs; this Ray has {res.get('CPU', 0):g} CPUs and {res.get('GPU', 0):g} GPUs "
                    "(lower --workers or workers.cpus, or give workers.address of a cluster)"
                )
        cls = make_actor_class(w.cpus, w.gpus, w.max_restarts)
        threads = max(1, int(w.cpus)) if w.cpus else None
        self._actor_cls, self._threads = cls, threads
        self._slots = [_Slot(i, cls.remote(self.spec.model, threads, trust_remote_code=self.spec.trust_remote_code)) for i in range(self.n_workers)]
        try:
            infos = ray.get([s.actor.info.remote() for s in self._slots])
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as exc:
            cause = getattr(exc, "cause", None) or exc
            raise WorkerSetupError(f"workers could not load model '{self.spec.model}': {_first_line(cause)}") from None
        for s, info in zip(self._slots, infos):
            s.pid = info["pid"]

    def _on_actor_death(self, slot: _Slot) -> None:
        """Ray restarts a dead actor (``max_restarts``); until it answers a probe it gets no work."""
        slot.deaths += 1
        slot.ready, slot.busy = False, False
        slot.probe_after = 0.0
        if slot.deaths > self.spec.workers.max_restarts:
            self._new_actor(slot)

    def _new_actor(self, slot: _Slot) -> None:
        """Past Ray's restarts (or once it reports the actor dead for good): a fresh actor."""
        import ray

        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:
            pass
        slot.actor = self._actor_cls.remote(self.spec.model, self._threads, trust_remote_code=self.spec.trust_remote_code)
        slot.deaths = 0

    def _probe(self, slot: _Slot) -> None:
        self._pending[slot.actor.info.remote()] = ("probe", slot.index, None)

    def _on_probe(self, slot: _Slot, ref: Any) -> None:
        import ray

        try:
            slot.pid = ray.get(ref)["pid"]
            slot.ready = True
        except ray.exceptions.ActorUnavailableError:
            slot.probe_after = time.monotonic() + 1.0  # still restarting: ask again in a second
        except ray.exceptions.RayActorError:
            self._new_actor(slot)  # dead for good
            slot.probe_after = 0.0

    def _await_ready(self, slot: _Slot, timeout: float = 900.0) -> None:
        """Blocking version of the probe, for the baseline and holdout phases."""
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                slot.pid = ray.get(slot.actor.info.remote())["pid"]
                slot.ready = True
                return
            except ray.exceptions.ActorUnavailableError:
                time.sleep(1.0)
            except ray.exceptions.RayActorError:
                self._new_actor(slot)
        raise WorkerSetupError(f"worker {slot.index} did not come back within {timeout:.0f} s")

    def _stop_workers(self) -> None:
        import ray

        try:
            # Per-worker counters (model loads, chunks, load time) for the run summary and benchmarks.
            refs = [s.actor.info.remote() for s in self._slots if s.ready]
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=10)
            self.worker_stats = [ray.get(r) for r in ready]
        except Exception:
            self.worker_stats = []
        for s in self._slots:
            try:
                ray.kill(s.actor, no_restart=True)
            except Exception:
                pass
        self._slots = []

    def worker_infos(self) -> list[dict[str, Any]]:
        import ray

        return ray.get([s.actor.info.remote() for s in self._slots])

    # ----- jobs ----------------------------------------------------------------------

    def _task_jobs(self, task: TaskSpec, index: int, split: str, n: int, sra: dict | None) -> list[_Job]:
        jobs = []
        for offset in range(0, n, task.chunk):
            payload = {
                "task": task.name,
                "params": task.params,
                "split": split,
                "offset": offset,
                "n_cases": min(task.chunk, n - offset),
                "batch_size": task.batch_size,
                "sra": sra,
            }
            jobs.append(_Job("main", index, payload))
        return jobs

    def _ppl_job(self, sra: dict | None) -> _Job:
        assert self.ppl is not None
        payload = {"task": self.ppl.task, "params": self.ppl.params, "split": "search", "offset": 0,
                   "n_cases": self.ppl.cases, "batch_size": None, "sra": sra}
        return _Job("ppl", -1, payload)

    def _map(self, jobs: list[_Job], study: optuna.Study | None) -> list[dict[str, Any]]:
        """Run jobs over all workers (baselines, holdout); a job whose worker dies is retried."""
        import ray

        results: list[dict[str, Any] | None] = [None] * len(jobs)
        queue = list(range(len(jobs)))
        tries = [0] * len(jobs)
        pending: dict[Any, tuple[int, _Slot]] = {}
        free = list(self._slots)
        while queue or pending:
            while queue and free:
                i, slot = queue.pop(0), free.pop(0)
                pending[slot.actor.evaluate.remote(jobs[i].payload)] = (i, slot)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            self._emit(study)
            for ref in ready:
                i, slot = pending.pop(ref)
                try:
                    results[i] = ray.get(ref)
                    slot.pid = results[i]["pid"]
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None) or exc
                    raise EvaluationError(
                        f"task '{jobs[i].payload['task']}' failed on a worker: {type(cause).__name__}: {_first_line(cause)}"
                    ) from None
                except ray.exceptions.RayActorError as exc:
                    tries[i] += 1
                    if tries[i] > 2:
                        raise WorkerSetupError(f"a worker died 3 times on the same job: {_first_line(exc)}") from None
                    log.warning("worker %d died during %s: %s; retrying", slot.index, jobs[i].payload["task"], _first_line(exc))
                    self._on_actor_death(slot)
                    self._await_ready(slot)
                    queue.insert(0, i)
                free.append(slot)
        return results  # type: ignore[return-value]

    # ----- baselines --------------------------------------------------------------------

    def _baseline_key(self, task_name: str, params: dict, split: str, n: int | None) -> str:
        return f"baseline:{task_name}:{split}:{_json_key(self.spec.model, task_name, params, split, n)}"

    def _ensure_baselines(self, study: optuna.Study, split: str) -> dict[str, dict[str, Any]]:
        """No-SRA results per (model, task, split), measured once and cached in the study's user attrs."""
        attrs = study.user_attrs
        out: dict[str, dict[str, Any]] = {}
        todo: list[tuple[str, list[_Job]]] = []
        for i, task in enumerate(self.tasks):
            n = task.cases.search if split == "search" else task.cases.holdout
            if n <= 0:
                continue
            key = self._baseline_key(task.name, task.params, split, n)
            if key in attrs:
                out[key] = attrs[key]
            else:
                todo.append((key, self._task_jobs(task, i, split, n, None)))
        if self.ppl is not None and split == "search":
            key = self._baseline_key(self.ppl.task, self.ppl.params, "search", self.ppl.cases)
            if key in attrs:
                out[key] = attrs[key]
            else:
                todo.append((key, [self._ppl_job(None)]))
        if not todo:
            return out
        self._phase, self._message = "baseline", f"measuring the no-SRA baseline ({split})"
        flat = [j for _, jobs in todo for j in jobs]
        results = iter(self._map(flat, study))
        for key, jobs in todo:
            parts = [next(results) for _ in jobs]
            cases = [c for r in parts for c in r["case_scores"]]
            entry = {
                "score": parts[0]["score"] if jobs[0].kind == "ppl" else obj.mean(cases),
                "case_scores": cases,
                "higher_is_better": parts[0]["higher_is_better"],
                "n_cases": len(cases),
                "eval_s": sum(r["eval_s"] for r in parts),
            }
            study.set_user_attr(key, entry)
            out[key] = entry
        return out

    # ----- trials ---------------------------------------------------------------------

    def _new_trial(self, study: optuna.Study, slot: _Slot, hb: DriverHeartbeat) -> None:
        with warnings.catch_warnings():
            # Optuna warns that heartbeats belong to study.optimize; this driver records them itself.
            warnings.simplefilter("ignore", UserWarning)
            trial = study.ask(fixed_distributions=self.dists)
        hb.add(trial._trial_id)
        try:
            config = space_mod.to_config(self.spec.search_space, trial.params).model_dump()
        except Exception as exc:  # a space that produces an invalid config is a study-file bug
            trial.set_user_attr("fail_reason", f"invalid SRA config: {exc}")
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            hb.discard(trial._trial_id)
            self._errors_in_row += 1
            return
        trial.set_user_attr("sra", config)
        trial.set_user_attr("driver", self._driver_id)  # which process ran it (several drivers may share a study)
        jobs = [j for i, t in enumerate(self.tasks) for j in self._task_jobs(t, i, "search", t.cases.search, config)]
        if self.ppl is not None:
            jobs.append(self._ppl_job(config))
        run = _TrialRun(trial=trial, config=config, slot=slot.index, jobs=jobs)
        self._runs[trial.number] = run
        slot.busy = True
        self._submit(run)

    def _submit(self, run: _TrialRun) -> None:
        slot = self._slots[run.slot]
        job = run.jobs[run.step]
        ref = slot.actor.evaluate.remote(job.payload)
        self._pending[ref] = ("trial", run.trial.number, job)

    def _partial_value(self, run: _TrialRun, baselines: dict[str, dict]) -> float:
        weighted = []
        for i, scores in run.scores.items():
            task = self.tasks[i]
            base = baselines[self._baseline_key(task.name, task.params, "search", task.cases.search)]
            weighted.append(
                (task.weight, obj.task_value(scores, base["case_scores"], self.spec.objective.target, run.higher[i]))
            )
        return obj.combine(weighted)

    def _on_result(self, study: optuna.Study, run: _TrialRun, job: _Job, res: dict, baselines: dict, hb: DriverHeartbeat) -> None:
        run.eval_s += res["eval_s"]
        self._slots[run.slot].pid = res["pid"]
        if job.kind == "main":
            run.scores.setdefault(job.task_index, []).extend(res["case_scores"])
            run.higher[job.task_index] = res["higher_is_better"]
            run.stats.add(res["sra_stats"])
            run.inactive.update((res.get("sra_stats") or {}).get("inactive_reasons") or ())
            if not self.spec.multi_objective:
                value = self._partial_value(run, baselines)
                if math.isfinite(value):
                    run.trial.report(value, step=run.reports)
                run.reports += 1
                more_cases = run.step + 1 < len(run.jobs) and run.jobs[run.step + 1].kind == "main"
                # Pruning after the last chunk would throw away a fully scored trial.
                if more_cases and run.trial.should_prune():
                    self._finish(study, run, hb, state=TrialState.PRUNED)
                    return
        else:
            base = baselines[self._baseline_key(self.ppl.task, self.ppl.params, "search", self.ppl.cases)]  # type: ignore[union-attr]
            run.ppl = res["score"] / base["score"] if base["score"] else float("inf")
        run.step += 1
        if run.step < len(run.jobs):
            self._submit(run)
            return
        value = self._partial_value(run, baselines)
        constraints = obj.constraint_values(self.spec.constraints, perplexity_ratio=run.ppl, stats=run.stats)
        for name, c in constraints.items():
            run.trial.set_constraint(name, c)
        if run.stats.edited_rows == 0 and run.inactive:
            self._report_inactive(run)
        scores = {self.tasks[i].name: obj.mean(s) for i, s in run.scores.items()}
        run.trial.set_user_attr("task_scores", scores)
        run.trial.set_user_attr("sra_stats", run.stats.to_dict())
        if run.ppl is not None:
            run.trial.set_user_attr("perplexity_ratio", run.ppl)
        if self.spec.multi_objective:
            values: list[float] = [value, run.ppl if run.ppl is not None and math.isfinite(run.ppl) else 1e6]
            self._finish(study, run, hb, values=values)
        else:
            self._finish(study, run, hb, values=[value])

    def _report_inactive(self, run: _TrialRun) -> None:
        """SRA edited nothing because it skipped every prompt: say why, once per run and on the trial."""
        why = sorted(run.inactive)[0]
        run.trial.set_user_attr("sra_inactive", why)
        self._message = (
            f"SRA edited no row in trial {run.trial.number}: {why}; the task's prompts are shorter than the SRA "
            "geometry needs (raise the task's length, or lower c_s / c_e)"
        )
        if not getattr(self, "_warned_inactive", False):
            self._warned_inactive = True
            log.warning("%s", self._message)

    def _finish(self, study: optuna.Study, run: _TrialRun, hb: DriverHeartbeat, *, values: list[float] | None = None,
                state: TrialState | None = None, reason: str | None = None, retry: bool = False) -> None:
        wall = time.monotonic() - run.started
        run.trial.set_user_attr("wall_s", round(wall, 3))
        run.trial.set_user_attr("eval_s", round(run.eval_s, 3))
        run.trial.set_user_attr("elapsed_at_end_s", round(self.elapsed(), 3))
        if reason:
            run.trial.set_user_attr("fail_reason", reason)
        if values is not None and not all(math.isfinite(v) for v in values):
            state, reason = TrialState.FAIL, "objective is not a finite number"
            run.trial.set_user_attr("fail_reason", reason)
            values = None
        frozen = study.tell(run.trial, values, state=state, skip_if_finished=True)
        hb.discard(run.trial._trial_id)
        if frozen.state in FINISHED_OK:
            self._finished_here += 1
            self._durations.append(wall)
            self._errors_in_row = 0
        if retry and frozen.state == TrialState.FAIL:
            # Optuna's retry callback re-enqueues the parameters once (it counts retry_history).
            RETRY(study, frozen)
        self._runs.pop(run.trial.number, None)
        self._slots[run.slot].busy = False
        study.set_user_attr("elapsed_s", round(self.elapsed(), 3))
        self._emit(study, force=True)

    def _trial_loop(self, study: optuna.Study, baselines: dict, hb: DriverHeartbeat) -> None:
        import ray

        self._phase, self._message = "trials", ""
        counts = self._counts(study)
        while True:
            for slot in self._slots:
                if not slot.ready and slot.probe_after and time.monotonic() >= slot.probe_after:
                    slot.probe_after = 0.0
                    self._probe(slot)
                if slot.ready and not slot.busy and self._may_start(study, counts):
                    self._new_trial(study, slot, hb)
                    counts = self._counts(study)
            may_start = self._may_start(study, counts)
            only_probes = all(kind == "probe" for kind, _, _ in self._pending.values())
            waiting_probe = any(not s.ready and s.probe_after for s in self._slots)
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
                    self._on_probe(self._slots[number], ref)
                    continue
                run = self._runs.get(number)
                if run is None:
                    continue  # already finished (a duplicate result is never told twice)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    slot = self._slots[run.slot]
                    reason = f"worker {slot.index} (pid {slot.pid}) died: {_first_line(exc)}"
                    log.warning("trial %d: %s; parameters re-enqueued once", number, reason)
                    self._finish(study, run, hb, state=TrialState.FAIL, reason=reason, retry=True)
                    self._on_actor_death(slot)
                    self._probe(slot)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    reason = f"evaluation error: {_first_line(exc.cause if hasattr(exc, 'cause') else exc)}"
                    log.warning("trial %d: %s", number, reason)
                    self._errors_in_row += 1
                    self._finish(study, run, hb, state=TrialState.FAIL, reason=reason)
                    if self._errors_in_row >= 3:
                        self._message = f"stopped: 3 trials in a row failed ({reason})"
                    continue
                try:
                    self._on_result(study, run, job, res, baselines, hb)
                except optuna.exceptions.UpdateFinishedTrialError:
                    # Another process finished this trial (e.g. failed it as stale): never tell twice.
                    log.warning("trial %d was finished elsewhere; its result is dropped", number)
                    self._drop(run, hb)
            counts = self._counts(study)
            self._emit(study)
        if self._errors_in_row >= 3:
            raise EvaluationError(self._message)

    def _drop(self, run: _TrialRun, hb: DriverHeartbeat) -> None:
        hb.discard(run.trial._trial_id)
        self._runs.pop(run.trial.number, None)
        self._slots[run.slot].busy = False
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

    # ----- holdout ----------------------------------------------------------------------

    def _holdout(self, study: optuna.Study) -> dict[str, Any] | None:
        """Re-score the best feasible trial on the holdout cases against the no-SRA baseline."""
        if not self.opt.holdout or self.spec.multi_objective or not any(t.cases.holdout for t in self.tasks):
            return None
        best = best_feasible(study)
        if best is None:
            return None
        done = study.user_attrs.get("holdout")
        if done and done.get("trial") == best.number:
            return done
        baselines = self._ensure_baselines(study, "holdout")
        self._phase, self._message = "holdout", f"re-scoring trial {best.number} on the holdout cases"
        config = best.user_attrs["sra"]
        plan = [(i, t) for i, t in enumerate(self.tasks) if t.cases.holdout > 0]
        per_task = [self._task_jobs(t, i, "holdout", t.cases.holdout, config) for i, t in plan]
        results = iter(self._map([j for jobs in per_task for j in jobs], study))
        tasks_out, weighted = {}, []
        for (i, task), jobs in zip(plan, per_task):
            cases = [c for _ in jobs for c in next(results)["case_scores"]]
            base = baselines[self._baseline_key(task.name, task.params, "holdout", task.cases.holdout)]
            tasks_out[task.name] = {"score": obj.mean(cases), "baseline": base["score"], "n_cases": len(cases)}
            weighted.append(
                (task.weight, obj.task_value(cases, base["case_scores"], self.spec.objective.target, base["higher_is_better"]))
            )
        out = {"trial": best.number, "value": obj.combine(weighted), "tasks": tasks_out, "sra": config}
        study.set_user_attr("holdout", out)
        return out

    # ----- entry point ------------------------------------------------------------------

    def check_tasks(self) -> None:
        """Validate every task's parameters with ``objectives.get`` before any worker starts."""
        import objectives

        from sra_search.search.schema import StudyFileError

        checks = [(f"tasks[{i}]", t.name, t.params) for i, t in enumerate(self.tasks)]
        if self.ppl is not None:
            checks.append(("constraints.perplexity", self.ppl.task, self.ppl.params))
        for where, name, params in checks:
            try:
                objectives.get(name, **params)
            except Exception as exc:
                raise StudyFileError(f"{where}: {exc}") from None

    def run(self) -> dict[str, Any]:
        """Run (or resume) the study until its budget; return a JSON-able summary."""
        self._t0 = time.monotonic()
        self.check_tasks()
        study = self.open_study()
        self._phase, self._message = "starting", "checking for trials left RUNNING by a stopped driver"
        self._emit(study, force=True)
        recovered = recover_stale(study, self.spec.storage.heartbeat_s, self.spec.storage.grace_s)
        self._enqueue_first(study)
        counts = self._counts(study)
        holdout = None
        need_trials = self._may_start(study, counts)
        need_holdout = self.opt.holdout and any(t.cases.holdout for t in self.tasks)
        if need_trials or need_holdout:
            self._phase, self._message = "starting", f"starting {self.n_workers} workers ({self.spec.model})"
            self._emit(study, force=True)
            if need_trials:
                self._start_workers()
                try:
                    baselines = self._ensure_baselines(study, "search")
                    with DriverHeartbeat(study._storage, self.spec.storage.heartbeat_s) as hb:
                        try:
                            self._trial_loop(study, baselines, hb)
                        except StorageUnavailableError:
                            raise  # nothing can be written: the next run's stale-trial recovery fails and retries them
                        except BaseException:
                            self._interrupt(study, hb)
                            raise
                    holdout = self._holdout(study)
                finally:
                    self._stop_workers()
            elif best_feasible(study) is not None and (study.user_attrs.get("holdout") or {}).get("trial") != best_feasible(study).number:
                self._start_workers()
                try:
                    holdout = self._holdout(study)
                finally:
                    self._stop_workers()
            else:
                holdout = study.user_attrs.get("holdout")
        study.set_user_attr("elapsed_s", round(self.elapsed(), 3))
        self._phase, self._message = "done", ""
        self._emit(study, force=True)
        counts = self._counts(study)
        best = best_feasible(study)
        return {
            "study": self.spec.name,
            "storage": redact(self.url),
            "model": self.spec.model,
            "objective": obj.objective_label(self.spec),
            "trials": {s.name.lower(): counts[s] for s in TrialState},
            # Trials this driver finished (other drivers sharing the study are not counted).
            "new_trials_done": self._finished_here,
            "recovered_stale": recovered,
            "elapsed_s": round(self.elapsed(), 3),
            "best": trial_summary(best) if best else None,
            "pareto": [trial_summary(t) for t in pareto_feasible(study)] if self.spec.multi_objective else None,
            "holdout": holdout,
            "workers": self.worker_stats,
            "storage_outages": self.storage.outage_stats() if hasattr(self.storage, "outage_stats") else None,
        }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # Ray's messages start with a generic header; the last line usually names the cause.
    return (lines[-1] if len(lines) > 1 else lines[0])[:300]


def run_study(spec: StudyFile, options: RunOptions | None = None) -> dict[str, Any]:
    """Convenience: ``Driver(spec, options).run()``."""
    return Driver(spec, options).run()


__all__ = [
    "Driver", "RunOptions", "Progress", "run_study", "best_feasible",
    "StudyMismatchError", "WorkerSetupError", "EvaluationError", "StorageUnavailableError",
]  # fmt: skip
