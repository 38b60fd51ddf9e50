"""Regression: re-run each preset's recorded evaluation and say whether it still pays off.

For every bucket, the recorded cases (task parameters and lengths, split, count, offset) are
scored again with and without the bucket's config on the same model, through the one re-score
path (:func:`objectives.compare.rescore`). A bucket fails when:

- the model's fingerprint no longer matches the preset's;
- its SRA score fell by more than the tolerance below the recorded one (on the same cases);
- it claims a gain (``beats_baseline``) and the gain no longer counts: for a version-2 preset,
  the paired test on the re-measured per-case outcomes is no longer significant after Holm's
  correction over the preset's buckets, or its interval no longer clears the minimum gain; for a
  version-1 preset (no recorded outcomes), the gain is not above its minimum;
- a constraint it recorded no longer holds (perplexity ratio, accumulated-attention band).

Evaluation is deterministic for a given model, code and machine, so any change means something
changed (the code, a library, the weights or the preset): version-2 presets record their
per-case outcomes and regress lists exactly the cases that flipped. ``cases=K`` re-runs only the
first K recorded cases of each length (CI); the test then uses the recorded outcomes with the
re-measured ones put in their place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from objectives.compare import Checks, PerplexityText, gain, rescore
from sra_search.presets.fingerprint import model_fingerprint
from sra_search.presets.schema import LengthBucket, Preset
from sra_search.values import json_safe


@dataclass
class BucketCheck:
    """Outcome of one bucket."""

    preset: str
    version: int
    bucket: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    recorded_score: float | None = None
    score: float | None = None
    baseline_score: float | None = None
    delta: float | None = None
    perplexity_ratio: float | None = None
    accumulated_attention_mean: float | None = None
    n_cases: int = 0
    rerun_cases: int = 0
    flipped: list[str] = field(default_factory=list)
    """Cases whose re-measured outcome differs from the recorded one: ``key: arm old -> new``."""
    evidence: dict[str, Any] | None = None
    verdict: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return json_safe(asdict(self))


def bucket_checks(bucket: LengthBucket) -> tuple[Checks, PerplexityText | None]:
    """The checks a bucket recorded at export, as the re-score path takes them."""
    ev = bucket.evaluation
    band = tuple(ev.attention_band) if ev.attention_band is not None else None
    pc = ev.perplexity
    checks = Checks(min_gain=ev.min_gain, attention_band=band, max_perplexity_ratio=pc.max_ratio if pc else None)
    text = PerplexityText(params=pc.task_params, split=pc.split, n_cases=pc.n_cases) if pc else None
    return checks, text


def _flips(keys, now_sra, now_base, recorded) -> list[str]:
    rec = {k: (s, b) for k, s, b in zip(recorded.keys, recorded.sra, recorded.baseline)}
    out = []
    for k, s, b in zip(keys, now_sra, now_base):
        if k not in rec:
            out.append(f"{k}: not among the recorded cases")
            continue
        rs, rb = rec[k]
        if s != rs:
            out.append(f"{k}: SRA {rs:g} -> {s:g}")
        if b != rb:
            out.append(f"{k}: baseline {rb:g} -> {b:g}")
    return out


def check_bucket(
    model, tokenizer, preset: Preset, bucket: LengthBucket, tolerance: float,
    progress: Callable[[str], None] | None = None, cases: int | None = None,
) -> tuple[BucketCheck, list[float] | None, list[float] | None]:
    """Re-evaluate one bucket. Returns the check and, for a version-2 bucket, the per-case SRA and
    baseline scores its paired test uses (recorded ones where a case was not re-run)."""
    ev, rec = bucket.evaluation, bucket.metrics
    label = f"{bucket.min_tokens}-{bucket.max_tokens}"
    recorded = bucket.outcomes
    n = ev.n_cases if recorded is None or cases is None else min(cases, ev.n_cases)
    out = BucketCheck(preset.name, preset.version, label, True, recorded_score=rec.score, n_cases=ev.total_cases)
    checks, text = bucket_checks(bucket)
    say = (lambda m: progress(f"{preset.name} v{preset.version} [{label}]: {m}")) if progress else None
    # Version 1 has no per-case record: its gain rule is the old one, applied here.
    cmp = rescore(
        model, tokenizer, preset.task.name, ev.task_params, bucket.config, split=ev.split, n_cases=n,
        offset=ev.offset, lengths=ev.lengths, checks=checks, perplexity=text,
        require_gain=preset.beats_baseline and recorded is None, progress=say,
    )  # fmt: skip
    out.rerun_cases = cmp.n_cases
    out.seconds = cmp.eval_s
    out.score, out.baseline_score, out.delta = cmp.score, cmp.baseline_score, cmp.delta
    out.perplexity_ratio = cmp.perplexity_ratio
    out.accumulated_attention_mean = cmp.stats.accumulated_attention_mean if cmp.stats else None
    for check, message in cmp.failures.items():
        if check == "gain":
            need = "> 0" if ev.min_gain == 0 else f">= {ev.min_gain}"
            message = f"gain over baseline vanished: {message} (needs {need})"
        out.failures.append(message)
    if recorded is None:
        _score_drop(out, rec.score, cmp.score, cmp.higher_is_better, tolerance)
        # Version 1 recorded no evidence: the paired test is reported, not gated on.
        ev = cmp.evidence()
        out.evidence = ev.to_dict()
        out.verdict = ev.verdict() + " (version-1 preset: reported, not gated)"
        return out, None, None

    out.flipped = _flips(cmp.case_ids, cmp.case_scores, cmp.baseline_case_scores, recorded)
    now = dict(zip(cmp.case_ids, zip(cmp.case_scores, cmp.baseline_case_scores)))
    was = [s for k, s in zip(recorded.keys, recorded.sra) if k in now]
    _score_drop(out, sum(was) / len(was) if was else rec.score, cmp.score, cmp.higher_is_better, tolerance)
    sra = [now.get(k, (s, b))[0] for k, s, b in zip(recorded.keys, recorded.sra, recorded.baseline)]
    base = [now.get(k, (s, b))[1] for k, s, b in zip(recorded.keys, recorded.sra, recorded.baseline)]
    return out, sra, base


def _score_drop(out: BucketCheck, recorded: float, now: float, higher_is_better: bool, tolerance: float) -> None:
    # A drop is a negative gain of the score now against the recorded one on the same cases.
    drop = -gain(now, recorded, higher_is_better)
    if drop > tolerance:
        out.failures.append(f"score fell from {recorded:.4f} to {now:.4f} (tolerance {tolerance})")


def _judge_evidence(preset: Preset, checked: list[tuple[LengthBucket, BucketCheck, list | None, list | None]]) -> None:
    """Version 2: the paired test of every bucket on its (re-)measured outcomes, Holm over the
    preset's buckets, and a failure where a claimed gain is no longer shown."""
    v2 = [(b, c, s, base) for b, c, s, base in checked if s is not None]
    if not v2:
        return
    from sra_search.statistics.paired import holm, paired_test  # the [stats] extra

    tests = [paired_test(s, base, higher_is_better=b.metrics.higher_is_better) for b, _, s, base in v2]
    alpha = next((b.metrics.evidence.alpha for b, *_ in v2 if b.metrics.evidence), 0.05)
    adjusted = holm([t.p_value for t in tests], alpha).adjusted
    for (b, c, _, _), t, p_adj in zip(v2, tests, adjusted):
        c.evidence = t.to_dict() | {"p_adjusted": p_adj}
        c.verdict = t.verdict(alpha, b.evaluation.min_gain, p_value=p_adj)
        if preset.beats_baseline and not t.shown(alpha, b.evaluation.min_gain, p_value=p_adj):
            c.failures.append(f"gain no longer shown (Holm over {len(v2)} bucket(s), alpha {alpha}): {c.verdict}")
        c.passed = not c.failures


def regress(
    presets: list[Preset],
    tolerance: float = 0.02,
    load: Callable | None = None,
    progress: Callable[[str], None] | None = None,
    cases: int | None = None,
) -> list[BucketCheck]:
    """Check every bucket of every preset; models are loaded once per source. ``cases``: re-run
    at most this many recorded cases per length of each version-2 bucket (None: all)."""
    from sra_search.models import load_model

    load = load or load_model
    cache: dict[str, tuple] = {}
    results = []
    for p in presets:
        if p.model.source not in cache:
            if progress:
                progress(f"loading {p.model.source}")
            model, tok = load(p.model.source)
            cache[p.model.source] = (model, tok, model_fingerprint(model))
        model, tok, fp = cache[p.model.source]
        if fp != p.model.fingerprint:
            results += [
                BucketCheck(p.name, p.version, f"{b.min_tokens}-{b.max_tokens}", False,
                            [f"model fingerprint {fp[:19]}... differs from the preset's {p.model.fingerprint[:19]}..."])
                for b in p.buckets
            ]  # fmt: skip
            continue
        checked = []
        for b in p.buckets:
            check, sra, base = check_bucket(model, tok, p, b, tolerance, progress, cases)
            checked.append((b, check, sra, base))
        _judge_evidence(p, checked)
        for _, c, _, _ in checked:
            c.passed = not c.failures
            results.append(c)
    return results


def junit_xml(results: list[BucketCheck]) -> str:
    """JUnit XML, one test case per bucket, for CI dashboards."""
    from xml.etree import ElementTree as ET

    suite = ET.Element(
        "testsuite", name="sra-search regress", tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)), time=f"{sum(r.seconds for r in results):.2f}",
    )  # fmt: skip
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"{r.preset}.v{r.version}", name=r.bucket, time=f"{r.seconds:.2f}")
        if not r.passed:
            ET.SubElement(case, "failure", message="; ".join(r.failures)).text = "\n".join(r.failures)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
