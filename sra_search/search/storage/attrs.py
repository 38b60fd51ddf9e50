"""What a study and its trials keep in storage: every Optuna user attribute the search writes,
declared once with the type it holds and a typed reader.

Optuna stores user attributes as JSON under a string key; writing the key in one place keeps a
reader (``status``, ``report``, ``export``, benchmarks) from drifting from the writer (the
driver, the strategies). ``attr.get(holder)`` reads, ``attr.set(holder, value)`` writes;
``holder`` is a study, a trial or a frozen trial. A study's ``user_attrs`` is one storage read
each time, so a reader of several attributes reads it once and passes that dict to ``get``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Mapping, Protocol, TypeVar

T = TypeVar("T")


class HasUserAttrs(Protocol):
    @property
    def user_attrs(self) -> dict[str, Any]: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Attr(Generic[T]):
    """One user attribute: its storage key and what it holds."""

    key: str
    doc: str

    def get(self, holder: HasUserAttrs | Mapping[str, Any], default: T | None = None) -> T | None:
        """The stored value, or ``default`` when the attribute was never written; ``holder`` may
        also be user attributes already read (``study.user_attrs``)."""
        return _attrs_of(holder).get(self.key, default)

    def set(self, holder: HasUserAttrs, value: T | None) -> None:
        holder.set_user_attr(self.key, value)

    def is_on(self, holder: HasUserAttrs | Mapping[str, Any]) -> bool:
        """Whether the attribute was written (``None`` counts as written)."""
        return self.key in _attrs_of(holder)


def _attrs_of(holder: HasUserAttrs | Mapping[str, Any]) -> Mapping[str, Any]:
    return holder if isinstance(holder, Mapping) else holder.user_attrs


# ----- trials (set by the driver, the trial record and the strategies) -----------------------
CONFIG: Attr[dict[str, Any]] = Attr("sra", "the SRAConfig a trial ran, as a dict (set when the trial is asked)")
ORIGIN: Attr[str] = Attr("origin", "why an enqueued trial exists: 'paper_public' or a warm-start preset")
DRIVER: Attr[str] = Attr("driver", "host:pid of the driver that ran the trial")
NODE: Attr[str] = Attr("node", "the Ray node of the trial's worker")
OUTCOMES: Attr[dict[str, Any]] = Attr("outcomes", "per task, per-case scores (results.compact_outcomes)")
RACING: Attr[dict[str, Any]] = Attr("racing", "a racing trial's case count, stages and why it stopped")
TASK_SCORES: Attr[dict[str, float]] = Attr("task_scores", "task name -> mean score on the cases seen")
SRA_STATS: Attr[dict[str, Any]] = Attr("sra_stats", "SRASummary.to_dict() over the trial's task chunks")
PERPLEXITY_RATIO: Attr[float] = Attr("perplexity_ratio", "perplexity with SRA / without, on the perplexity text")
BAND_STOP: Attr[str] = Attr("band_stop", "why a trial stopped early outside the attention band (objective.band_stop)")
SRA_INACTIVE: Attr[str] = Attr("sra_inactive", "why SRA edited no row (prompts outside its geometry)")
WALL_S: Attr[float] = Attr("wall_s", "seconds from ask to tell")
EVAL_S: Attr[float] = Attr("eval_s", "seconds the workers spent scoring the trial's jobs")
ELAPSED_AT_END_S: Attr[float] = Attr("elapsed_at_end_s", "the study's elapsed seconds when the trial ended")
FAIL_REASON: Attr[str] = Attr("fail_reason", "one line: why a trial failed")
DUPLICATE_OF: Attr[int] = Attr("duplicate_of", "the earlier trial that ran the same config; pruned before any case")

# ----- studies (set by the driver, baselines, definition and verdicts) -----------------------
DEFINITION_HASH: Attr[str] = Attr("definition_hash", "StudyFile.definition_hash() of the file that created the study")
SPEC: Attr[dict[str, Any]] = Attr("spec", "the validated study file, as JSON")
MODEL: Attr[str] = Attr("model", "the model the study searches")
OBJECTIVE: Attr[str] = Attr("objective", "the objective's label (what the value means)")
FIXED_PARAMS: Attr[dict[str, Any]] = Attr("fixed_params", "SRA parameters the space fixes")
RANKING: Attr[str] = Attr("ranking", "how trials are ranked (results.RANKINGS), from the study's strategy")
ELAPSED_S: Attr[float] = Attr("elapsed_s", "seconds the study has run, over every driver run")
HOLDOUT: Attr[dict[str, Any]] = Attr("holdout", "the best feasible trial re-scored on held-out cases")
BEST_EVIDENCE: Attr[dict[str, Any]] = Attr("best_evidence", "the best trial's paired test on its search cases")
FAILED_EARLY: Attr[str] = Attr("failed_before_first_trial", "why the study's first run failed before any trial")
BASELINE_PREFIX = "baseline:"
"""Study attributes ``baseline:<task>:<split>:<key>`` hold a task's no-SRA baseline scores."""


def baselines_of(holder: HasUserAttrs | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The stored baselines, by their full key."""
    return {k: v for k, v in _attrs_of(holder).items() if k.startswith(BASELINE_PREFIX) and isinstance(v, dict)}
