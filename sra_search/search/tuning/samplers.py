"""Optuna sampler of a study file (its pruner is its search strategy's: ``strategies/``).

Constraints are not passed here: the driver reports them with ``trial.set_constraint``
(Optuna 5), which TPE, GP and NSGA-II read from the trials themselves.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import optuna
from optuna.samplers import BaseSampler, GridSampler
from optuna.trial import FrozenTrial, TrialState

from sra_search.search.tuning import space as space_mod
from sra_search.search.studyfile.schema import StudyFile


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


def directions(spec: StudyFile) -> list[str]:
    """Maximize the objective; with ``perplexity_objective`` also minimize the perplexity ratio."""
    return ["maximize", "minimize"] if spec.multi_objective else ["maximize"]
