"""The study's no-SRA baseline, measured once and cached in its user attrs, and the holdout
re-score of the best feasible trial against it.

A cached entry (``baseline:<task>:<split>:<hash>``) is ``{score, case_scores, case_keys,
higher_is_better, n_cases, eval_s}``; ``case_keys`` are the stable case keys
(``task:params-hash:split:index``) the scores belong to. Entries written before case keys were
recorded lack them: their keys are recomputed from the task when read (the baseline was measured
on cases ``0 .. n-1`` of the split, in order). The holdout merges the workers' chunks
(:meth:`Outcomes.merge`) and pairs them with the cached baseline through
:func:`objectives.compare.compare`, the one re-score path, and records the paired evidence.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import optuna

from sra_search.search.execution.jobs import Job, perplexity_job, task_jobs
from sra_search.search.results import best_feasible, compact_outcomes, recorded_for, trial_config
from sra_search.search.storage.attrs import BASELINE_PREFIX, HOLDOUT
from sra_search.search.studyfile.schema import PerplexityConstraint, StudyFile, TaskSpec

if TYPE_CHECKING:
    from objectives.outcomes import Outcomes
    from sra_search.search.execution.pool import WorkerPool
    from sra_search.search.progress import Reporter


def _json_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def baseline_key(model: str, task_name: str, params: dict[str, Any], split: str, n: int | None) -> str:
    """The study user attr holding the baseline of ``n`` cases of ``split`` of one task."""
    return f"{BASELINE_PREFIX}{task_name}:{split}:{_json_key(model, task_name, params, split, n)}"


def split_cases(task: TaskSpec, split: str, max_search: int | None = None) -> int:
    """Cases of ``split`` the study measures (a racing study's search baseline: ``max_cases``)."""
    if split == "search":
        return task.cases.search if max_search is None else min(task.cases.search, max_search)
    return task.cases.holdout


def entry_of(outcomes: Outcomes) -> dict[str, Any]:
    """The cached form of a baseline's (merged) outcomes."""
    return {
        "score": outcomes.score,
        "case_scores": list(outcomes.case_scores),
        "case_keys": list(outcomes.case_ids),
        "higher_is_better": outcomes.higher_is_better,
        "n_cases": outcomes.n_cases,
        "eval_s": outcomes.eval_s,
        **({"case_signals": list(outcomes.case_signals)} if outcomes.case_signals else {}),
    }


def paired_scores(entry: dict[str, Any], case_ids: list[str] | tuple[str, ...]) -> list[float]:
    """The baseline's scores on the cases ``case_ids`` (paired by case key; by order for an entry
    without keys, whose cases are the split's first ones, in order)."""
    scores = [float(s) for s in entry["case_scores"]]
    keys = entry.get("case_keys")
    if not keys:
        if len(scores) < len(case_ids):
            raise ValueError("the baseline covers fewer cases than the trial")
        return scores[: len(case_ids)]
    by_key = dict(zip(keys, scores))
    missing = [k for k in case_ids if k not in by_key]
    if missing:
        raise ValueError(f"the baseline was not measured on case {missing[0]} ({len(missing)} such cases)")
    return [by_key[k] for k in case_ids]


def cached_outcomes(entry: dict[str, Any], like: Outcomes) -> Outcomes:
    """A cached baseline entry as :class:`Outcomes` (for :func:`objectives.compare.compare` with ``like``).

    Its case keys are the entry's; an entry without keys was measured on the same split, offsets
    and order as ``like``, so its cases are taken to be ``like``'s, in order.
    """
    from objectives.outcomes import Outcomes

    scores = tuple(float(s) for s in entry["case_scores"])
    if entry.get("case_keys"):
        ids = tuple(entry["case_keys"])
    else:
        ids = like.case_ids[: len(scores)] + tuple(f"{like.task}/cached-{i}" for i in range(len(like.case_ids), len(scores)))
    return Outcomes(
        task=like.task, split=like.split, offset=like.offset, higher_is_better=bool(entry["higher_is_better"]),
        score=float(entry["score"]), case_ids=ids, case_scores=scores, prompt_tokens=like.prompt_tokens[: len(scores)],
        stats=None, eval_s=float(entry.get("eval_s", 0.0)),
    )  # fmt: skip


class Baselines:
    """The baseline entries a study needs: each task on ``search`` (and ``holdout``), and the
    perplexity constraint's text."""

    def __init__(
        self, model: str, tasks: list[TaskSpec], ppl: PerplexityConstraint | None, max_search: int | None = None,
        signal: bool = False,
    ) -> None:
        """``max_search``: a racing study's ``max_cases`` (its search baseline covers that many cases);
        ``signal``: the search baseline also scores the gold log-likelihood signal (racing on it)."""
        self.model = model
        self.tasks = tasks
        self.ppl = ppl
        self.max_search = max_search
        self.signal = signal

    def cases(self, task: TaskSpec, split: str) -> int:
        return split_cases(task, split, self.max_search)

    def task_key(self, task: TaskSpec, split: str) -> str:
        return baseline_key(self.model, task.name, task.params, split, self.cases(task, split))

    @staticmethod
    def with_keys(entry: dict[str, Any], task: TaskSpec, split: str) -> dict[str, Any]:
        """``entry`` with its ``case_keys``, recomputed from the task for an entry written without them."""
        if entry.get("case_keys") or not isinstance(entry.get("case_scores"), list):
            return entry
        import objectives

        made = objectives.get(task.name, **task.params)
        return {**entry, "case_keys": [made.case_key(split, i) for i in range(len(entry["case_scores"]))]}

    def ppl_key(self) -> str:
        assert self.ppl is not None
        return baseline_key(self.model, self.ppl.task, self.ppl.params, "search", self.ppl.cases)

    def ensure(self, study: optuna.Study, split: str, pool: WorkerPool, reporter: Reporter) -> dict[str, dict[str, Any]]:
        """The entries of ``split``, measuring (on ``pool``) and caching the ones the study lacks."""
        from objectives.outcomes import Outcomes

        attrs = study.user_attrs
        out: dict[str, dict[str, Any]] = {}
        todo: list[tuple[str, list[Job]]] = []
        for i, task in enumerate(self.tasks):
            n = self.cases(task, split)
            if n <= 0:
                continue
            key = self.task_key(task, split)
            if key in attrs:
                out[key] = self.with_keys(attrs[key], task, split)
            else:
                todo.append((key, task_jobs(task, i, split, n, None, self.signal and split == "search")))
        if self.ppl is not None and split == "search":
            key = self.ppl_key()
            if key in attrs:
                out[key] = attrs[key]
            else:
                todo.append((key, [perplexity_job(self.ppl, None)]))
        if not todo:
            return out
        reporter.set("baseline", f"measuring the no-SRA baseline ({split})")
        results = iter(pool.map([j for _, jobs in todo for j in jobs], lambda: reporter.emit(study)))
        for key, jobs in todo:
            entry = entry_of(Outcomes.merge(next(results).outcomes for _ in jobs))
            study.set_user_attr(key, entry)
            out[key] = entry
        return out


def headroom_warnings(baselines: Baselines, entries: dict[str, dict[str, Any]]) -> list[str]:
    """One warning per task whose search cases' baseline leaves little room to show a gain
    (0/1 scores at or above 0.9 or at or below 0.1: :func:`objectives.headroom.headroom_warning`)."""
    from objectives.headroom import headroom_warning

    out = []
    for task in baselines.tasks:
        entry = entries.get(baselines.task_key(task, "search"))
        scores = (entry or {}).get("case_scores") or []
        if not scores or not all(s in (0, 1) for s in scores):
            continue  # the rule is about accuracies
        why = headroom_warning(sum(scores) / len(scores), len(scores))
        if why:
            out.append(f"{task.name}: {why.replace('MODEL TASK', f'{baselines.model} {task.name}')}")
    return out


def rescore_holdout(
    study: optuna.Study, spec: StudyFile, baselines: Baselines, pool: WorkerPool, reporter: Reporter
) -> dict[str, Any] | None:
    """Re-score the best feasible trial on the holdout cases against the no-SRA baseline.

    Records ``{trial, value, tasks: {name: {score, baseline, n_cases, evidence, verdict}}, outcomes,
    sra}`` as the study's ``holdout`` user attr: ``evidence`` is the one-sided paired test of the
    trial against the baseline on the holdout cases (``Comparison.evidence().to_dict()``),
    ``verdict`` its sentence, ``outcomes`` the trial's per-case scores per task (the
    :func:`~sra_search.search.results.compact_outcomes` form; the baseline's are in its cache
    entry). A trial already re-scored is not measured again.
    """
    from objectives.compare import compare
    from objectives.outcomes import Outcomes

    from sra_search.search.objective import combine, task_value

    best = best_feasible(study)
    if best is None:
        return None
    done = recorded_for(study, HOLDOUT, best)
    if done is not None:
        return done
    cached = baselines.ensure(study, "holdout", pool, reporter)
    reporter.set("holdout", f"re-scoring trial {best.number} on the holdout cases")
    config = trial_config(best)
    assert config is not None  # best_feasible trials ran a config
    plan = [(i, t) for i, t in enumerate(baselines.tasks) if t.cases.holdout > 0]
    per_task = [task_jobs(t, i, "holdout", t.cases.holdout, config) for i, t in plan]
    results = iter(pool.map([j for jobs in per_task for j in jobs], lambda: reporter.emit(study)))
    tasks_out, outcomes, weighted = {}, {}, []
    for (_, task), jobs in zip(plan, per_task):
        merged = Outcomes.merge(next(results).outcomes for _ in jobs)
        base = cached_outcomes(cached[baselines.task_key(task, "holdout")], merged)
        # No checks: the holdout reports the value; constraints were checked on the search cases.
        cmp = compare(merged, base, require_gain=False)
        evidence = cmp.evidence()
        tasks_out[task.name] = {
            "score": cmp.score, "baseline": cmp.baseline_score, "n_cases": cmp.n_cases,
            "evidence": evidence.to_dict(), "verdict": evidence.verdict(),
        }  # fmt: skip
        outcomes[task.name] = compact_outcomes(cmp.case_ids, cmp.case_scores)
        target = spec.objective.target
        weighted.append((task.weight, task_value(cmp.case_scores, cmp.baseline_case_scores, target, cmp.higher_is_better)))
    out = {"trial": best.number, "value": combine(weighted), "tasks": tasks_out, "outcomes": outcomes, "sra": config.model_dump()}
    HOLDOUT.set(study, out)
    return out
