"""Does the gold's log-likelihood agree with the free answer's score? Measured on recorded trials.

Racing on 0/1 free answers decides on discordant cases only, and most cases are not discordant
(docs/search.md, "Ties stop"). :func:`objectives.signal.gold_token_logprobs` gives every case a
continuous value: the gold's log-probabilities, teacher-forced after the prompt and the answer's
lead-in. Before a race leans on it, this benchmark measures on the configs and cases of recorded
studies (their recordings, ``racing_replay.py --save``):

- **agreement per case**: where a trial's free answer and the baseline's differ, how often the
  signal moves the same way (exact binomial interval); how well it tells right answers from
  wrong (AUC);
- **agreement per trial**: Spearman correlation of a trial's mean signal gain with its free-score
  gain over its recorded cases, and, the question racing asks, how well the first 4 cases'
  signal ranks trials by their 16-case free score, against the first 4 cases' free score;
- **a race on the signal, replayed**: each trial paired with the incumbent (or the baseline
  before there is one) on the signal of its first cases (one-sided paired t-test at ``--alpha``
  after each stage of ``--plan``); a trial that is not stopped is ranked on its free score over
  every case, as the task scores it. Cases spent per trial and the pick, against the recorded
  study's. A trial the recorded study pruned has no free score for its later cases: if the race
  would complete it, it counts as unmeasured (never the pick), as in ``racing_replay.py``.

``--cost N`` times instead what the signal adds to a free answer, on N search cases of the
recordings' task under the first recording's pick, each way in turn, ``--repeats`` times:
free answers alone, free answers with the signal from their own prefill (what a racing worker
runs), and the signal's full forward alone (the fallback)::

    PYTHONPATH=. .venv/bin/python benchmarks/case_signal.py --cost 8 \
        benchmarks/results/decisions-niah512/recordings/bench-tpe-median-0.json

Signals are scored once per config and kept in ``--cache`` (a pickle, written atomically after
each config), so a re-run only analyses::

    PYTHONPATH=. .venv/bin/python benchmarks/case_signal.py \\
        benchmarks/results/decisions-niah512/recordings/bench-tpe-median-{0,1,2}.json \\
        --cache runs/signal-niah512.pkl --json > benchmarks/results/case-signal-niah512.json
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import keyed_pickle  # noqa: E402
from benchmarks.racing_replay import Recording, load  # noqa: E402
from objectives.signal import gold_signal  # noqa: E402
from sra_search.search.strategies.racing import keeps_racing  # noqa: E402

BASELINE = "baseline"

SUMMARIES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean,  # mean log-probability per gold token
    "first": lambda lp: lp[0],  # the first gold token: which needle's value the answer starts with
    "min": gold_signal,  # the gold's least likely token: the product's signal
}


class SignalCache:
    """Per config (sorted JSON, or ``baseline``): the gold token log-probabilities of cases ``0 .. n-1``."""

    def __init__(self, key: dict[str, Any], path: Path | None) -> None:
        self.key = key
        self.path = path
        self.scored_s = 0.0
        doc = keyed_pickle.read(path, key, "--cache", "signals") if path is not None else None
        self.signals: dict[str, list[list[float]]] = doc["signals"] if doc is not None else {}

    def put(self, name: str, value: list[list[float]]) -> None:
        self.signals[name] = value
        if self.path is not None:
            keyed_pickle.write(self.path, self.key, signals=self.signals)


@functools.cache
def model_of(name: str) -> tuple[Any, Any]:
    """The model and tokenizer of ``name``, loaded on first use: a re-run that finds everything in
    its cache only analyses, and loads no model."""
    from sra_search.models import load_model

    return load_model(name)


def config_key(config) -> str:  # noqa: ANN001
    return json.dumps(config.model_dump(mode="json"), sort_keys=True)


def signals_from(path: Path, rec: Recording) -> Callable[[Any], list[float]]:
    """Per config (``None``: the baseline) of ``rec``, its cases' gold signals (:func:`gold_signal`)
    from a ``--cache`` file of this benchmark, for ``racing_replay.py --signals``."""
    if not path.is_file():
        raise SystemExit(f"--signals {path}: no such file (make it with benchmarks/case_signal.py --cache)")
    doc = keyed_pickle.read_doc(path)
    task = rec.spec["tasks"][0]
    want = keyed_pickle.normalised({"model": rec.spec["model"], "task": task["name"], "params": task["params"]})
    if {k: doc["key"].get(k) for k in want} != want:
        raise SystemExit(f"--signals {path}: it holds signals of {doc['key']}, not of {rec.name}'s {want}")

    def of(config) -> list[float]:  # noqa: ANN001
        name = BASELINE if config is None else config_key(config)
        if name not in doc["signals"]:
            raise SystemExit(f"--signals {path}: no signals of {name}; run benchmarks/case_signal.py on {rec.name} first")
        return [gold_signal(lp) for lp in doc["signals"][name]]

    return of


def score_signals(rec: Recording, cache: SignalCache, n: int, model_pair) -> None:  # noqa: ANN001
    """Fill ``cache`` with the baseline's and every recorded config's signals (``model_pair()`` loads on first need)."""
    from objectives.signal import gold_token_logprobs

    task = rec.spec["tasks"][0]
    todo = [(BASELINE, None)] + [(config_key(t.config), t.config) for t in rec.trials if t.scores]
    for name, config in dict(todo).items():
        if name in cache.signals:
            continue
        model, tokenizer = model_pair()
        t0 = time.perf_counter()
        got = gold_token_logprobs(model, tokenizer, task["name"], config, split="search", n_cases=n, task_params=task["params"])
        cache.scored_s += time.perf_counter() - t0
        cache.put(name, got)
        print(f"  signal of {'the baseline' if config is None else config}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _auc(pos: list[float], neg: list[float]) -> float | None:
    """P(a positive's value > a negative's), ties half: the Mann-Whitney AUC."""
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


@dataclass(frozen=True)
class Agreement:
    """How one summary of the signal agrees with free answers, over the recorded trials of some studies."""

    summary: str
    discordant: int
    same_sign: int
    same_sign_share: float
    interval: tuple[float, float]
    p_value: float
    """Exact binomial test against 0.5 (two-sided): does the sign agree more often than chance?"""
    auc_right_wrong: float | None
    trials_16: int
    spearman_16: float | None
    """A trial's mean signal gain against its free-score gain, both over its 16 cases."""
    spearman_signal_4: float | None
    """The first 4 cases' mean signal gain against the 16-case free-score gain."""
    spearman_free_4: float | None
    """The first 4 cases' free-score gain against the 16-case free-score gain (what 0/1 racing sees)."""


def _interval(test) -> tuple[float, float]:  # noqa: ANN001
    ci = test.proportion_ci()  # Clopper-Pearson, 95%
    return float(ci.low), float(ci.high)


def agreement(recs: list[Recording], cache: SignalCache, summary: str, n: int) -> Agreement:
    from scipy.stats import binomtest, spearmanr

    f = SUMMARIES[summary]
    same = disc = 0
    right: list[float] = []
    wrong: list[float] = []
    full: list[tuple[float, float, float, float]] = []
    for rec in recs:
        base_scores = rec.baseline["case_scores"]
        base = [f(lp) for lp in cache.signals[BASELINE]]
        for t in rec.trials:
            if not t.scores:
                continue
            sig = [f(lp) for lp in cache.signals[config_key(t.config)]]
            for i, s in enumerate(t.scores):
                (right if s > 0.5 else wrong).append(sig[i])
                d_free, d_sig = s - base_scores[i], sig[i] - base[i]
                if d_free != 0:
                    disc += 1
                    same += (d_sig > 0) == (d_free > 0) and d_sig != 0
            if len(t.scores) >= n:
                gain = [sig[i] - base[i] for i in range(n)]
                free = [t.scores[i] - base_scores[i] for i in range(n)]
                full.append((statistics.fmean(gain), statistics.fmean(free), statistics.fmean(gain[:4]), statistics.fmean(free[:4])))
    test = binomtest(same, disc) if disc else None

    def rho(a: int, b: int) -> float | None:
        if len(full) < 3:
            return None
        r = spearmanr([x[a] for x in full], [x[b] for x in full]).statistic
        return None if r != r else float(r)  # NaN: a constant column

    return Agreement(
        summary, disc, same, same / disc if disc else float("nan"),
        _interval(test) if test else (float("nan"), float("nan")),
        test.pvalue if test else float("nan"), _auc(right, wrong), len(full), rho(0, 1), rho(2, 1), rho(3, 1),
    )  # fmt: skip


@dataclass(frozen=True)
class SignalRace:
    """A race on the signal, replayed on one recording."""

    study: str
    summary: str
    rule: str
    plan: str
    cases_per_trial: float
    recorded_cases_per_trial: float
    stopped: int
    completed: int
    unmeasured: int
    pick: int | None
    pick_value: float | None
    recorded_pick: int | None


RULES = ("ttest", "lead", "both")
"""How a race on the signal stops a trial after a stage short of the last: ``ttest``, a one-sided
paired t-test of its signal against the comparator's on the cases so far at ``p < alpha``;
``lead``, a mean signal below the comparator's (the doubling rule, on a signal without ties);
``both``, behind on the signal and not ahead on the free answers (a trial that wins answers keeps racing)."""


def _stops(rule: str, mine: list[float], other: list[float], alpha: float, free_lead: float | None = None) -> bool:
    from scipy.stats import ttest_rel

    lead = statistics.fmean(mine) - statistics.fmean(other)
    if rule == "both":
        return not keeps_racing(lead, "level") and not (free_lead is not None and free_lead > 0)
    if rule == "lead":
        return not keeps_racing(lead, "level")  # the product's rule (racing with test = "signal")
    return lead < 0 and ttest_rel(mine, other, alternative="less").pvalue < alpha


def race(rec: Recording, cache: SignalCache, summary: str, stages: list[int], alpha: float, rule: str) -> SignalRace:
    """Replay the trials in ask order, each stopped after a stage short of the last by ``rule`` (:data:`RULES`)
    against the incumbent's signal (the baseline's before there is one) on the cases so far."""
    f = SUMMARIES[summary]
    top = stages[-1]
    base = [f(lp) for lp in cache.signals[BASELINE]]
    incumbent: tuple[float, int, list[float], tuple[float, ...]] | None = None  # (free score, number, signal, scores)
    spent, stopped, completed, unmeasured = [], 0, 0, 0
    for t in rec.trials:
        if not t.scores:
            spent.append(0)
            continue
        sig = [f(lp) for lp in cache.signals[config_key(t.config)]]
        other = incumbent[2] if incumbent else base
        theirs = incumbent[3] if incumbent else tuple(rec.baseline["case_scores"])
        cut = None
        for k in stages[:-1]:
            free = statistics.fmean(t.scores[:k]) - statistics.fmean(theirs[:k]) if len(t.scores) >= k else None
            if _stops(rule, sig[:k], other[:k], alpha, free):
                cut = k
                break
        if cut is not None:
            spent.append(cut)
            stopped += 1
            continue
        spent.append(top)
        completed += 1
        if len(t.scores) < top or t.constraints is None:
            unmeasured += 1
            continue
        value = statistics.fmean(t.scores[:top])
        feasible = all(v <= 0 for v in t.constraints.values())
        if feasible and (incumbent is None or value > incumbent[0]):
            incumbent = (value, t.number, sig, t.scores)
    base_value = statistics.fmean(rec.baseline["case_scores"][:top])
    return SignalRace(
        rec.name, summary, rule, ",".join(map(str, stages)), sum(spent) / max(1, len(spent)), rec.cases_per_trial, stopped,
        completed, unmeasured, incumbent[1] if incumbent else None,
        incumbent[0] - base_value if incumbent else None, rec.pick,
    )  # fmt: skip


def cost(rec: Recording, args: argparse.Namespace) -> int:
    """``--cost``: seconds per case of a free answer, with and without its signal, and of the full forward."""
    import objectives
    from objectives.signal import gold_token_logprobs
    from sra_search.models import load_model

    task = rec.spec["tasks"][0]
    config = next((t.config for t in rec.trials if t.number == rec.pick), rec.trials[0].config)
    model, tok = load_model(rec.spec["model"])
    kw = {"task_params": task["params"], "split": "search", "n_cases": args.cost}
    ways: dict[str, Callable[[], object]] = {
        "free answers": lambda: objectives.evaluate(model, tok, task["name"], config, **kw),
        "free answers + signal (own prefill)": lambda: objectives.evaluate(model, tok, task["name"], config, signal=True, **kw),
        "signal alone (full forward)": lambda: gold_token_logprobs(model, tok, task["name"], config, **kw),
    }
    ways["free answers"]()  # warm-up: first-call costs are not the signal's
    times: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(args.repeats):
        for name, run in ways.items():
            t0 = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - t0) / args.cost)
    base = statistics.median(times["free answers"])
    rows = {w: {"s_per_case": statistics.median(v), "runs": v, "ratio": statistics.median(v) / base} for w, v in times.items()}
    how = {"command": " ".join(["benchmarks/case_signal.py", *sys.argv[1:]]),
           "machine": "this 2-core CPU machine", "cases": args.cost, "repeats": args.repeats, "config": config.model_dump(mode="json")}  # fmt: skip
    if args.json:
        print(json.dumps({**how, "cost": rows}, indent=2))
        return 0
    print(f"cost per case, {args.cost} cases of {task['name']} {task['params']}, median of {args.repeats} interleaved rounds, this machine:")
    for w, r in rows.items():
        print(f"  {w:<38} {r['s_per_case']:6.2f} s  ({r['ratio']:.2f}x free answers alone)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recordings", nargs="+", help="recorded studies (.json from racing_replay.py --save, SQLite files or URLs)")
    p.add_argument("--cases", type=int, default=16, help="search cases per trial scored for the signal (the studies' max)")
    p.add_argument("--cache", type=Path, help="pickle keeping the signals between runs")
    p.add_argument("--plan", default="4,8,16", help="stages of the replayed race, in cases (last = every case)")
    p.add_argument("--alpha", type=float, default=0.1, help="the t-test's threshold at each look")
    p.add_argument("--cost", type=int, metavar="N", help="time the signal's cost on N cases instead (see above)")
    p.add_argument("--repeats", type=int, default=2, help="--cost: rounds of the three ways, interleaved")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    recs = [load(r) for r in args.recordings]
    if args.cost:
        return cost(recs[0], args)
    first = recs[0].spec
    tasks = {json.dumps(r.spec["tasks"][0]["name"]) + json.dumps(r.spec["tasks"][0]["params"], sort_keys=True) for r in recs}
    if len(tasks) != 1 or len({r.spec["model"] for r in recs}) != 1:
        raise SystemExit("the recordings must share one model and one task with the same parameters")
    task = first["tasks"][0]
    cache = SignalCache({"model": first["model"], "task": task["name"], "params": task["params"], "n": args.cases}, args.cache)
    t0 = time.perf_counter()
    for rec in recs:
        score_signals(rec, cache, args.cases, lambda: model_of(first["model"]))
    stages = [int(x) for x in args.plan.split(",")]
    agreements = [agreement(recs, cache, s, args.cases) for s in SUMMARIES]
    races = [race(rec, cache, s, stages, args.alpha, rule) for rule in RULES for s in SUMMARIES for rec in recs]
    how = {"command": " ".join(["benchmarks/case_signal.py", *(argv if argv is not None else sys.argv[1:])]),
           "machine": "this 2-core CPU machine", "signal_s": round(cache.scored_s, 1), "total_s": round(time.perf_counter() - t0, 1),
           "configs": len({config_key(t.config) for r in recs for t in r.trials if t.scores}), "cases": args.cases, "alpha": args.alpha, "test": "one-sided paired t-test"}  # fmt: skip
    if args.json:
        print(json.dumps({**how, "agreement": [asdict(a) for a in agreements], "races": [asdict(r) for r in races]}, indent=2))
        return 0
    print(f"gold log-likelihood against free answers: {len(recs)} recordings, {how['configs']} configs, {args.cases} cases each")
    print(f"{'summary':<7} {'discordant':>10} {'same sign':>16} {'p':>8} {'AUC':>5} {'rho16':>6} {'rho sig4':>8} {'rho free4':>9}")
    for a in agreements:
        print(f"{a.summary:<7} {a.discordant:>10} {a.same_sign_share:>6.0%} [{a.interval[0]:.0%}, {a.interval[1]:.0%}] "
              f"{a.p_value:>8.2g} {a.auc_right_wrong or float('nan'):>5.2f} {a.spearman_16 or float('nan'):>6.2f} "
              f"{a.spearman_signal_4 or float('nan'):>8.2f} {a.spearman_free_4 or float('nan'):>9.2f}")  # fmt: skip
    print(f"race on the signal ({args.plan}; ttest: one-sided paired t-test at {args.alpha}; lead: behind stops), replayed:")
    for r in races:
        print(f"  {r.study:<22} {r.summary:<6} {r.rule:<5} {r.cases_per_trial:5.2f} cases/trial (recorded {r.recorded_cases_per_trial:5.2f}, "
              f"{r.cases_per_trial / r.recorded_cases_per_trial:.2f}x), stopped {r.stopped}, completed {r.completed} "
              f"(unmeasured {r.unmeasured}); pick {r.pick} ({r.pick_value if r.pick_value is None else round(r.pick_value, 3)}), "
              f"recorded pick {r.recorded_pick}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
