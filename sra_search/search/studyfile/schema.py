"""The study file: a TOML document validated by pydantic.

Errors name the key path (``search_space.s_in.low``) and, when it can be found,
the line of the file, so a typo in a study file is a one-line fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from sra_search.search.studyfile.error_lines import format_validation_error, long_integer_lines
from sra_search.search.studyfile.pruner_spec import HUGE, LATER_RACING_FIELDS, Pruner, RacePlan, race_plan, racing_problem
from sra_search.search.studyfile.space_spec import SearchSpace
from sra_search.search.studyfile.strict_model import StrictModel
from sra_search.search.studyfile.storage_url import StorageURLError, usable_url
from sra_search.search.studyfile.toml_positions import toml_problem
from sra_search.urls import redact_url

DEFAULT_STORAGE = "sqlite:///sra-search.db"
"""Used when neither ``--storage``, ``$SRA_SEARCH_STORAGE`` nor the study file names one."""


class StudyFileError(ValueError):
    """A study file that cannot be read or does not validate; the message names key and line."""


class SplitCases(StrictModel):
    search: int = Field(default=16, ge=1, le=HUGE, description="Cases per trial.")
    holdout: int = Field(default=0, ge=0, le=HUGE, description="Cases to re-score the best trial on at the end (0 = skip).")


class TaskSpec(StrictModel):
    """One task of the objective: ``objectives.get(name, **params)``."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    weight: float = Field(default=1.0, gt=0, le=HUGE)
    cases: SplitCases = Field(default_factory=SplitCases)
    chunk: int = Field(default=4, ge=1, le=HUGE, description="Cases per chunk; the pruner sees one report per chunk.")
    batch_size: int | None = Field(default=None, ge=1, le=HUGE)


class PerplexityConstraint(StrictModel):
    """Perplexity of a named text with SRA over the baseline's, at most ``max_ratio``."""

    max_ratio: float = Field(gt=1.0, le=HUGE)
    task: str = "perplexity"
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the perplexity task (the text).")
    cases: int | None = Field(default=None, ge=1, le=HUGE)


class AttentionConstraint(StrictModel):
    """Mean accumulated attention of edited rows within [low, high] (paper: 1.1-1.4)."""

    low: float = Field(default=1.1, gt=0, le=HUGE)
    high: float = Field(default=1.4, gt=0, le=HUGE)
    stop_margin: float | None = Field(
        default=None, ge=0, le=1,
        description="Stop a trial after a chunk whose attention so far lies outside [low, high] by more than "
        "this (it completes, infeasible, with the cases it has); unset: every trial runs its cases.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "AttentionConstraint":
        if self.low > self.high:
            raise ValueError(f"low must be <= high (got {self.low} > {self.high})")
        return self


class Constraints(StrictModel):
    perplexity: PerplexityConstraint | None = None
    attention: AttentionConstraint | None = Field(default_factory=AttentionConstraint)
    min_edited_share: float | None = Field(default=None, ge=0, le=1)


class Objective(StrictModel):
    """``score``: the weighted task score; ``delta``: the same minus the no-SRA baseline's."""

    target: Literal["score", "delta"] = "delta"
    perplexity_objective: bool = Field(
        default=False, description="Add the perplexity ratio as a second objective to minimize (Pareto front)."
    )


class Sampler(StrictModel):
    kind: Literal["tpe", "gp", "nsga2", "random", "grid"] = "tpe"
    n_startup_trials: int | None = Field(default=None, ge=0, le=HUGE)
    multivariate: bool = True
    population_size: int | None = Field(default=None, ge=2, le=HUGE)


class Budget(StrictModel):
    """Stop when either is reached; both count what earlier runs of the study already did."""

    trials: int | None = Field(default=None, ge=1, le=HUGE)
    time_s: float | None = Field(default=None, gt=0, le=366 * 86400)

    @model_validator(mode="after")
    def _some(self) -> "Budget":
        if self.trials is None and self.time_s is None:
            raise ValueError("give trials, time_s or both")
        return self


class Workers(StrictModel):
    count: int = Field(default=2, ge=1, le=10_000)
    cpus: float = Field(default=1, ge=0, le=1024)
    gpus: float = Field(default=0, ge=0, le=64)
    address: str | None = Field(default=None, description="Ray address: none = local ray.init(), 'auto' on a cluster.")
    max_restarts: int = Field(default=3, ge=0, le=1000)
    resources: dict[str, float] = Field(
        default_factory=dict, description="Custom Ray resources per worker, e.g. {node_a = 1} to place workers on a node."
    )
    placement_timeout_s: float = Field(
        default=120, gt=0, le=86400, description="How long to wait for the cluster to place every worker before stopping."
    )

    @field_validator("resources")
    @classmethod
    def _custom_resources(cls, value: dict[str, float]) -> dict[str, float]:
        # CPU, GPU and memory have their own keys; Ray refuses them as custom resources.
        for name, amount in value.items():
            if name in ("CPU", "GPU", "memory", "object_store_memory") or not re.fullmatch(r"[A-Za-z0-9_.:\-]+", name):
                raise ValueError(f"{name!r}: not a custom resource name (use cpus/gpus for CPU and GPU)")
            if not 0 < amount <= HUGE:
                raise ValueError(f"{name}: must be > 0 (got {amount})")
        return value


class Storage(StrictModel):
    url: str | None = Field(default=None, description="SQLAlchemy URL; ${VARS} are expanded.")
    heartbeat_s: int = Field(default=5, ge=1, le=3600)
    grace_s: int = Field(default=20, ge=2, le=86400)
    retry_s: int = Field(
        default=600, ge=0, le=86400,
        description="How long the driver waits for an unreachable storage (retrying with backoff) before it stops.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and "$" not in value:
            check_storage_url(value)
        return value


class StudyFile(StrictModel):
    """The whole study file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=512)  # Optuna's study_name column is 512 wide
    model: str
    trust_remote_code: bool = Field(
        default=False, description="Run the model repository's own Python code; off unless set here explicitly."
    )
    description: str = ""
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Sampler seed (numpy's range).")
    tasks: list[TaskSpec] = Field(min_length=1)
    search_space: SearchSpace
    objective: Objective = Field(default_factory=Objective)
    constraints: Constraints = Field(default_factory=Constraints)
    sampler: Sampler = Field(default_factory=Sampler)
    pruner: Pruner = Field(default_factory=Pruner)
    budget: Budget
    workers: Workers = Field(default_factory=Workers)
    storage: Storage = Field(default_factory=Storage)
    enqueue_paper_public: bool = True
    warm_start: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=list, max_length=100,
        description="Preset files (published or findings) whose bucket configs a new study runs first, after the "
        "paper's: what other tasks, lengths or models found is the first guess here.",
    )  # fmt: skip

    @field_validator("model")
    @classmethod
    def _nonempty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("pruner")
    @classmethod
    def _can_race(cls, pruner: Pruner, info: ValidationInfo) -> Pruner:
        problem = racing_problem(pruner, info.data)  # tasks and objective come before pruner
        if problem:
            raise ValueError(problem)
        return pruner

    @model_validator(mode="after")
    def _consistent(self) -> "StudyFile":
        specs = self.search_space.specs()
        if self.sampler.kind == "grid":
            bad = [n for n, s in specs.items() if s.kind == "range"]
            if bad:
                raise ValueError(f"sampler.kind = 'grid' needs choices or fixed values, not ranges: {', '.join(bad)}")
        if not any(s.kind != "fixed" for s in specs.values()):
            raise ValueError("search_space: at least one parameter must vary (a range or choices)")
        if self.objective.perplexity_objective and self.constraints.perplexity is None:
            raise ValueError("objective.perplexity_objective needs [constraints.perplexity] (the text)")
        return self

    # ----- derived values -------------------------------------------------------------

    @property
    def multi_objective(self) -> bool:
        return self.objective.perplexity_objective

    def storage_url(self, override: str | None = None) -> str:
        """Storage URL by precedence: override, study file, ``$SRA_SEARCH_STORAGE``, default."""
        return resolve_storage_url(override or self.storage.url)

    @property
    def race(self) -> RacePlan | None:
        """The racing settings, defaults filled in (``None`` unless ``pruner.kind = "racing"``)."""
        return race_plan(self.pruner, self.tasks[0].cases.search, self.tasks[0].chunk)

    def definition_hash(self) -> str:
        """Hash of what defines the study's results (not budget, workers or storage). A racing
        pruner decides which cases a trial sees, so it is part of it; the other pruners are not
        (the hash of a study without racing is what it was before racing existed)."""
        include = {"model", "tasks", "search_space", "objective", "constraints", "seed", "sampler"}
        # Racing fields added later and left unset are not dumped: racing studies made before they
        # existed keep their hash (tests/search/test_search_racing.py pins one).
        later = {f for f in LATER_RACING_FIELDS if getattr(self.pruner, f) is None}
        exclude: dict[str, Any] = {"pruner": later} if later else {}
        if self.constraints.attention is not None and self.constraints.attention.stop_margin is None:
            exclude["constraints"] = {"attention": {"stop_margin"}}  # unset: the hash it had before the field
        keep = self.model_dump(include=include | ({"pruner"} if self.pruner.kind == "racing" else set()), exclude=exclude or None)
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolve_storage_url(url: str | None) -> str:
    """Expand ``${VARS}``; fall back to ``$SRA_SEARCH_STORAGE`` and then to :data:`DEFAULT_STORAGE`."""
    chosen = url or os.environ.get("SRA_SEARCH_STORAGE") or DEFAULT_STORAGE
    expanded = os.path.expandvars(chosen)
    if "${" in expanded or re.search(r"\$[A-Za-z_]", expanded):
        raise StudyFileError(f"storage URL {redact_url(chosen)!r} names an environment variable that is not set")
    try:
        usable_url(expanded)  # parsed, and a driver that is not installed refused, before anything runs
    except StorageURLError as exc:
        raise StudyFileError(str(exc)) from None
    return expanded


def check_storage_url(url: str) -> None:
    """Refuse what SQLAlchemy cannot parse; the message never shows a password."""
    from sqlalchemy.engine import make_url

    try:
        make_url(url)
    except Exception:
        shown = redact_url(url)
        raise ValueError(
            f"{shown!r} is not an SQLAlchemy URL (e.g. sqlite:///runs/s.db or postgresql+psycopg2://user@host/db)"
        ) from None


def _value_problem(exc: ValueError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "a number has more than 4,300 digits" if "integer string conversion" in text else text


MAX_STUDY_BYTES = 1_000_000
"""A study file is a page of settings; anything larger is a mistake (or a FIFO, a device)."""


def parse_study(text: str, source: str = "study file") -> StudyFile:
    """Validate TOML text; raise :class:`StudyFileError` naming the key path and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"{source}: not valid TOML: {toml_problem(exc, text)}") from None
    except RecursionError:
        raise StudyFileError(f"{source}: not valid TOML: nested too deeply") from None
    except ValueError as exc:  # an integer past Python's 4,300-digit limit: named by key, line and range
        named = long_integer_lines(text, StudyFile.model_validate, source)
        raise StudyFileError(named or f"{source}: not valid TOML: {_value_problem(exc)}") from None
    try:
        return StudyFile.model_validate(data)
    except ValidationError as exc:
        raise StudyFileError(format_validation_error(exc, text, source)) from None
    except RecursionError:
        raise StudyFileError(f"{source}: a value is nested too deeply") from None


def load_study_file(path: str | os.PathLike[str]) -> StudyFile:
    """Read and validate a study file: a regular file of at most 1 MB of UTF-8 text. Relative
    ``path``-like task parameters are resolved later."""
    p = Path(path)
    try:
        if not p.is_file():  # a FIFO or a device would block or never end
            raise StudyFileError(f"cannot read study file {p}: not a regular file")
        if p.stat().st_size > MAX_STUDY_BYTES:
            raise StudyFileError(f"study file {p} is larger than {MAX_STUDY_BYTES:,} bytes; is it the right file?")
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise StudyFileError(f"cannot read study file {p}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise StudyFileError(f"study file {p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return parse_study(text, str(p))
