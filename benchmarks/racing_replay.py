"""Racing replayed on recorded cases: what another stage plan would have spent, and picked.

A study records each trial's per-case scores (its ``outcomes`` attr) and, for a trial that
completed, its constraint values. This benchmark feeds those scores, trial by trial in the
order they were asked, through the product's own racing strategy
(:class:`~sra_search.search.strategies.racing.Racing` with its sign-test pruner, the same
:class:`~sra_search.search.trial.TrialRun` the driver uses) under other racing plans
(``initial_cases,max_cases``), on an in-memory study. Nothing is re-scored, so a plan costs
seconds; what it gives is a counterfactual on the same configs and cases, not a new search:

- the sampler would have proposed other configs after a different history (the replay keeps
  the recorded ones);
- a trial the recorded study stopped earlier than the plan would have ("short") has no scores
  for the rest: the replay stops it where its record ends and counts it, so its case count is
  a lower bound;
- a trial the recorded study pruned has no constraint values: if the plan completes it, it
  counts as infeasible (``unmeasured``), so it can never become the pick;
- a trial with no case scored (a duplicate of an earlier config) spends none in the replay either.

Fixed-chunk studies (median pruner) are the best input: every trial that completed was scored
on all its cases. The recorded study ran two workers, so its own racing saw a slightly different
incumbent than a replay in ask order; replaying a racing study with its own plan shows that gap.

    PYTHONPATH=. .venv/bin/python benchmarks/racing_replay.py --plan 8,16 --plan 4,16 \\
        runs/decisions-niah512/tpe-median-0.db runs/decisions-niah512/random-median-0.db

``--rates`` prints instead, for each plan, how often a race stops a trial short of
``max_cases`` in simulation (:func:`~sra_search.search.strategies.race_simulation.simulate_race`):
the cost in pick quality that fewer cases per trial may carry.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from objectives.outcomes import Outcomes  # noqa: E402
from sra_search.config import SRAConfig  # noqa: E402
from sra_search.search.baselines import Baselines  # noqa: E402
from sra_search.search.results import cases_seen, expand_outcomes, feasible_ranked, trial_config  # noqa: E402
from sra_search.search.storage.attrs import BASELINE_PREFIX, OUTCOMES, SPEC, baselines_of  # noqa: E402
from sra_search.search.strategies.race_simulation import simulate_race  # noqa: E402
from sra_search.search.strategies.racing import Racing  # noqa: E402
from sra_search.search.strategies.registry import make_pruner, strategy_for  # noqa: E402
from sra_search.search.studyfile.pruner_spec import PROMOTE_RULES, RacePlan  # noqa: E402
from sra_search.search.studyfile.schema import StudyFile  # noqa: E402
from sra_search.search.trial import TrialRun  # noqa: E402

UNMEASURED = "unmeasured"
"""The constraint a replayed trial gets when the plan completes a trial the record pruned (> 0: infeasible)."""


@dataclass(frozen=True)
class Recorded:
    """One recorded trial: its config, per-case scores on the search split, and constraints."""

    number: int
    config: SRAConfig
    case_ids: tuple[str, ...]
    scores: tuple[float, ...]
    constraints: dict[str, float] | None
    """``None``: never measured (the trial was pruned)."""


@dataclass(frozen=True)
class Recording:
    """A study's definition, its search baseline and its trials, in the order they were asked."""

    name: str
    spec: dict[str, Any]
    baseline: dict[str, Any]
    trials: tuple[Recorded, ...]
    cases_per_trial: float
    pick: int | None


@dataclass(frozen=True)
class Replay:
    """What one plan spent and picked on one recording."""

    study: str
    plan: str
    trials: int
    cases_per_trial: float
    stops: dict[str, int]
    short: int
    unmeasured: int
    pick: int | None
    pick_value: float | None
    pick_cases: int | None


def save(rec: Recording, path: Path) -> None:
    """Write ``rec`` as JSON (atomically), so a replay needs no study storage."""
    doc = asdict(rec)
    for t, r in zip(doc["trials"], rec.trials):
        t["config"] = r.config.model_dump(mode="json")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


def load(where: str) -> Recording:
    """A :class:`Recording`: from a JSON file :func:`save` wrote, or the one study in the storage
    ``where`` (a storage URL or an SQLite file; single-task studies only)."""
    if where.endswith(".json"):
        doc = json.loads(Path(where).read_text())
        trials = tuple(Recorded(t["number"], SRAConfig(**t["config"]), tuple(t["case_ids"]), tuple(t["scores"]), t["constraints"])
                       for t in doc.pop("trials"))  # fmt: skip
        return Recording(**doc, trials=trials)
    url = where if "://" in where else f"sqlite:///{where}"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise SystemExit(f"{where}: no such study storage (give an SQLite file, a storage URL or a recording's .json)")
    (summary,) = optuna.get_all_study_summaries(url)
    study = optuna.load_study(study_name=summary.study_name, storage=url)
    spec = SPEC.get(study)
    if spec is None:
        raise SystemExit(f"{url}: the study has no recorded study file (attribute {SPEC.key!r}); was it run by sra-search?")
    if len(spec["tasks"]) != 1:
        raise SystemExit(f"{url}: racing replays need a single-task study, this one has {len(spec['tasks'])}")
    task = spec["tasks"][0]["name"]
    (baseline,) = [v for k, v in baselines_of(study).items() if k.startswith(f"{BASELINE_PREFIX}{task}:search:")]
    trials = []
    for t in study.trials:
        record = (OUTCOMES.get(t) or {}).get(task)
        # None: no case scored (a duplicate of an earlier trial's config, or failed before its first chunk)
        ids, scores = expand_outcomes(record) if record is not None else ([], [])
        measured = t.state == TrialState.COMPLETE and bool(t.constraints)
        config = trial_config(t) or SRAConfig.paper_public()
        trials.append(Recorded(t.number, config, tuple(ids), tuple(scores), dict(t.constraints) if measured else None))
    spent = [len(r.scores) for r in trials]
    ranked = feasible_ranked(study)
    return Recording(summary.study_name, spec, baseline, tuple(trials), sum(spent) / max(1, len(spent)),
                     ranked[0].number if ranked else None)  # fmt: skip


def racing_spec(
    spec: dict[str, Any], initial: int, top: int, chunk: int, alpha: float, promote: str = "level", test: str = "sign"
) -> StudyFile:
    """The recorded study's definition with racing in place of its pruner (sign test at ``alpha``, or
    ``test = "signal"``)."""
    doc = json.loads(json.dumps(spec))
    doc["tasks"][0]["chunk"] = chunk
    cases = doc["tasks"][0]["cases"]
    cases["search"] = max(cases["search"], top)  # cases past the record's stop the trial "short"
    doc["pruner"] = {"kind": "racing", "initial_cases": initial, "max_cases": top, "test": test, "promote": promote}
    if test == "sign":
        doc["pruner"]["p_threshold"] = alpha
    doc["storage"] = {}
    doc["warm_start"] = []  # already in the recording as its first trials
    return StudyFile.model_validate(doc)


def replay(
    rec: Recording, initial: int, top: int, *, chunk: int = 4, alpha: float = 0.1, promote: str = "level",
    signals: Callable[[SRAConfig | None], list[float]] | None = None,
) -> Replay:
    """Feed ``rec``'s trials through :class:`Racing` under the plan ``initial,top`` (``promote``: the plan's rule).
    With ``signals`` (a config's per-case gold signals, ``None`` for the baseline's), the race is on
    them (``test = "signal"``)."""
    spec = racing_spec(rec.spec, initial, top, chunk, alpha, promote, "signal" if signals else "sign")
    keys = Baselines(spec.model, list(spec.tasks), None, top)
    racing = strategy_for(spec, keys)
    assert isinstance(racing, Racing)
    task = spec.tasks[0]
    baseline = {**rec.baseline, "case_signals": signals(None)} if signals else rec.baseline
    baselines = {keys.task_key(task, "search"): baseline}
    study = optuna.create_study(direction="maximize", pruner=make_pruner(spec))
    hib = bool(rec.baseline.get("higher_is_better", True))
    stops: Counter[str] = Counter()
    short = unmeasured = 0
    for r in rec.trials:
        trial = study.ask()
        if not r.scores:
            stops["no cases"] += 1
            study.tell(trial, state=TrialState.PRUNED)
            continue
        run = TrialRun(trial=trial, config=r.config, slot=0, jobs=racing.first_jobs(r.config), state=racing.new_state())
        pruned = cut = False
        while run.step < len(run.jobs):
            job = run.jobs[run.step]
            end = job.offset + job.n_cases
            if end > len(r.scores):
                cut = True
                break
            got = r.scores[job.offset : end]
            out = Outcomes(task=task.name, split="search", offset=job.offset, higher_is_better=hib, score=sum(got) / len(got),
                           case_ids=r.case_ids[job.offset : end], case_scores=got, prompt_tokens=(0,) * len(got),
                           case_signals=tuple(signals(r.config)[job.offset : end]) if signals else ())  # fmt: skip
            run.add(job, out, baselines, keys)
            if racing.after_chunk(study, run, job, out, baselines):
                pruned = True
                break
            run.step += 1
        run.record_outcomes(keys)
        racing.record(run)
        if cut or pruned:
            short += cut
            stops["short" if cut else "pruned"] += 1
            study.tell(trial, state=TrialState.PRUNED)
            continue
        stop = run.state.stop or ""
        stops["max_cases" if stop == "max_cases" else "not above" if stop.startswith("not above") else "below"] += 1
        if r.constraints is None:
            unmeasured += 1
        for name, value in (r.constraints or {UNMEASURED: 1.0}).items():
            trial.set_constraint(name, value)
        study.tell(trial, run.value(baselines, keys, "delta"))
    spent = [cases_seen(t) or 0 for t in study.trials]
    ranked = feasible_ranked(study)
    best = ranked[0] if ranked else None
    return Replay(
        rec.name, f"{initial},{top}", len(spent), sum(spent) / max(1, len(spent)), dict(stops), short, unmeasured,
        rec.trials[best.number].number if best else None, best.value if best else None, cases_seen(best) if best else None,
    )  # fmt: skip


def signals_of(args: argparse.Namespace, rec: Recording) -> Callable[[SRAConfig | None], list[float]] | None:
    """``--signals FILE``: each config's per-case gold signals from ``benchmarks/case_signal.py``'s cache."""
    if args.signals is None:
        return None
    from benchmarks.case_signal import signals_from

    return signals_from(args.signals, rec)


def _plan(text: str) -> tuple[int, int]:
    """``--plan initial_cases,max_cases``."""
    initial, top = (int(x) for x in text.split(","))
    return initial, top


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("storages", nargs="*", help="SQLite files or storage URLs (one study each), or recordings (.json)")
    p.add_argument("--plan", action="append", dest="plans", help="racing initial_cases,max_cases to replay (repeat for more; default 8,16 and 4,16)")
    p.add_argument("--chunk", type=int, default=4, help="cases per chunk (the sign test is asked after each)")
    p.add_argument("--alpha", type=float, default=0.1, help="the sign test's p_threshold, spent over the looks")
    p.add_argument("--promote", choices=PROMOTE_RULES, default="level",
                   help="what earns a trial the next stage: level with the incumbent or better, or strictly above it")  # fmt: skip
    p.add_argument("--signals", type=Path, help="race on the gold signal (test = 'signal') read from this "
                   "benchmarks/case_signal.py --cache file, instead of the sign test")  # fmt: skip
    p.add_argument("--save", type=Path, help="also write each study read as a recording (.json) in this folder")
    p.add_argument("--rates", action="store_true", help="simulated stop rates of each plan instead of a replay")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    args.plans = args.plans or ["8,16", "4,16"]
    if args.rates:
        return _rates(args)
    if not args.storages:
        p.error("name at least one study storage to replay, or --rates")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict[str, Any]] = []
    for s in args.storages:
        rec = load(s)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            save(rec, args.save / f"{rec.name}.json")
        for plan in args.plans:
            initial, top = _plan(plan)
            rep = replay(rec, initial, top, chunk=args.chunk, alpha=args.alpha, promote=args.promote, signals=signals_of(args, rec))
            rows.append({**asdict(rep), "recorded_cases_per_trial": rec.cases_per_trial, "recorded_pick": rec.pick})
    if args.json:
        doc = {"command": " ".join(sys.argv), "chunk": args.chunk, "alpha": args.alpha, "promote": args.promote,
               "test": "signal" if args.signals else "sign",
               "replays": rows, "pooled": pooled(rows)}  # fmt: skip
        print(json.dumps(doc, indent=2))
        return 0
    test = "the gold signal's means at each stage's end" if args.signals else f"sign test at {args.alpha} over the looks"
    print(f"racing replayed on recorded cases ({test}, chunks of {args.chunk}, "
          f"promote = {args.promote})")  # fmt: skip
    print(f"{'study':<24} {'plan':<6} {'cases/trial':>11} {'recorded':>9} {'ratio':>6}  {'pick (value, cases)':<22} {'recorded pick':>13}  stops")
    for r in rows:
        pick = "none" if r["pick"] is None else f"{r['pick']} ({r['pick_value']:+.3f}, {r['pick_cases']})"
        ratio = r["cases_per_trial"] / r["recorded_cases_per_trial"]
        print(f"{r['study']:<24} {r['plan']:<6} {r['cases_per_trial']:>11.2f} {r['recorded_cases_per_trial']:>9.2f} {ratio:>6.2f}  "
              f"{pick:<22} {str(r['recorded_pick']):>13}  {r['stops']} (short {r['short']}, unmeasured {r['unmeasured']})")  # fmt: skip
    for plan, m in pooled(rows).items():
        print(f"plan {plan} over the {m['recordings']} recordings: {m['cases_per_trial']:.2f} cases per trial against "
              f"{m['recorded_cases_per_trial']:.2f} recorded ({m['ratio']:.2f}x); same pick in {m['same_pick']}")  # fmt: skip
    return 0


def pooled(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per plan, the mean over recordings of the replayed and the recorded cases per trial."""
    out = {}
    for plan in dict.fromkeys(r["plan"] for r in rows):
        mine = [r for r in rows if r["plan"] == plan]
        replayed = sum(r["cases_per_trial"] for r in mine) / len(mine)
        recorded = sum(r["recorded_cases_per_trial"] for r in mine) / len(mine)
        out[plan] = {"recordings": len(mine), "cases_per_trial": replayed, "recorded_cases_per_trial": recorded,
                     "ratio": replayed / recorded, "same_pick": sum(r["pick"] == r["recorded_pick"] for r in mine)}  # fmt: skip
    return out


EDGES = {"as good": 0.0, "wins 2/3": -1 / 3, "wins 3/4": -0.5, "loses all": 1.0}
"""Trials simulated against the incumbent: the share of discordant cases each wins."""


def _rates(args: argparse.Namespace) -> int:
    """Per plan, discordance and edge: the share of 20,000 races pruned, stopped, and both."""
    rows = []
    for plan in args.plans:
        initial, top = _plan(plan)
        stages = RacePlan(initial, top, args.alpha, 0, "sign", args.chunk, args.promote).stages()
        for d in (0.2, 0.3, 0.5):
            for edge, worse_by in EDGES.items():
                r = simulate_race(d, stages, args.chunk, args.alpha, worse_by=worse_by, promote=args.promote)
                rows.append({"plan": plan, "discordance": d, "trial": edge, "pruned": r.pruned, "stopped": r.stopped, "short": r.short})
    if args.json:
        print(json.dumps({"command": " ".join(sys.argv), "chunk": args.chunk, "alpha": args.alpha, "promote": args.promote,
                          "sims": 20_000, "rates": rows}, indent=2))  # fmt: skip
        return 0
    print(f"share of 20,000 simulated races that stop a trial short of max_cases (sign test at {args.alpha}, "
          f"chunks of {args.chunk}, promote = {args.promote})")  # fmt: skip
    print(f"{'plan':<6} {'discordant':>10} {'trial':<10} {'pruned':>7} {'stopped':>8} {'short':>6}")
    for r in rows:
        print(f"{r['plan']:<6} {r['discordance']:>10.0%} {r['trial']:<10} {r['pruned']:>7.1%} {r['stopped']:>8.1%} {r['short']:>6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
