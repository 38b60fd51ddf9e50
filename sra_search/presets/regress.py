"""Regression: re-run each preset's recorded evaluation and say whether it still pays off.

For every bucket, the recorded cases (task parameters, split, count, offset) are scored
again with and without the bucket's config on the same model. A bucket fails when:

- the model's fingerprint no longer matches the preset's;
- its SRA score fell by more than the tolerance below the recorded one;
- its gain over the baseline measured now is below the recorded minimum (for presets that
  claim to beat the baseline);
- a constraint it recorded no longer holds (perplexity ratio, accumulated-attention band).

Evaluation is deterministic for a given model, code and machine, so any failure means
something changed: the code, a library, the weights or the preset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

from sra_search.presets.fingerprint import model_fingerprint
from sra_search.presets.schema import LengthBucket, Preset


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
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _gain(score: float, baseline: float, higher_is_better: bool) -> float:
    return score - baseline if higher_is_better else baseline - score


def check_bucket(
    model, tokenizer, preset: Preset, bucket: LengthBucket, tolerance: float, progress: Callable[[str], None] | None = None
) -> BucketCheck:
    """Re-evaluate one bucket; see the module docstring for the rules."""
    import objectives

    ev, rec = bucket.evaluation, bucket.metrics
    label = f"{bucket.min_tokens}-{bucket.max_tokens}"
    out = BucketCheck(preset.name, preset.version, label, True, recorded_score=rec.score, n_cases=ev.n_cases)
    common = dict(task_params=ev.task_params, split=ev.split, n_cases=ev.n_cases, offset=ev.offset)
    if progress:
        progress(f"{preset.name} v{preset.version} [{label}]: baseline")
    base = objectives.evaluate(model, tokenizer, preset.task.name, None, **common)
    if progress:
        progress(f"{preset.name} v{preset.version} [{label}]: SRA")
    sra = objectives.evaluate(model, tokenizer, preset.task.name, bucket.config, **common)
    out.seconds = base.wall_time_s + sra.wall_time_s
    out.score, out.baseline_score = sra.score, base.score
    out.delta = sra.score - base.score
    out.accumulated_attention_mean = (sra.sra_stats or {}).get("accumulated_attention_mean")
    hib = sra.higher_is_better

    drop = (rec.score - sra.score) if hib else (sra.score - rec.score)
    if drop > tolerance:
        out.failures.append(f"score fell from {rec.score:.4f} to {sra.score:.4f} (tolerance {tolerance})")
    gain = _gain(sra.score, base.score, hib)
    # With no recorded minimum the gain must still be positive to count as a gain.
    gain_holds = gain > 0 if ev.min_gain == 0 else gain >= ev.min_gain
    if preset.beats_baseline and not gain_holds:
        out.failures.append(
            f"gain over baseline vanished: {sra.score:.4f} vs baseline {base.score:.4f} "
            f"(gain {gain:+.4f}, needs {'> 0' if ev.min_gain == 0 else f'>= {ev.min_gain}'})"
        )
    if ev.attention_band is not None:
        acc = out.accumulated_attention_mean
        low, high = ev.attention_band
        if acc is None or not (low <= acc <= high):
            out.failures.append(f"accumulated attention mean {acc} outside [{low}, {high}]")
    if ev.perplexity is not None:
        pc = ev.perplexity
        kw = dict(task_params=pc.task_params, split=pc.split, n_cases=pc.n_cases)
        if progress:
            progress(f"{preset.name} v{preset.version} [{label}]: perplexity")
        p_base = objectives.evaluate(model, tokenizer, "perplexity", None, **kw)
        p_sra = objectives.evaluate(model, tokenizer, "perplexity", bucket.config, **kw)
        out.seconds += p_base.wall_time_s + p_sra.wall_time_s
        out.perplexity_ratio = p_sra.score / p_base.score
        if not out.perplexity_ratio <= pc.max_ratio:
            out.failures.append(f"perplexity ratio {out.perplexity_ratio:.4f} above {pc.max_ratio}")
    out.passed = not out.failures
    return out


def regress(
    presets: list[Preset],
    tolerance: float = 0.02,
    load: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[BucketCheck]:
    """Check every bucket of every preset; models are loaded once per source."""
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
        for b in p.buckets:
            results.append(check_bucket(model, tok, p, b, tolerance, progress))
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
