"""A study's finished trials as results: the best feasible one, the feasible Pareto front, and a
summary of a trial (what ``run``, ``status``, ``report`` and ``export`` print and read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import optuna
from optuna.trial import TrialState

from sra_search.search.storage.attrs import BAND_STOP, CONFIG, OUTCOMES, PERPLEXITY_RATIO, RACING, RANKING, SRA_STATS, TASK_SCORES, Attr

if TYPE_CHECKING:
    from sra_search.config import SRAConfig


RANK_BY_VALUE = "value"
RANK_BY_CASES = "cases, then value"
RANKINGS = (RANK_BY_VALUE, RANK_BY_CASES)
"""How a strategy ranks finished trials: by value, or by cases seen and then value (racing: the
incumbent is the trial measured on the most cases, so a few lucky cases never beat many)."""


def trial_config(t: optuna.trial.FrozenTrial) -> "SRAConfig | None":
    """The SRA configuration a trial ran, or ``None`` for one that never got that far."""
    from sra_search.config import SRAConfig

    raw = CONFIG.get(t)
    return None if raw is None else SRAConfig(**raw)


def is_feasible(constraints: dict[str, float]) -> bool:
    """Every constraint value holds (Optuna's convention: ``<= 0``)."""
    return all(v <= 0 for v in constraints.values())


def _feasible(study: optuna.Study, need_config: bool) -> list[optuna.trial.FrozenTrial]:
    return [
        t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
        if t.value is not None and is_feasible(t.constraints) and (not need_config or CONFIG.is_on(t))
    ]  # fmt: skip


def _sign(study: optuna.Study) -> int:
    return 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1


def cases_seen(t: optuna.trial.FrozenTrial) -> int | None:
    """How many task cases the trial was scored on (from its ``outcomes``; ``None`` if not recorded)."""
    outcomes = OUTCOMES.get(t)
    if not isinstance(outcomes, dict):
        return None
    return sum(len(o.get("scores", ())) for o in outcomes.values() if isinstance(o, dict))


def ranking_of(study: optuna.Study, trials: list[optuna.trial.FrozenTrial]) -> str:
    """How the study's trials are ranked: as recorded by its strategy, or, for a study stored
    before the ranking was recorded, by cases when any trial raced."""
    recorded = RANKING.get(study)
    if recorded in RANKINGS:
        return recorded
    return RANK_BY_CASES if any(RACING.is_on(t) for t in trials) else RANK_BY_VALUE


def _rank_key(sign: int, ranking: str):
    """Sort key, larger is better (:data:`RANKINGS`)."""
    if ranking == RANK_BY_CASES:
        return lambda t: (cases_seen(t) or 0, sign * t.value)
    return lambda t: sign * t.value


def feasible_ranked(study: optuna.Study, *, need_config: bool = False) -> list[optuna.trial.FrozenTrial]:
    """COMPLETE feasible trials of a single-objective study, best first (ties keep trial order);
    with ``need_config`` only those that recorded their SRA config, in the study's ranking
    (:func:`ranking_of`)."""
    trials = _feasible(study, need_config)
    key = _rank_key(_sign(study), ranking_of(study, trials))
    return sorted(trials, key=key, reverse=True)


def best_feasible(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best COMPLETE trial whose constraints all hold (single-objective studies); in a racing
    study the one with the most cases, best value among those (the racing incumbent)."""
    if len(study.directions) != 1:
        return None
    trials = _feasible(study, False)
    if not trials:
        return None
    return max(trials, key=_rank_key(_sign(study), ranking_of(study, trials)))


def racing_incumbent(study: optuna.Study, steps: Iterable[int]) -> optuna.trial.FrozenTrial:
    """What a racing trial is paired with: the incumbent (:func:`best_feasible`), or, while no trial
    is feasible or the incumbent is below the baseline (a negative mean gain), the baseline itself:
    a trial with gain 0 on every case in ``steps``.

    Running SRA is only worth it if it beats running without it, which is always feasible; without
    this a study whose first trials all break a constraint would give every trial ``max_cases``,
    and one whose incumbent loses to the baseline would race against a bar below doing nothing.
    Its ``number`` is -1 (it is in no storage).
    """
    inc = best_feasible(study)
    if inc is not None and inc.value is not None and _sign(study) * inc.value >= 0:
        return inc
    return optuna.trial.create_trial(value=0.0, intermediate_values={int(s): 0.0 for s in steps})


def recorded_for(study: optuna.Study, attr: Attr[dict[str, Any]], trial: optuna.trial.FrozenTrial) -> dict[str, Any] | None:
    """The study attr ``attr`` if it was recorded for ``trial`` (its ``trial`` field), else None:
    what the holdout and the best trial's evidence keep while the best trial does not change."""
    done = attr.get(study)
    return done if done and done.get("trial") == trial.number else None


def compact_outcomes(case_ids: Sequence[str], scores: Sequence[float]) -> dict[str, Any]:
    """Per-case scores as one small record: ``{key, offset, scores}`` where case ``i`` is
    ``f"{key}:{offset + i}"`` (``key`` = ``task:params-hash:split``), or ``{keys, scores}`` when
    the case keys do not follow one another."""
    scores = [float(s) for s in scores]
    if case_ids:
        prefix, _, first = case_ids[0].rpartition(":")
        if first.isdigit() and list(case_ids) == [f"{prefix}:{int(first) + i}" for i in range(len(case_ids))]:
            return {"key": prefix, "offset": int(first), "scores": scores}
    return {"keys": list(case_ids), "scores": scores}


def expand_outcomes(record: dict[str, Any]) -> tuple[list[str], list[float]]:
    """The case keys and scores of a :func:`compact_outcomes` record."""
    scores = [float(s) for s in record["scores"]]
    if "keys" in record:
        return list(record["keys"]), scores
    return [f"{record['key']}:{record['offset'] + i}" for i in range(len(scores))], scores


def pareto_feasible(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Feasible trials of the Pareto front (multi-objective studies)."""
    return [t for t in study.best_trials if is_feasible(t.constraints)]


def trial_summary(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A finished trial as JSON: number, value(s), SRA params, constraints and recorded results."""
    return {
        "number": t.number,
        "value": t.value if t.values is None or len(t.values) == 1 else None,
        "values": t.values,
        "params": CONFIG.get(t, t.params),
        "constraints": t.constraints,
        "task_scores": TASK_SCORES.get(t),
        "perplexity_ratio": PERPLEXITY_RATIO.get(t),
        "sra_stats": SRA_STATS.get(t),
        "n_cases": cases_seen(t),
        "racing": RACING.get(t),
        "band_stop": BAND_STOP.get(t),
    }
