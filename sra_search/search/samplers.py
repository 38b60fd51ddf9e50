"""Optuna sampler and pruner for a study file.

Constraints are not passed here: the driver reports them with ``trial.set_constraint``
(Optuna 5), which TPE, GP and NSGA-II read from the trials themselves.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any, Sequence

import optuna
from optuna.samplers import BaseSampler, GridSampler
from optuna.trial import FrozenTrial, TrialState

from sra_search.search import space as space_mod
from sra_search.search.optuna_private import wilcoxon_prune
from sra_search.search.results import racing_incumbent
from sra_search.search.schema import StudyFile
from sra_search.search.sign_pruner import SignTestPruner, looks


class AskTellGridSampler(GridSampler):
    """Optuna's GridSampler without its ``study.stop()`` call.

    ``GridSampler.after_trial`` stops the study when the grid is exhausted, which only
    works inside ``study.optimize``; under ask-and-tell it raises. The driver checks
    :meth:`is_exhausted` itself instead.
    """

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        return None


def joined_seed(seed: int, trials_so_far: int, driver_id: str) -> int:
    """The sampler seed of a driver that opened a study it did not create.

    The creator samples with ``seed``; a driver resuming or joining it mixes in the trials it
    found and its own identity (host:pid), so neither a restart nor two drivers that started
    at the same instant (both seeing no trial) replay the same random draws.
    """
    digest = hashlib.sha256(f"{seed}:{trials_so_far}:{driver_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def make_sampler(spec: StudyFile) -> BaseSampler:
    """The sampler named in ``[sampler]``, seeded with the study's seed."""
    s = spec.sampler
    seed = spec.seed
    if s.kind == "tpe":
        kwargs: dict[str, Any] = {"seed": seed, "multivariate": s.multivariate, "constant_liar": True}
        if s.n_startup_trials is not None:
            kwargs["n_startup_trials"] = s.n_startup_trials
        # constant_liar: with several workers, trials still running count as "bad" so
        # parallel asks spread out instead of sampling the same region.
        return optuna.samplers.TPESampler(**kwargs)
    if s.kind == "gp":
        kwargs = {"seed": seed}
        if s.n_startup_trials is not None:
            kwargs["n_startup_trials"] = s.n_startup_trials
        return optuna.samplers.GPSampler(**kwargs)
    if s.kind == "nsga2":
        kwargs = {"seed": seed}
        if s.population_size is not None:
            kwargs["population_size"] = s.population_size
        return optuna.samplers.NSGAIISampler(**kwargs)
    if s.kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if s.kind == "grid":
        return AskTellGridSampler(space_mod.grid(spec.search_space), seed=seed)
    raise ValueError(f"unknown sampler {s.kind!r}")  # pragma: no cover - schema forbids it


def n_steps(spec: StudyFile) -> int:
    """Intermediate reports per trial: one per chunk of search cases, over all tasks (not racing)."""
    return sum(-(-t.cases.search // t.chunk) for t in spec.tasks)


class RacingPruner(optuna.pruners.BasePruner):
    """Optuna's ``WilcoxonPruner`` paired against the racing incumbent.

    The trial's intermediate values are its per-case gains over the baseline (step = case index);
    ``WilcoxonPruner`` tests them against the same cases of a best trial and prunes at
    ``p < p_threshold``. The best trial it is given is the incumbent of
    :func:`~sra_search.search.results.best_feasible` (most cases, then value; feasible only), not
    ``study.best_trial`` (value alone, which a trial of a few lucky cases can hold); while no
    trial is feasible, the baseline (gain 0 on every case: :func:`~sra_search.search.results.racing_incumbent`).
    """

    def __init__(self, p_threshold: float, n_startup_steps: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.wilcoxon = optuna.pruners.WilcoxonPruner(p_threshold=p_threshold, n_startup_steps=n_startup_steps)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        incumbent = racing_incumbent(study, trial.intermediate_values)
        if not incumbent.intermediate_values:
            return False
        with warnings.catch_warnings():
            # A trial that has grown past the incumbent is paired on the cases both have: as meant.
            warnings.filterwarnings("ignore", message="WilcoxonPruner finds steps existing in the current trial")
            return wilcoxon_prune(self.wilcoxon, study, trial, incumbent)


def make_pruner(spec: StudyFile) -> optuna.pruners.BasePruner:
    """The pruner named in ``[pruner]``; none for multi-objective studies (Optuna cannot prune those)."""
    p = spec.pruner
    if p.kind == "none" or spec.multi_objective:
        return optuna.pruners.NopPruner()
    if (race := spec.race) is not None:
        if race.test == "sign":
            return SignTestPruner(race.p_threshold, looks(race.max_cases, race.chunk))
        return RacingPruner(race.p_threshold, race.n_startup_steps)
    if p.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps)
    if p.kind == "percentile":
        return optuna.pruners.PercentilePruner(
            p.percentile, n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
        )
    if p.kind == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, p.n_warmup_steps))
    if p.kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(2, n_steps(spec)))
    raise ValueError(f"unknown pruner {p.kind!r}")  # pragma: no cover


def directions(spec: StudyFile) -> list[str]:
    """Maximize the objective; with ``perplexity_objective`` also minimize the perplexity ratio."""
    return ["maximize", "minimize"] if spec.multi_objective else ["maximize"]
