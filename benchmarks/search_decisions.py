"""Decisions at equal CPU time (``benchmarks/search.py --decisions``): racing against the median
pruner, and TPE against random search, on one study's task.

For each seed, three studies are run one after another with the same ``[budget] time_s`` (which
counts worker start, model loading and the baseline; same 2 workers of 1 CPU each), derived
from ``--study`` (default ``studies/smollm2-passkey.toml``; its task, task parameters,
perplexity and attention constraints as there; ``--study studies/smollm2-niah-multikey.toml
--length 512`` measures the free-answer regime with room):

- ``tpe-median``: TPE and the median pruner on ``--median-cases`` search cases in chunks of 4
  (the README's main job);
- ``tpe-racing``: TPE and ``[pruner] kind = "racing"`` (``--racing INITIAL,MAX``, chunks of
  ``--racing-chunk``, ``--racing-test wilcoxon|sign|signal``, ``--racing-promote level|above``);
- ``random-median``: random search, otherwise as ``tpe-median``;
- ``tpe-racing-warm`` (only with ``--variants``): ``tpe-racing`` with the study file's
  ``warm_start`` kept (the others drop it), so its time to the final incumbent (``found_s``, the
  pick's ``elapsed_at_end_s``) is measured against its cold twin's, same seed and budget.

Then each study's pick (``best_feasible``; racing: most cases, then value) is re-scored in this
process on ``--heldout`` held-out cases of the same task (``objectives.compare.rescore`` against
one baseline measured once on those cases) and ``Comparison.evidence()`` gives the held-out gain,
its interval (90% two-sided, the one-sided 95% bound) and the one-sided p. Measured per study:
trials finished (complete + pruned), task cases spent per trial (from each trial's ``outcomes``),
and the pick's held-out evidence; over seeds: how often each pick is shown better than the
baseline (``p <= 0.05`` and the bound above 0) and how often its held-out gain is positive, and
the ratios racing / median and TPE - random measured in the same run. Racing's pick is also
tested against the median pruner's pick on the same held-out cases (paired). ``--heldout-cache
FILE`` keeps the held-out scores for later runs (``benchmarks/heldout_scores.py``), and
``--reuse`` reads studies already in ``--workdir`` back, so a new racing plan can be paired with
an earlier run's median study without running it again.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sra_search.search.storage.attrs import CONFIG, ELAPSED_AT_END_S, ELAPSED_S, EVAL_S
from sra_search.search.studyfile.pruner_spec import PROMOTE_RULES, RACING_TESTS

from benchmarks.heldout_scores import HeldOut

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "smollm2-passkey.toml"
VARIANTS = ("tpe-median", "tpe-racing", "random-median")
"""The default variants; ``--variants`` may also name ``tpe-racing-warm``."""
ALL_VARIANTS = (*VARIANTS, "tpe-racing-warm")


def add_arguments(ap) -> None:  # noqa: ANN001
    g = ap.add_argument_group("--decisions (racing vs median, TPE vs random)")
    g.add_argument("--decisions", action="store_true", help="run this benchmark instead of the scaling one")
    g.add_argument("--time", type=float, default=660.0, help="[budget] time_s of every study, seconds (the same for all three)")
    g.add_argument("--seeds", default="0,1,2", help="sampler seeds; one study per variant and seed")
    g.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"variants run per seed, comma-separated, of {', '.join(ALL_VARIANTS)}")  # fmt: skip
    g.add_argument("--heldout", type=int, default=200, help="held-out cases each pick is re-scored on")
    g.add_argument("--heldout-cache", type=Path, default=None,
                   help="keep the held-out baseline and each config's scores in this file and reuse them in later runs")  # fmt: skip
    g.add_argument("--study", default=str(STUDY), help="the study file whose task, parameters and constraints every variant keeps")
    g.add_argument("--length", type=int, default=1536, help="prompt length in tokens (the task's 'length' parameter)")
    g.add_argument("--study-trials", type=int, default=None, help="also cap every study at this many trials (TPE against random: >= 20)")
    g.add_argument("--median-cases", type=int, default=12, help="search cases of a median-pruner trial")
    g.add_argument("--racing", default="6,24", help="racing initial_cases,max_cases")
    g.add_argument("--racing-chunk", type=int, default=3, help="cases per chunk when racing")
    g.add_argument("--racing-test", choices=RACING_TESTS, default="wilcoxon",
                   help="racing's test: Optuna's Wilcoxon, the sign test, or the gold signal (free answers)")
    g.add_argument("--racing-promote", choices=PROMOTE_RULES, default="level",
                   help="what earns a racing trial the next stage: level with the incumbent or better, or strictly above")  # fmt: skip
    g.add_argument("--racing-stop-margin", type=float, default=None,
                   help="racing variants: [constraints.attention] stop_margin (a trial outside the band by more stops after a chunk)")
    g.add_argument("--model", default=None, help="model (default: the study's, smollm2-135m); 'tiny' = a random 4-layer Llama")
    g.add_argument("--workdir", default=None, help="where the SQLite studies go (default: a temporary folder)")
    g.add_argument("--reuse", action="store_true", help="read back studies already finished in --workdir instead of running them")
    g.add_argument("--merge", nargs="+", metavar="REPORT", default=None,
                   help="run nothing: combine --json reports of earlier runs (same settings, other seeds) into one summary")  # fmt: skip


def study_spec(variant: str, seed: int, args, url: str, model: str):  # noqa: ANN001
    """The main job's study file, changed for one variant of the comparison."""
    from sra_search.search.studyfile.schema import StudyFile, load_study_file

    doc = load_study_file(Path(args.study)).model_dump(mode="json", exclude_none=True)
    sampler, pruner, *warm = variant.split("-")
    if not warm:
        doc.pop("warm_start", None)  # every other variant starts from the same paper config only
    elif not doc.get("warm_start"):
        raise SystemExit(f"--variants {variant}: {args.study} has no warm_start to keep")
    if (doc.get("constraints") or {}).get("attention"):
        doc["constraints"]["attention"].pop("stop_margin", None)  # the variants' own: --racing-stop-margin
    task = doc["tasks"][0]
    task["params"] = {**task["params"], "length": args.length}
    task["cases"] = {"search": args.median_cases, "holdout": 0}
    doc["sampler"] = {"kind": "tpe", "n_startup_trials": 6} if sampler == "tpe" else {"kind": "random"}
    if pruner == "racing":
        initial, top = (int(x) for x in args.racing.split(","))
        task["cases"]["search"] = top
        task["chunk"] = args.racing_chunk
        doc["pruner"] = {"kind": "racing", "initial_cases": initial, "max_cases": top}
        if args.racing_test != "wilcoxon":
            doc["pruner"]["test"] = args.racing_test
        if args.racing_promote != "level":
            doc["pruner"]["promote"] = args.racing_promote
        if args.racing_stop_margin is not None:
            doc.setdefault("constraints", {}).setdefault("attention", {})["stop_margin"] = args.racing_stop_margin
    else:
        doc["pruner"] = {"kind": "median", "n_startup_trials": 4, "n_warmup_steps": 1}
        task["chunk"] = 4
    budget: dict[str, Any] = {"time_s": float(args.time)}
    if args.study_trials:
        budget["trials"] = int(args.study_trials)
    doc.update(name=f"bench-{variant}-{seed}", seed=seed, model=model, budget=budget)
    doc["storage"] = {**doc.get("storage", {}), "url": url}
    return StudyFile.model_validate(doc)


def run_study(spec, reuse: bool = False) -> dict[str, Any]:  # noqa: ANN001
    """Run one study to its time budget (no holdout: the held-out re-score is done here, larger).

    ``reuse``: a study already in its storage with no trial still running is read back instead
    (``run_s`` is then its recorded ``elapsed_s``), so an interrupted benchmark re-scores what it ran.
    """
    import optuna
    from optuna.trial import TrialState

    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.results import best_feasible, cases_seen, feasible_ranked

    study = None
    if reuse:
        try:
            study = optuna.load_study(study_name=spec.name, storage=spec.storage.url)
        except KeyError:
            study = None
        if study is not None and (not study.trials or study.get_trials(deepcopy=False, states=[TrialState.RUNNING])):
            raise SystemExit(f"--reuse: study {spec.name} in {spec.storage.url} is empty or has running trials; run it anew")
    if study is None:
        t0 = time.perf_counter()
        Driver(spec, RunOptions(holdout=False, base_dir=str(STUDY.parent))).run()
        run_s = time.perf_counter() - t0
        study = optuna.load_study(study_name=spec.name, storage=spec.storage.url)
    else:
        run_s = ELAPSED_S.get(study)
    done = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE, TrialState.PRUNED])
    cases = [cases_seen(t) or 0 for t in done]
    best = best_feasible(study)
    return {
        "study": spec.name,
        "run_s": round(run_s, 1),
        "elapsed_s": ELAPSED_S.get(study),
        "finished": len(done),
        "complete": sum(t.state == TrialState.COMPLETE for t in done),
        "pruned": sum(t.state == TrialState.PRUNED for t in done),
        "feasible": len(feasible_ranked(study)),  # complete trials that kept every constraint
        "cases_per_trial": round(statistics.mean(cases), 2) if cases else None,
        "cases_total": sum(cases),
        "eval_s_per_case": round(sum(EVAL_S.get(t, 0.0) for t in done) / max(1, sum(cases)), 3),
        "pick": None if best is None else {
            "trial": best.number, "search_value": best.value, "n_cases": cases_seen(best), "sra": CONFIG.get(best),
            "found_s": ELAPSED_AT_END_S.get(best),  # time to the final incumbent, seconds of the study
        },
    }  # fmt: skip


def _evidence_dict(cmp) -> dict[str, Any]:  # noqa: ANN001
    ev = cmp.evidence()
    return {"delta": ev.delta, "ci": [ev.ci_low, ev.ci_high], "p": ev.p_value, "n": ev.n, "shown": ev.shown(),
            "verdict": ev.verdict(), "sra_only": ev.sra_only, "baseline_only": ev.baseline_only}  # fmt: skip


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def parse_variants(text: str) -> list[str]:
    """``--variants``, checked against :data:`ALL_VARIANTS`."""
    variants = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in variants if v not in ALL_VARIANTS]
    if unknown or not variants:
        raise SystemExit(f"--variants: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(ALL_VARIANTS)}")
    return variants


def run(args, rel) -> dict[str, Any]:  # noqa: ANN001
    """Every study of every seed, then the held-out re-scores; the report as a dict."""
    import tempfile

    import ray

    from sra_search.statistics.paired import paired_test

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    variants = parse_variants(args.variants)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sra-search-decisions-"))
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or "smollm2-135m"
    if model == "tiny":
        model = rel.make_tiny_model(work / "tiny-llama")
    os.chdir(REPO)  # the study's relative perplexity text
    studies: dict[int, dict[str, Any]] = {}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        for seed in seeds:
            for variant in variants:
                spec = study_spec(variant, seed, args, f"sqlite:///{work / f'{variant}-{seed}.db'}", model)
                studies.setdefault(seed, {})[variant] = run_study(spec, reuse=args.reuse)
                s = studies[seed][variant]
                print(f"  seed {seed} {variant}: {s['finished']} trials ({s['pruned']} pruned), "
                      f"{s['cases_per_trial']} cases/trial, in {s['run_s']} s", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        ray.shutdown()
    t = time.perf_counter()
    task = study_spec("tpe-median", seeds[0], args, "sqlite://", model).tasks[0]
    held = HeldOut(model, task.name, dict(task.params), args.heldout, cache=args.heldout_cache)
    for seed in seeds:
        for variant, s in studies[seed].items():
            if s["pick"] is not None:
                cmp = held.compare(s["pick"]["sra"])
                s["heldout"] = _evidence_dict(cmp)
                s["heldout_scores"] = list(cmp.case_scores)
        r, m = studies[seed].get("tpe-racing", {}), studies[seed].get("tpe-median", {})
        if "heldout_scores" in r and "heldout_scores" in m:
            ev = paired_test(r["heldout_scores"], m["heldout_scores"], alternative="two-sided")
            studies[seed]["racing_vs_median_pick"] = {"delta": ev.delta, "ci": [ev.ci_low, ev.ci_high], "p": ev.p_value,
                                                      "verdict": ev.verdict()}  # fmt: skip
    rescore_s = time.perf_counter() - t
    for seed in seeds:
        for s in studies[seed].values():
            if isinstance(s, dict):
                s.pop("heldout_scores", None)
    return {
        "model": model, "seeds": seeds, "time_s": args.time, "heldout": args.heldout, "length": args.length,
        "study": Path(args.study).name, "task": task.name, "trials": args.study_trials, "racing_test": args.racing_test,
        "median_cases": args.median_cases, "racing": args.racing, "racing_chunk": args.racing_chunk, "racing_promote": args.racing_promote,
        "racing_stop_margin": args.racing_stop_margin, "variants": variants,
        "baseline_heldout_accuracy": held.baseline.score if held.baseline else None,
        "heldout_s_per_case": round(held.baseline_s / args.heldout, 3) if held.baseline else None,
        "rescore_s": round(rescore_s, 1), "configs_rescored": held.scored_now,
        "studies": {str(k): v for k, v in studies.items()}, "summary": summarize(studies, seeds),
    }  # fmt: skip


SETTINGS = ("model", "study", "task", "time_s", "trials", "heldout", "length", "median_cases", "racing", "racing_chunk",
            "racing_test", "racing_promote", "racing_stop_margin", "baseline_heldout_accuracy")
"""What must agree for reports to be merged: the same studies' settings and the same held-out cases."""
SETTING_DEFAULTS = {"racing_promote": "level", "racing_stop_margin": None}
"""Settings added after reports were written: what a report without one ran with."""


def setting(report: dict[str, Any], key: str) -> Any:
    """A report's value of one of :data:`SETTINGS` (older reports: its default)."""
    return report.get(key, SETTING_DEFAULTS.get(key))


def merge(reports: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Reports of separate runs (one seed each, e.g. on different days) as one report over all
    their seeds; refuses reports whose settings or held-out baseline differ, or that share a seed."""
    first = reports[0]
    studies: dict[int, dict[str, Any]] = {}
    for name, rep in zip(names, reports):
        for key in SETTINGS:
            if setting(rep, key) != setting(first, key):
                raise SystemExit(f"--merge: {name}: {key} = {setting(rep, key)!r}, but {names[0]} has {setting(first, key)!r}; "
                                 "merge only runs of the same settings")  # fmt: skip
        for seed, row in rep["studies"].items():
            # A seed may come from two runs with other variants (a warm twin run on another day).
            have = studies.setdefault(int(seed), {})
            if set(have) & set(_variants_of(row)):
                raise SystemExit(f"--merge: seed {seed} is in two reports ({name} and an earlier one) with the same variants")
            have.update(row)
    seeds = sorted(studies)
    return {
        **{k: setting(first, k) for k in SETTINGS}, "seeds": seeds, "merged_from": names,
        "variants": [v for v in ALL_VARIANTS if any(v in studies[s] for s in seeds)],
        "command": " ; ".join(r["command"] for r in reports), "machine": [r["machine"] for r in reports],
        "how": first["how"], "configs_rescored": sum(r["configs_rescored"] for r in reports),
        "rescore_s": round(sum(r["rescore_s"] for r in reports), 1),
        "heldout_s_per_case": first.get("heldout_s_per_case"), "total_s": round(sum(r.get("total_s", 0) for r in reports), 1),
        "studies": {str(k): studies[k] for k in seeds}, "summary": summarize(studies, seeds),
    }  # fmt: skip


def summarize(studies: dict[int, dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Means over seeds per variant, and the ratios measured in this run."""
    out: dict[str, Any] = {}
    for variant in ALL_VARIANTS:
        rows = [studies[s][variant] for s in seeds if variant in studies[s]]
        if not rows:
            continue
        picks = [r["heldout"] for r in rows if "heldout" in r]
        out[variant] = {
            "finished_mean": statistics.mean(r["finished"] for r in rows),
            "pruned_mean": statistics.mean(r["pruned"] for r in rows),
            "cases_per_trial_mean": statistics.mean(cpt) if (cpt := [r["cases_per_trial"] for r in rows if r["cases_per_trial"]]) else None,
            "picks_shown_better": sum(p["shown"] for p in picks),
            "picks_heldout_positive": sum(p["delta"] > 0 for p in picks),
            "picks": len(picks),
            "heldout_delta_mean": statistics.mean(p["delta"] for p in picks) if picks else None,
        }
    none: dict[str, Any] = {"finished_mean": None, "cases_per_trial_mean": None, "heldout_delta_mean": None}
    med, race, rnd = (out.get(v, none) for v in VARIANTS)
    out["ratios"] = {
        "racing/median trials finished": _ratio(race["finished_mean"], med["finished_mean"]),
        "racing/median cases per trial": _ratio(race["cases_per_trial_mean"], med["cases_per_trial_mean"]),
        "tpe - random held-out delta": _diff(med["heldout_delta_mean"], rnd["heldout_delta_mean"]),
    }  # fmt: skip
    if "tpe-racing-warm" in out:
        # Each figure over the seeds where both twins have it, so its two means are of the same
        # seeds (a cold study reported before found_s was recorded has no time to its pick).
        both = [s for s in seeds if "tpe-racing" in studies[s] and "tpe-racing-warm" in studies[s]]

        def paired(read) -> tuple[float | None, float | None, int]:  # noqa: ANN001
            pairs = [(w, c) for s in both
                     if (w := read(studies[s]["tpe-racing-warm"])) is not None and (c := read(studies[s]["tpe-racing"])) is not None]  # fmt: skip
            if not pairs:
                return None, None, 0
            return statistics.mean(w for w, _ in pairs), statistics.mean(c for _, c in pairs), len(pairs)

        warm_s, cold_s, n_time = paired(lambda r: (r.get("pick") or {}).get("found_s"))
        warm_d, cold_d, n_held = paired(lambda r: (r.get("heldout") or {}).get("delta"))
        out["ratios"]["warm/cold time to the final incumbent"] = _ratio(warm_s, cold_s)
        out["ratios"]["warm/cold time seeds"] = n_time
        out["ratios"]["warm - cold held-out delta"] = _diff(warm_d, cold_d)
        out["ratios"]["warm/cold seeds"] = n_held
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)


def _variants_of(row: dict[str, Any]) -> list[str]:
    """The variants a seed's row holds (it also holds ``racing_vs_median_pick``)."""
    return [v for v in ALL_VARIANTS if v in row]


def _fmt_ev(h: dict[str, Any] | None) -> str:
    if not h:
        return "no feasible pick"
    return h["verdict"]


def print_report(report: dict[str, Any]) -> None:
    print(f"command: {report['command']}")
    print(f"machine: {report['machine']}")
    print(f"how: {report['how']}")
    print(f"model {report['model']}, {report.get('task', 'passkey')} at {report['length']} tokens "
          f"({report.get('study', 'smollm2-passkey.toml')}); budget {report['time_s']} s"
          + (f" and {report['trials']} trials" if report.get("trials") else "") + " per study; "
          f"seeds {report['seeds']} (repeats = {len(report['seeds'])}); median: {report['median_cases']} cases in chunks of 4; "
          f"racing: initial,max = {report['racing']} in chunks of {report['racing_chunk']}, {report.get('racing_test', 'wilcoxon')} test, "
          f"promote = {setting(report, 'racing_promote')}"
          + (f", attention stop_margin {m}" if (m := setting(report, "racing_stop_margin")) is not None else ""))  # fmt: skip
    print(f"held-out: {report['heldout']} cases, baseline accuracy {report['baseline_heldout_accuracy']}, "
          f"{report['configs_rescored']} configs re-scored in {report['rescore_s']} s ({report['heldout_s_per_case']} s per case)")
    for seed, row in report["studies"].items():
        print(f"\nseed {seed}:")
        for variant in _variants_of(row):
            s = row[variant]
            pick = s["pick"]
            where = f"pick trial {pick['trial']} ({pick['n_cases']} cases, search {pick['search_value']:+.3f}" if pick else "no pick"
            if pick:
                found = pick.get("found_s")  # reports before 2026-12-07 lack it
                where += ")" if found is None else f", ended at {found:.0f} s)"
            feasible = "" if s.get("feasible") is None else f", {s['feasible']} feasible"  # not in reports before 2026-12-07
            print(f"  {variant:<14} {s['finished']:>3} trials ({s['complete']} complete{feasible}, {s['pruned']} pruned), "
                  f"{s['cases_per_trial']} cases/trial, {s['elapsed_s']} s; {where}")  # fmt: skip
            print(f"  {'':<14} held-out: {_fmt_ev(s.get('heldout'))}")
        if "racing_vs_median_pick" in row:
            print(f"  racing's pick vs median's pick (paired, two-sided): {row['racing_vs_median_pick']['verdict']}")
    print("\nover seeds:")
    for variant in [v for v in ALL_VARIANTS if v in report["summary"]]:
        v = report["summary"][variant]
        d = v["heldout_delta_mean"]
        cpt = v["cases_per_trial_mean"]
        print(f"  {variant:<14} trials {v['finished_mean']:.1f} (pruned {v['pruned_mean']:.1f}), cases/trial "
              f"{'n/a' if cpt is None else f'{cpt:.1f}'}; picks shown better than baseline {v['picks_shown_better']}/{v['picks']}, "
              f"held-out gain > 0 {v['picks_heldout_positive']}/{v['picks']}, mean held-out gain "
              f"{'n/a' if d is None else f'{d:+.3f}'}")  # fmt: skip
    # A seed's cold variants share one run; a warm twin may come from another.
    ratios = ", ".join(f"{k} = {v}" for k, v in report["summary"]["ratios"].items())
    print(f"ratios of the means over the seeds: {ratios}")
