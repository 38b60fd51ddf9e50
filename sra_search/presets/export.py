"""Export: turn the best feasible trial of one study per length bucket into a new preset version.

Each study is one length bucket of one (model, task). For every bucket the best feasible
trial(s) are re-scored on the held-out split next to the baseline, with the study's
perplexity constraint and accumulated-attention band checked again on held-out data.

A bucket that gains at least ``min_gain`` and keeps every constraint goes into the preset;
one that does not is left out, with its reasons in the result and the preset's notes, so
prompts of that length run without SRA. If no bucket pays off nothing is written (unless
``force``, which records every bucket and marks the preset as not beating its baseline). If
the latest published version already records the same measurement, nothing new is written
either and the result points at that version (``unchanged``).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from sra_search.config import SRAConfig
from sra_search.presets.schema import (
    BucketMetrics,
    Evaluation,
    LengthBucket,
    ModelIdentity,
    PerplexityCheck,
    Preset,
    PromptTokens,
    Provenance,
    TaskSpec,
)
from sra_search.urls import redact_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sra-search", "torch", "transformers", "optuna", "ray", "sqlalchemy")


class ExportError(ValueError):
    """The studies cannot make one preset (mixed models or tasks, no feasible trial, ...)."""


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

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "bucket"}
        d["metrics"] = self.bucket.metrics.model_dump() if self.bucket else None
        d["config"] = self.bucket.config.model_dump() if self.bucket else None
        return d


@dataclass
class ExportResult:
    buckets: list[BucketOutcome]
    preset: Preset | None = None
    path: Path | None = None
    unchanged: bool = False  # the latest version already records this measurement; nothing new written

    @property
    def ok(self) -> bool:
        """At least one bucket pays off on held-out cases."""
        return any(b.ok for b in self.buckets)

    @property
    def all_ok(self) -> bool:
        return all(b.ok for b in self.buckets)


def model_key(name_or_path: str) -> str:
    """Registry key of a model: its name if valid, else a slug of the path's last part."""
    base = Path(name_or_path).name if ("/" in name_or_path or "\\" in name_or_path) else name_or_path
    key = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-.") or "model"
    return key[:64]


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _packages() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def _candidates(study, k: int) -> list:
    """The ``k`` best COMPLETE feasible trials of a single-objective study."""
    import optuna
    from optuna.trial import TrialState

    from sra_search.search.objective import is_feasible

    if len(study.directions) != 1:
        raise ExportError(f"study {study.study_name} has several objectives; export takes single-objective studies")
    trials = [
        t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
        if t.value is not None and is_feasible(t.constraints) and "sra" in t.user_attrs
    ]  # fmt: skip
    sign = 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1
    return sorted(trials, key=lambda t: -sign * t.value)[:k]


def _perplexity_split(tok, pc, params) -> str:
    """The held-out windows of the constraint's text, or the search ones when the text is too
    short to have held-out windows (the check then repeats the study's own measurement)."""
    import objectives

    try:
        objectives.get(pc.task, **params).cases(tok, split="holdout", n_cases=pc.cases or 1)
        return "holdout"
    except objectives.ObjectiveError:
        return "search"


def _evaluate_bucket(model, tok, spec, trial, lo: int, hi: int, min_gain: float, progress) -> BucketOutcome:
    import objectives

    from sra_search.search.driver import resolve_file_params

    task = spec.tasks[0]
    base_dir = None  # study files name data relative to the project root, where export runs
    params = resolve_file_params(task.params, base_dir)
    n = task.cases.holdout
    if n < 1:
        raise ExportError(f"study {spec.name}: tasks[0].cases.holdout is 0; export needs held-out cases")
    out = BucketOutcome(spec.name, trial.number, lo, hi, True)
    config = SRAConfig(**trial.user_attrs["sra"])
    common = dict(task_params=params, split="holdout", n_cases=n)
    progress(f"{spec.name}: baseline on {n} holdout cases")
    base = objectives.evaluate(model, tok, task.name, None, **common)
    progress(f"{spec.name}: trial {trial.number} on {n} holdout cases")
    sra = objectives.evaluate(model, tok, task.name, config, **common)
    hib = sra.higher_is_better
    gain = (sra.score - base.score) if hib else (base.score - sra.score)
    stats = sra.sra_stats or {}
    acc, p95 = stats.get("accumulated_attention_mean"), stats.get("accumulated_attention_p95")
    edited = stats.get("edited_rows") or 0
    examined = stats.get("examined_rows") or 0

    if not (gain > 0 if min_gain == 0 else gain >= min_gain):
        out.reasons.append(f"holdout gain {gain:+.4f} ({sra.score:.4f} vs baseline {base.score:.4f}) is not above the minimum {min_gain}")
    band = spec.constraints.attention
    if band is not None and (acc is None or not band.low <= acc <= band.high):
        out.reasons.append(f"holdout accumulated attention mean {acc} outside [{band.low}, {band.high}]")
    share = edited / examined if examined else 0.0
    if spec.constraints.min_edited_share is not None and share < spec.constraints.min_edited_share:
        out.reasons.append(f"holdout edited share {share:.4f} below {spec.constraints.min_edited_share}")

    ppl_check, ratio = None, None
    pc = spec.constraints.perplexity
    if pc is not None:
        progress(f"{spec.name}: perplexity constraint on holdout text")
        ppl_split = _perplexity_split(tok, pc, resolve_file_params(pc.params, base_dir))
        kw = dict(task_params=resolve_file_params(pc.params, base_dir), split=ppl_split, n_cases=pc.cases)
        p_base = objectives.evaluate(model, tok, pc.task, None, **kw)
        p_sra = objectives.evaluate(model, tok, pc.task, config, **kw)
        ratio = p_sra.score / p_base.score
        if not ratio <= pc.max_ratio:
            out.reasons.append(f"holdout perplexity ratio {ratio:.4f} above {pc.max_ratio}")
        ppl_check = PerplexityCheck(task_params=pc.params, n_cases=pc.cases, split=ppl_split, max_ratio=pc.max_ratio)

    def finite(x):
        return x if isinstance(x, (int, float)) and math.isfinite(x) else None

    out.bucket = LengthBucket(
        min_tokens=lo,
        max_tokens=hi,
        config=config,
        evaluation=Evaluation(
            task_params=task.params, split="holdout", n_cases=n, offset=0, min_gain=min_gain,
            perplexity=ppl_check, attention_band=[band.low, band.high] if band else None,
        ),  # fmt: skip
        metrics=BucketMetrics(
            score=sra.score, baseline_score=base.score, delta=sra.score - base.score, higher_is_better=hib,
            perplexity_ratio=finite(ratio), accumulated_attention_mean=finite(acc),
            accumulated_attention_p95=finite(p95), edited_share=share if examined else None, n_cases=sra.n_cases,
            prompt_tokens=PromptTokens(min=int(sra.prompt_tokens["min"]), mean=float(sra.prompt_tokens["mean"]),
                                       max=int(sra.prompt_tokens["max"])),
        ),  # fmt: skip
    )
    out.ok = not out.reasons
    return out


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
    load: Callable | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> ExportResult:
    """Re-score the studies' best feasible trials on holdout and publish one preset if they pay off."""
    import optuna

    from sra_search.models import load_model
    from sra_search.presets.fingerprint import model_fingerprint
    from sra_search.presets.store import latest_if_same, publish
    from sra_search.search.schema import load_study_file
    from sra_search.search.storage import open_storage

    specs = [load_study_file(f) for f in study_files]
    models = {s.model for s in specs}
    tasks = {(s.tasks[0].name) for s in specs}
    if len(models) != 1:
        raise ExportError(f"the studies use different models ({', '.join(sorted(models))}); one preset is one model")
    if any(len(s.tasks) != 1 for s in specs) or len(tasks) != 1:
        raise ExportError("one preset is one task: give studies with exactly one and the same task")
    lengths = []
    for s in specs:
        length = s.tasks[0].params.get("length")
        if not isinstance(length, int):
            raise ExportError(f"study {s.name}: tasks[0].params.length is needed to place its length bucket")
        lengths.append(length)
    if len(set(lengths)) != len(lengths):
        raise ExportError(f"two studies target the same length ({sorted(lengths)}); one study per bucket")
    order = sorted(range(len(specs)), key=lambda i: lengths[i])

    model_name = specs[0].model
    progress(f"loading {model_name}")
    model, tok = (load or load_model)(model_name)
    outcomes: list[BucketOutcome] = []
    samplers = set()
    lo = 0
    urls = []
    for i in order:
        spec = specs[i]
        url = spec.storage_url(storage)
        urls.append(redact_url(url))
        try:
            study = optuna.load_study(study_name=spec.name, storage=open_storage(url))
        except KeyError:
            raise ExportError(f"no study named {spec.name!r} in {redact_url(url)}; run `sra-search run` first") from None
        hi = lengths[i]
        best = None
        for trial in _candidates(study, candidates):
            got = _evaluate_bucket(model, tok, spec, trial, lo, hi, min_gain, progress)
            if best is None or (got.ok and not best.ok) or (
                got.ok == best.ok and got.bucket.metrics.delta * (1 if got.bucket.metrics.higher_is_better else -1)
                > best.bucket.metrics.delta * (1 if best.bucket.metrics.higher_is_better else -1)
            ):
                best = got
        if best is None:
            best = BucketOutcome(spec.name, None, lo, hi, False, ["no COMPLETE feasible trial in the study"])
        outcomes.append(best)
        samplers.add(spec.sampler.kind)
        lo = hi + 1

    result = ExportResult(outcomes)
    if not result.ok and not force:
        return result
    keep = [o for o in outcomes if o.ok] if result.ok else [o for o in outcomes if o.bucket is not None]
    if not keep:
        return result  # nothing was measured: not even --force can write it
    dropped = [o for o in outcomes if o not in keep]
    task = specs[0].tasks[0]
    shared = {k: v for k, v in task.params.items() if all(s.tasks[0].params.get(k) == v for s in specs) and k != "length"}
    preset = Preset(
        schema_version=1,
        name=f"{model_key(model_name)}/{task.name}",
        version=1,
        model=ModelIdentity(
            name=model_key(model_name), source=model_name, architecture=type(model).__name__,
            num_layers=model.config.get_text_config().num_hidden_layers, fingerprint=model_fingerprint(model),
        ),  # fmt: skip
        task=TaskSpec(name=task.name, params=shared),
        beats_baseline=result.ok,
        buckets=[o.bucket for o in keep],
        provenance=Provenance(
            study=",".join(specs[i].name for i in order), storage=",".join(dict.fromkeys(urls)),
            trials=[o.trial for o in keep], sampler=",".join(sorted(samplers)), seed=specs[0].seed, packages=_packages(),
            git_revision=_git_revision(), created=datetime.now(timezone.utc).replace(microsecond=0),
        ),  # fmt: skip
        notes=_notes(result.ok, dropped, [o for o in keep if not o.ok]),
    )
    same = latest_if_same(preset, Path(to))
    if same is not None:
        # A re-run that measured exactly what is published adds no version: versions mean change.
        result.preset, result.path = same
        result.unchanged = True
        return result
    result.preset, result.path = publish(preset, Path(to))
    return result
