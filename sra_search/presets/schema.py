"""The preset format, version 2: what a published SRA preset holds.

A preset is immutable once written. Field order in the models is the order keys are
written to disk, so diffs between versions read well. ``presets/schema/preset-v2.json``
is generated from :class:`Preset` (``sra-search presets schema``) and checked by a test.

Version 2 adds, per bucket, the evidence behind its claim (the paired test against the
baseline on held-out cases: n, the discordant counts, the test, p, Holm-adjusted p, interval,
alpha), the per-case outcomes it was measured on, and the lengths the held-out cases span.
Version 1 files stay readable; they carry no evidence.

Version 3: retrieval tasks score free answers by default since then (``objectives.answers``), and
export writes ``prime`` and ``scoring`` out; a bucket may record ``transfer``, its config on
held-out cases of a prompt template the search never saw.
Files of versions 1 and 2 were measured primed and teacher-forced; they are read with those two
parameters filled in (``objectives.answers.with_answer_mode(..., legacy=True)``), so ``regress``
re-runs what they measured and their case keys still pair.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sra_search.config import SRAConfig

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(kind: str, value: str) -> str:
    """A model or task key: lowercase letters, digits, '.', '_', '-'; never a path."""
    # fullmatch: with match, "$" also matches before a final newline ("passkey\n" would pass).
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{kind} {value!r} is not a valid name: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no '/' or '..')"
        )
    return value


def model_key(name_or_path: str) -> str:
    """Registry key of a model: its name if valid, else a slug of the path's last part."""
    from pathlib import Path

    base = Path(name_or_path).name if ("/" in name_or_path or "\\" in name_or_path) else name_or_path
    key = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-.") or "model"
    return key[:64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _finite_json(value: Any, where: str = "") -> Any:
    """Free-form parameters must be plain JSON: NaN and infinity are not."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'} must be a finite number, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite_json(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite_json(v, f"{where}[{i}]")
    return value


class ModelIdentity(_Strict):
    """Which model a preset was measured on; the fingerprint ties it to the exact weights."""

    name: str = Field(description="Lookup key, e.g. 'smollm2-135m'.")
    source: str = Field(description="Name or path the model was loaded from.")
    architecture: str = Field(description="Model class, e.g. 'LlamaForCausalLM'.")
    num_layers: int = Field(ge=1, le=10_000)
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="Hash of config and sampled weights.")

    _check_name = field_validator("name")(lambda cls, v: check_name("model name", v))


class TaskSpec(_Strict):
    """The task a preset was tuned for, with the parameters shared by all buckets."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    _params = field_validator("params")(lambda cls, v: _finite_json(v))
    _check_name = field_validator("name")(lambda cls, v: check_name("task name", v))


class PerplexityCheck(_Strict):
    """The perplexity constraint: SRA's perplexity on a text over the baseline's, at most ``max_ratio``."""

    task_params: dict[str, Any] = Field(description="Parameters of the `perplexity` task (the text).")
    n_cases: int | None = Field(default=None, ge=1, le=10_000_000)
    split: Literal["search", "holdout"] = "holdout"
    max_ratio: float = Field(gt=1.0, le=100.0)

    _params = field_validator("task_params")(lambda cls, v: _finite_json(v))


class Evaluation(_Strict):
    """How a bucket's metrics were measured and what it must keep; ``regress`` re-runs exactly this."""

    task_params: dict[str, Any] = Field(description="Full task parameters (length, seed, ...).")
    split: Literal["search", "holdout"] = "holdout"
    n_cases: int = Field(ge=1, le=10_000_000)
    offset: int = Field(default=0, ge=0, le=10_000_000)
    min_gain: float = Field(default=0.0, ge=0, le=1e9, description="Smallest held-out gain over baseline that counts.")
    perplexity: PerplexityCheck | None = None
    attention_band: list[Annotated[float, Field(gt=0, le=100)]] | None = Field(
        default=[1.1, 1.4], min_length=2, max_length=2, description="Allowed [low, high] mean accumulated attention."
    )
    lengths: list[Annotated[int, Field(ge=1, le=100_000_000)]] | None = Field(
        default=None, max_length=64,
        description="Task lengths the held-out cases span: n_cases cases at each (v2); None: task_params.length only.",
    )  # fmt: skip
    alpha: float | None = Field(default=None, gt=0, lt=1, description="Significance level of the export gate (v2).")

    _params = field_validator("task_params")(lambda cls, v: _finite_json(v))

    def variants(self) -> list[dict[str, Any]]:
        """The task parameters of each group of held-out cases (one per length)."""
        if not self.lengths:
            return [dict(self.task_params)]
        return [{**self.task_params, "length": n} for n in self.lengths]

    @property
    def total_cases(self) -> int:
        return self.n_cases * (len(self.lengths) if self.lengths else 1)

    @field_validator("attention_band")
    @classmethod
    def _band(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not (0 < v[0] <= v[1]):
            raise ValueError(f"must be [low, high] with 0 < low <= high, got {list(v)}")
        return v


class PromptTokens(_Strict):
    """Prompt lengths of the evaluated cases, in tokens."""

    min: int = Field(ge=0, le=100_000_000)
    mean: float = Field(ge=0, le=100_000_000)
    max: int = Field(ge=0, le=100_000_000)


Bounded = Annotated[float, Field(ge=-1e9, le=1e9)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Evidence(_Strict):
    """The paired test of a bucket's config against the baseline on the same held-out cases."""

    test: str = Field(max_length=200, description="e.g. 'exact McNemar (sign test)', 'Wilcoxon signed-rank'.")
    alternative: Literal["greater", "less", "two-sided"] = "greater"
    n: int = Field(ge=0, le=10_000_000)
    statistic: Bounded | None = None
    p_value: Probability
    p_adjusted: Probability = Field(description="Holm-adjusted over the buckets of the export.")
    alpha: float = Field(gt=0, lt=1)
    delta: Bounded | None = Field(description="Mean gain per case, oriented: positive is better.")
    ci_low: Bounded | None = None
    ci_high: Bounded | None = None
    interval_level: Probability = Field(description="Coverage of [ci_low, ci_high] (0.90: a one-sided 95% bound).")
    ci_method: str = Field(max_length=200)
    sra_only: int | None = Field(default=None, ge=0, description="0/1 scores: cases only SRA got right.")
    baseline_only: int | None = Field(default=None, ge=0, description="0/1 scores: cases only the baseline got right.")
    shown: bool = Field(description="p_adjusted <= alpha and ci_low >= the minimum gain.")


class CaseOutcomes(_Strict):
    """Per-case scores of the held-out evaluation, paired by stable case key; ``regress`` says
    exactly which cases flipped."""

    keys: list[Annotated[str, Field(max_length=300)]] = Field(max_length=100_000)
    sra: list[Bounded] = Field(max_length=100_000)
    baseline: list[Bounded] = Field(max_length=100_000)

    @model_validator(mode="after")
    def _same_length(self) -> "CaseOutcomes":
        if not len(self.keys) == len(self.sra) == len(self.baseline):
            raise ValueError(f"keys, sra and baseline differ in length ({len(self.keys)}, {len(self.sra)}, {len(self.baseline)})")
        return self


class BucketMetrics(_Strict):
    """Held-out measurements of one bucket's config next to the baseline on the same cases."""

    score: Bounded
    baseline_score: Bounded
    delta: Bounded
    higher_is_better: bool = True
    perplexity_ratio: float | None = Field(default=None, gt=0, le=1e9)
    accumulated_attention_mean: float | None = Field(default=None, ge=0, le=1e9)
    accumulated_attention_p95: float | None = Field(default=None, ge=0, le=1e9)
    edited_share: float | None = Field(default=None, ge=0, le=1)
    n_cases: int = Field(ge=1, le=10_000_000)
    prompt_tokens: PromptTokens
    evidence: Evidence | None = Field(default=None, description="The paired test (v2).")


class Transfer(_Strict):
    """The bucket's config on held-out cases of a prompt template the search never saw (v3):
    a gain that only fits the search's wording shows here."""

    template: str = Field(max_length=64, description="The task's template parameter for these cases.")
    n_cases: int = Field(ge=1, le=10_000_000)
    offset: int = Field(default=0, ge=0, le=10_000_000, description="First held-out case index at each length.")
    lengths: list[Annotated[int, Field(ge=1, le=100_000_000)]] = Field(max_length=64)
    score: Bounded
    baseline_score: Bounded
    delta: Bounded
    test: str = Field(max_length=200)
    p_value: Probability = Field(description="One-sided (SRA better) paired test on these cases alone.")
    ci_low: Bounded | None = None
    ci_high: Bounded | None = None
    interval_level: Probability
    sra_only: int | None = Field(default=None, ge=0)
    baseline_only: int | None = Field(default=None, ge=0)
    holds: bool = Field(description="delta >= 0: the gain does not turn into a loss on the unseen template.")
    outcomes: CaseOutcomes


class LengthBucket(_Strict):
    """A prompt-length range ``[min_tokens, max_tokens]`` (inclusive) and its config."""

    min_tokens: int = Field(ge=0, le=100_000_000)
    max_tokens: int = Field(ge=1, le=100_000_000)
    config: SRAConfig
    evaluation: Evaluation
    metrics: BucketMetrics
    outcomes: CaseOutcomes | None = Field(default=None, description="Per-case held-out outcomes (v2).")
    transfer: Transfer | None = Field(default=None, description="Held-out cases of an unseen template (v3; None: the task has one template).")

    @model_validator(mode="after")
    def _range(self) -> "LengthBucket":
        if self.max_tokens < self.min_tokens:
            raise ValueError(f"max_tokens ({self.max_tokens}) must be >= min_tokens ({self.min_tokens})")
        # The outcomes are stored length by length, n_cases each; a count that does not match
        # would pair cases with the wrong length.
        if self.outcomes is not None and len(self.outcomes.keys) != self.evaluation.total_cases:
            raise ValueError(
                f"outcomes: {len(self.outcomes.keys)} cases recorded, but evaluation.n_cases x lengths is "
                f"{self.evaluation.total_cases}; re-export the preset"
            )
        return self

    def contains(self, n: int) -> bool:
        return self.min_tokens <= n <= self.max_tokens


def _legacy_bucket(task: str, bucket: Any) -> Any:
    ev = bucket.get("evaluation") if isinstance(bucket, dict) else None
    if not (isinstance(ev, dict) and isinstance(ev.get("task_params"), dict)):
        return bucket
    from objectives.answers import with_answer_mode

    return {**bucket, "evaluation": {**ev, "task_params": with_answer_mode(task, ev["task_params"], legacy=True)}}


class Provenance(_Strict):
    """Where the preset came from."""

    study: str
    storage: str = Field(description="Storage URL with any password removed.")
    trials: list[int] = Field(description="Trial number per bucket.", max_length=1000)
    sampler: str
    seed: int | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    git_revision: str | None = None
    created: datetime
    attempt: int | None = Field(
        default=None, ge=1, le=1_000_000,
        description="Which export attempt of this model and task made it (v3; attempts.json beside the versions).",
    )  # fmt: skip

    @field_validator("created", mode="before")
    @classmethod
    def _iso(cls, v: object) -> object:
        # Files are read in strict mode (no silent coercion); JSON has no datetime type.
        return datetime.fromisoformat(v) if isinstance(v, str) else v

    @field_validator("storage")
    @classmethod
    def _no_password(cls, v: str) -> str:
        # Every part is checked as redact_url sees it: a URL it would change still holds a secret.
        from sra_search.urls import redact_url

        parts = re.split(r",(?=[A-Za-z][A-Za-z0-9+.\-]*://)", v)
        if any(redact_url(p) != p for p in parts if "://" in p or "@" in p):
            raise ValueError("must not contain a password or other secret; use sra_search.presets.redact_url")
        return v


class Preset(_Strict):
    """A published SRA preset: per prompt-length bucket, a config measured on held-out cases."""

    schema_version: Literal[1, 2, 3] = Field(description="Format version; readers refuse files without it.")
    name: str = Field(description="'<model>/<task>'.")
    version: int = Field(ge=1, le=999_999_999, description="Grows by one per (model, task); a published version never changes.")
    model: ModelIdentity
    task: TaskSpec
    beats_baseline: bool = Field(description="False only for presets exported with --force.")
    buckets: list[LengthBucket] = Field(min_length=1)
    provenance: Provenance
    notes: str = ""

    @field_validator("schema_version", mode="before")
    @classmethod
    def _not_a_bool(cls, v: Any) -> Any:
        # pydantic's Literal[1] accepts `true` and `1.0`, even in strict mode (True == 1.0 == 1);
        # a format version is an integer.
        if type(v) is not int:
            raise ValueError(f"schema_version must be one of the integers {READABLE_VERSIONS}, got {v!r}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _legacy_answers(cls, data: Any) -> Any:
        # Versions 1 and 2 predate free answers: their tasks were primed and teacher-forced.
        if not (isinstance(data, dict) and data.get("schema_version") in (1, 2) and type(data["schema_version"]) is int):
            return data
        task = data.get("task")
        if not (isinstance(task, dict) and isinstance(task.get("name"), str) and isinstance(task.get("params"), dict)):
            return data
        from objectives.answers import with_answer_mode

        name = task["name"]
        out = {**data, "task": {**task, "params": with_answer_mode(name, task["params"], legacy=True)}}
        buckets = data.get("buckets")
        if isinstance(buckets, list):
            out["buckets"] = [_legacy_bucket(name, b) for b in buckets]
        return out

    @model_validator(mode="after")
    def _consistent(self) -> "Preset":
        if self.name != f"{self.model.name}/{self.task.name}":
            raise ValueError(f"name must be '{self.model.name}/{self.task.name}', got {self.name!r}")
        ordered = sorted(self.buckets, key=lambda b: b.min_tokens)
        for a, b in zip(ordered, ordered[1:]):
            if b.min_tokens <= a.max_tokens:
                raise ValueError(
                    f"buckets overlap: [{a.min_tokens}, {a.max_tokens}] and [{b.min_tokens}, {b.max_tokens}]"
                )
        for b in self.buckets:
            if self.schema_version >= 2 and (b.metrics.evidence is None or b.outcomes is None):
                raise ValueError(
                    f"bucket [{b.min_tokens}, {b.max_tokens}]: a version {self.schema_version} preset records "
                    "metrics.evidence and outcomes for every bucket"
                )
            if self.schema_version == 1 and (b.metrics.evidence is not None or b.outcomes is not None or b.evaluation.lengths):
                raise ValueError("schema_version 1 has no evidence, outcomes or lengths; write schema_version 2")
            if self.schema_version < 3 and b.transfer is not None:
                raise ValueError(f"schema_version {self.schema_version} has no transfer record; write schema_version 3")
            if b.config.c_s + b.config.c_e + self.model.num_layers + 3 > b.max_tokens:
                raise ValueError(
                    f"bucket [{b.min_tokens}, {b.max_tokens}]: SRA needs c_s + c_e + L + 3 = "
                    f"{b.config.c_s + b.config.c_e + self.model.num_layers + 3} tokens, more than the bucket allows"
                )
            pt = b.metrics.prompt_tokens
            if self.beats_baseline and self.schema_version >= 3 and pt is not None and not (b.contains(pt.min) and b.contains(pt.max)):
                # A gain claimed on prompts the preset would not edit: served, it would do nothing there.
                raise ValueError(
                    f"bucket [{b.min_tokens}, {b.max_tokens}]: its held-out prompts have {pt.min}-{pt.max} tokens, "
                    "outside the range it applies SRA to; widen the range to them (export does: bucket_range.covering_ranges)"
                )
        if self.schema_version < 3 and self.provenance.attempt is not None:
            raise ValueError(f"schema_version {self.schema_version} has no provenance.attempt; write schema_version 3")
        return self

    def bucket_for(self, prompt_tokens: int) -> LengthBucket | None:
        """The bucket whose range holds ``prompt_tokens``, or None."""
        return next((b for b in self.buckets if b.contains(prompt_tokens)), None)

    # -- the runtime's ConfigSource protocol (enable_sra(model, preset)) ---------------------
    def config_for(self, prompt_tokens: int) -> SRAConfig | None:
        """The config of the bucket holding ``prompt_tokens``, or None (the prompt runs without SRA)."""
        b = self.bucket_for(prompt_tokens)
        return b.config if b else None

    def no_config_reason(self, prompt_tokens: int) -> str:
        ranges = ", ".join(f"[{b.min_tokens}, {b.max_tokens}]" for b in self.buckets)
        return f"preset {self.name} v{self.version} has no bucket for {prompt_tokens} tokens ({ranges})"

    def check_model(self, model: Any, *, allow_mismatch: bool = False) -> None:
        """Refuse other weights than the preset was measured on (:class:`PresetMismatchError`)."""
        from sra_search.presets.apply import check_preset_model  # torch only when a model is at hand

        check_preset_model(model, self, allow_mismatch)
