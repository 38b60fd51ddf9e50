"""Export: turn the best feasible trial of one study per length bucket into a new preset version.

Each study is one length bucket of one (model, task). For every bucket the best feasible
trial(s) are re-scored on held-out cases next to the baseline, with the study's perplexity
constraint and accumulated-attention band checked again on held-out data, by the one
re-score path (:func:`objectives.compare.rescore`). The held-out cases span the bucket's
length range (``n_lengths`` task lengths from its low end to its high end), never one length.

The gate: a bucket is published only if the one-sided paired test of its config against the
baseline on those cases (:func:`sra_search.statistics.paired.paired_test`: exact McNemar for 0/1
scores, Wilcoxon otherwise) has ``p <= alpha`` after Holm's correction over the buckets of the
export (and Bonferroni over the candidates re-scored for one bucket), its interval's lower
bound is at least ``min_gain``, and it keeps every constraint. A bucket that does not pass is
left out, with its reasons (the verdict in words, with the cases it would take) in the result
and the preset's notes, so prompts of that length run without SRA. If no bucket pays off nothing is written (unless
``force``, which records every bucket and marks the preset as not beating its baseline). If
the latest published version already records the same measurement, nothing new is written
either and the result points at that version (``unchanged``).

Every export is an attempt (``presets/attempts.py``): the plan is fixed first
(:mod:`~sra_search.search.decisions.export_plan`), recorded before any case is scored, and measured on
held-out cases no earlier attempt of the model and task used; the preset records its attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from objectives.answers import with_answer_mode
from objectives.compare import Checks, Comparison, PerplexityText, gain, rescore
from sra_search.presets.attempts import Attempt, begin_attempt, finish_attempt
from sra_search.presets.schema import (
    SCHEMA_VERSION,
    BucketMetrics,
    CaseOutcomes,
    Evaluation,
    Evidence,
    LengthBucket,
    ModelIdentity,
    PerplexityCheck,
    Preset,
    PromptTokens,
    Provenance,
    TaskSpec,
    model_key,
)
from sra_search.search.decisions.bucket_range import (
    N_LENGTHS, RANGE_CASES, REFINE_STEPS, choose_range, covering_ranges, refine_edges, scan_lengths, spread_lengths,
)
from sra_search.search.results import trial_config
from sra_search.search.decisions.provenance import git_revision, package_versions
from sra_search.search.decisions.export_plan import BucketPlan, ExportError, ExportPlan, ExportSettings, plan_export
from sra_search.search.studyfile.schema import StudyFile
from sra_search.search.studyfile.task_params import resolve_file_params
from sra_search.search.decisions.transfer import measure_transfer
from sra_search.values import finite_or_none

TRANSFER_CASES = 48
"""Held-out cases per bucket on the task's unseen template (``search/decisions/transfer.py``)."""
HOLDOUT_CASES = 150
"""Default held-out cases per bucket: with it a +15-point gain at baseline 0.6 passes the gate in
at least 80% of simulated studies and no effect in at most 5% (``sra_search.statistics.simulation``)."""
@dataclass
class BucketOutcome:
    """What export measured for one bucket (one study)."""

    study: str
    trial: int | None
    min_tokens: int
    max_tokens: int
    ok: bool
    reasons: list[str] = field(default_factory=list)
    bucket: LengthBucket | None = None
    comparison: Comparison | None = None
    candidates: int = 1
    """Trials re-scored for this bucket (the Bonferroni factor of its p-value)."""
    verdict: str = ""
    lengths_chosen: str = ""
    """How the bucket's length range was chosen from search cases (empty: the study's whole range)."""

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("bucket", "comparison")}
        d["metrics"] = self.bucket.metrics.model_dump() if self.bucket else None
        d["config"] = self.bucket.config.model_dump() if self.bucket else None
        d["lengths"] = self.bucket.evaluation.lengths if self.bucket else None
        transfer = self.bucket.transfer if self.bucket else None
        d["transfer"] = transfer.model_dump(exclude={"outcomes"}) if transfer else None
        return d


@dataclass
class ExportResult:
    buckets: list[BucketOutcome]
    preset: Preset | None = None
    path: Path | None = None
    unchanged: bool = False  # the latest version already records this measurement; nothing new written
    attempt: int | None = None  # this export's attempt number for the model and task (presets/attempts.py)

    @property
    def ok(self) -> bool:
        """At least one bucket pays off on held-out cases."""
        return any(b.ok for b in self.buckets)

    @property
    def all_ok(self) -> bool:
        return all(b.ok for b in self.buckets)


def _perplexity_split(tok, pc, params) -> str:
    """The held-out windows of the constraint's text, or the search ones when the text is too
    short to have held-out windows (the check then repeats the study's own measurement)."""
    import objectives

    try:
        objectives.get(pc.task, **params).cases(tok, split="holdout", n_cases=pc.cases or 1)
        return "holdout"
    except objectives.ObjectiveError:
        return "search"


def study_checks(spec: StudyFile, min_gain: float) -> Checks:
    """What a bucket must keep on held-out cases: the study's constraints and the minimum gain."""
    band = spec.constraints.attention
    pc = spec.constraints.perplexity
    return Checks(
        min_gain=min_gain, attention_band=(band.low, band.high) if band else None,
        max_perplexity_ratio=pc.max_ratio if pc else None, min_edited_share=spec.constraints.min_edited_share,
    )  # fmt: skip


def _evaluate_bucket(
    model, tok, spec, trial, lo: int, hi: int, min_gain: float, progress, *, lengths: list[int], per_length: int,
    transfer_per_length: int, offset: int, transfer_offset: int,
) -> BucketOutcome:
    """Re-score one trial on held-out cases over the bucket's lengths: the bucket it would publish,
    and which checks it fails (the significance gate is applied by :func:`export`, over all buckets)."""
    task = spec.tasks[0]
    base_dir = None  # study files name data relative to the project root, where export runs
    params = resolve_file_params(task.params, base_dir)
    n = per_length
    if n < 1:
        raise ExportError(f"study {spec.name}: no held-out cases to export with")
    config = trial_config(trial)
    text, ppl_check = None, None
    pc = spec.constraints.perplexity
    if pc is not None:
        ppl_params = resolve_file_params(pc.params, base_dir)
        ppl_split = _perplexity_split(tok, pc, ppl_params)
        text = PerplexityText(params=ppl_params, split=ppl_split, n_cases=pc.cases, task=pc.task)
        ppl_check = PerplexityCheck(task_params=pc.params, n_cases=pc.cases, split=ppl_split, max_ratio=pc.max_ratio)
    # The gain is judged by the paired test in export(), not by the raw delta here.
    cmp = rescore(
        model, tok, task.name, params, config, split="holdout", n_cases=n, offset=offset, lengths=lengths,
        checks=study_checks(spec, min_gain), perplexity=text, require_gain=False,
        progress=lambda m: progress(f"{spec.name}, trial {trial.number}: {m}"),
    )  # fmt: skip
    stats = cmp.stats
    pt = cmp.prompt_tokens
    band = spec.constraints.attention
    bucket = LengthBucket(
        min_tokens=lo,
        max_tokens=hi,
        config=config,
        evaluation=Evaluation(
            task_params=with_answer_mode(task.name, task.params), split="holdout", n_cases=n, offset=offset, min_gain=min_gain,
            perplexity=ppl_check, attention_band=[band.low, band.high] if band else None, lengths=lengths,
        ),  # fmt: skip
        metrics=BucketMetrics(
            score=cmp.score, baseline_score=cmp.baseline_score, delta=cmp.delta, higher_is_better=cmp.higher_is_better,
            perplexity_ratio=finite_or_none(cmp.perplexity_ratio),
            accumulated_attention_mean=stats.accumulated_attention_mean if stats else None,
            accumulated_attention_p95=stats.accumulated_attention_p95 if stats else None,
            edited_share=cmp.edited_share, n_cases=cmp.n_cases,
            prompt_tokens=PromptTokens(min=int(pt["min"]), mean=float(pt["mean"]), max=int(pt["max"])),
        ),  # fmt: skip
    )
    outcomes = CaseOutcomes(keys=list(cmp.case_ids), sra=list(cmp.case_scores), baseline=list(cmp.baseline_case_scores))
    transfer = measure_transfer(model, tok, task.name, params, config, lengths=lengths, per_length=transfer_per_length,
                                offset=transfer_offset, progress=lambda m: progress(f"{spec.name}, trial {trial.number}, unseen template: {m}"))  # fmt: skip
    bucket = bucket.model_copy(update={"outcomes": outcomes, "transfer": transfer})
    return BucketOutcome(spec.name, trial.number, lo, hi, cmp.ok, list(cmp.failures.values()), bucket, cmp)


def _measure_bucket(
    model, tok, spec, trial, lo: int, hi: int, min_gain: float, progress, *, n_lengths: int, holdout_cases: int,
    range_cases: int, transfer_cases: int, attempt: Attempt, refine: int,
) -> BucketOutcome:
    """One candidate of a bucket: with ``range_cases``, first the lengths where it gains on search
    cases (:mod:`~sra_search.search.decisions.bucket_range`), then the held-out re-score over them."""
    choice = None
    if range_cases > 0:
        task = spec.tasks[0]
        scan, per = spread_lengths(spec, tok, lo, hi, n_lengths, range_cases * n_lengths, split="search")
        say = lambda m: progress(f"{spec.name}, trial {trial.number}, choosing lengths: {m}")  # noqa: E731
        params, config = resolve_file_params(task.params, None), trial_config(trial)
        points = scan_lengths(model, tok, task.name, params, config, scan, per, progress=say)
        at = lambda n: scan_lengths(model, tok, task.name, params, config, [n], per, progress=say)[0]  # noqa: E731
        choice = choose_range(refine_edges(points, at, refine))
        if not choice.ok:
            return BucketOutcome(spec.name, trial.number, lo, hi, False, [f"search cases: {choice.describe()}"])
        lo, hi = max(lo, choice.low), choice.high
    spread, per_length = spread_lengths(spec, tok, lo, hi, n_lengths, holdout_cases)
    got = _evaluate_bucket(model, tok, spec, trial, lo, hi, min_gain, progress, lengths=spread, per_length=per_length,
                           transfer_per_length=-(-transfer_cases // len(spread)), offset=attempt.holdout_offset,
                           transfer_offset=attempt.transfer_offset)  # fmt: skip
    if choice is not None:
        got.lengths_chosen = choice.describe()
    return got


def _gate(outcomes: list[BucketOutcome], alpha: float, min_gain: float) -> None:
    """The significance gate over the measured buckets of one export: paired test per bucket,
    Bonferroni over its candidates, Holm over the buckets; records the evidence on each bucket."""
    from sra_search.statistics.paired import holm

    measured = [o for o in outcomes if o.comparison is not None]
    if not measured:
        return
    tests = [o.comparison.evidence() for o in measured]  # type: ignore[union-attr]
    raw = [min(1.0, t.p_value * o.candidates) for o, t in zip(measured, tests)]
    adjusted = holm(raw, alpha).adjusted
    for o, t, p_adj in zip(measured, tests, adjusted):
        shown = t.shown(alpha, min_gain, p_value=p_adj)
        o.verdict = t.verdict(alpha, min_gain, p_value=p_adj)
        d = t.to_dict()
        evidence = Evidence(
            test=t.test, alternative=t.alternative, n=t.n, statistic=d["statistic"], p_value=t.p_value,
            p_adjusted=p_adj, alpha=alpha, delta=d["delta"], ci_low=d["ci_low"], ci_high=d["ci_high"],
            interval_level=t.interval_level, ci_method=t.ci_method, sra_only=t.sra_only,
            baseline_only=t.baseline_only, shown=shown,
        )  # fmt: skip
        b = o.bucket  # type: ignore[union-attr]
        metrics = b.metrics.model_copy(update={"evidence": evidence})
        o.bucket = b.model_copy(update={"metrics": metrics, "evaluation": b.evaluation.model_copy(update={"alpha": alpha})})
        if not shown:
            adj = f" (Holm over {len(measured)} buckets" + (f", x{o.candidates} candidates" if o.candidates > 1 else "") + ")"
            o.reasons.insert(0, f"gain not shown on held-out cases{adj}: {o.verdict}")
        tr = b.transfer
        if tr is not None and not tr.holds:
            o.reasons.append(
                f"on the unseen template '{tr.template}' SRA loses: {tr.score:.3f} vs baseline {tr.baseline_score:.3f} "
                f"({tr.delta:+.3f}, n = {tr.n_cases}); the gain fits only the search's wording"
            )
        o.ok = not o.reasons


def _bucket_gain(o: BucketOutcome) -> float:
    m = o.bucket.metrics  # type: ignore[union-attr]
    return gain(m.score, m.baseline_score, m.higher_is_better)


def _notes(ok: bool, dropped: list[BucketOutcome], forced: list[BucketOutcome]) -> str:
    parts = []
    for o in dropped:
        parts.append(f"no SRA for {o.min_tokens}-{o.max_tokens} tokens (study {o.study}): " + "; ".join(o.reasons))
    if not ok:
        parts.append("exported with --force: " + "; ".join(r for o in forced for r in o.reasons))
    return " | ".join(parts)


def export(
    study_files: list[str | Path],
    to: Path,
    *,
    storage: str | None = None,
    force: bool = False,
    min_gain: float = 0.0,
    candidates: int = 1,
    alpha: float = 0.05,
    holdout_cases: int = HOLDOUT_CASES,
    n_lengths: int = N_LENGTHS,
    range_cases: int = RANGE_CASES,
    transfer_cases: int = TRANSFER_CASES,
    refine: int = REFINE_STEPS,
    load: Callable | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> ExportResult:
    """Re-score the studies' best feasible trials on held-out cases over each bucket's lengths and
    publish one preset with the buckets that pass the significance gate (see the module doc)."""
    from sra_search.models import load_model
    from sra_search.presets.store import preset_dir

    settings = ExportSettings(min_gain=min_gain, candidates=candidates, alpha=alpha, holdout_cases=holdout_cases,
                              n_lengths=n_lengths, range_cases=range_cases, transfer_cases=transfer_cases,
                              refine=refine)  # fmt: skip
    plan = plan_export(study_files, settings, storage)
    directory = preset_dir(Path(to), model_key(plan.model), plan.task)
    attempt, again = begin_attempt(directory, plan.key(), holdout_cases, transfer_cases)
    progress(
        f"export attempt {attempt.attempt} of {model_key(plan.model)}/{plan.task}"
        + (" (this plan again: the same held-out cases)" if again else "")
        + f": held-out cases from index {attempt.holdout_offset} at each length"
    )
    progress(f"loading {plan.model}")
    model, tok = (load or load_model)(plan.model)
    outcomes = [_measure_candidates(model, tok, b, settings, attempt, progress) for b in plan.buckets]
    _gate(outcomes, alpha, min_gain)
    result = _publish(plan, model, outcomes, force, attempt, Path(to))
    if result.path is not None:
        word = "unchanged" if result.unchanged else "published" if result.ok else "recorded a finding (--force) as"
        finish_attempt(directory, attempt.attempt, f"{word} v{result.preset.version}", result.preset.version)  # type: ignore[union-attr]
    else:
        finish_attempt(directory, attempt.attempt, "nothing published: " + "; ".join(
            f"{o.min_tokens}-{o.max_tokens}: {o.reasons[0] if o.reasons else 'failed'}" for o in outcomes))
    result.attempt = attempt.attempt
    return result


def _measure_candidates(model, tok, b: BucketPlan, settings: ExportSettings, attempt: Attempt, progress) -> BucketOutcome:
    """Every candidate trial of one bucket on the attempt's held-out cases; the best of them."""
    best = None
    for trial in b.trials:
        got = _measure_bucket(model, tok, b.spec, trial, b.lo, b.hi, settings.min_gain, progress,
                              n_lengths=settings.n_lengths, holdout_cases=settings.holdout_cases,
                              range_cases=settings.range_cases, transfer_cases=settings.transfer_cases, attempt=attempt,
                              refine=settings.refine)  # fmt: skip
        if best is None or (got.ok and not best.ok) or (got.ok == best.ok and _bucket_gain(got) > _bucket_gain(best)):
            best = got
    if best is None:
        best = BucketOutcome(b.spec.name, None, b.lo, b.hi, False, ["no COMPLETE feasible trial in the study"])
    best.candidates = max(1, len(b.trials))
    return best


def _publish(plan: ExportPlan, model, outcomes: list[BucketOutcome], force: bool, attempt: Attempt, to: Path) -> ExportResult:
    """Write the buckets that passed (all measured ones with ``force``) as the next version,
    unless the latest version already records exactly this measurement."""
    from sra_search.presets.fingerprint import model_fingerprint
    from sra_search.presets.store import latest_if_same, publish

    result = ExportResult(outcomes)
    if not result.ok and not force:
        return result
    keep = [o for o in outcomes if o.ok] if result.ok else [o for o in outcomes if o.bucket is not None]
    if not keep:
        return result  # nothing was measured: not even --force can write it
    dropped = [o for o in outcomes if o not in keep]
    specs = [b.spec for b in plan.buckets]
    task = specs[0].tasks[0]
    shared = {k: v for k, v in task.params.items() if all(s.tasks[0].params.get(k) == v for s in specs) and k != "length"}
    preset = Preset(
        schema_version=SCHEMA_VERSION,
        name=f"{model_key(plan.model)}/{task.name}",
        version=1,
        model=ModelIdentity(
            name=model_key(plan.model), source=plan.model, architecture=type(model).__name__,
            num_layers=model.config.get_text_config().num_hidden_layers, fingerprint=model_fingerprint(model),
        ),  # fmt: skip
        task=TaskSpec(name=task.name, params=with_answer_mode(task.name, shared)),
        beats_baseline=result.ok,
        buckets=covering_ranges([o.bucket for o in keep]),
        provenance=Provenance(
            study=",".join(s.name for s in specs), storage=",".join(dict.fromkeys(b.storage_url for b in plan.buckets)),
            trials=[o.trial for o in keep], sampler=",".join(sorted({s.sampler.kind for s in specs})), seed=specs[0].seed,
            packages=package_versions(), git_revision=git_revision(), created=datetime.now(timezone.utc).replace(microsecond=0),
            attempt=attempt.attempt,
        ),  # fmt: skip
        notes=_notes(result.ok, dropped, [o for o in keep if not o.ok]),
    )
    same = latest_if_same(preset, to)
    if same is not None:
        # A re-run that measured exactly what is published adds no version: versions mean change.
        result.preset, result.path = same
        result.unchanged = True
        return result
    result.preset, result.path = publish(preset, to)
    return result
