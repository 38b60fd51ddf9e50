"""Racing's default pruner: Optuna's ``WilcoxonPruner`` paired against the racing incumbent."""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import FrozenTrial

from sra_search.search.results import racing_incumbent
from sra_search.search.storage.optuna_private import wilcoxon_prune


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
