"""A sampler's proposal of a config the study already ran, found before any case is spent on it.

TPE's start-up draws are seeded random draws: a study with the same seed and space as the study
a warm-start preset came from proposes that preset's config again (the Gemma passkey study re-ran
its trial 1 as trial 5: 32 cases for nothing). Optuna has no "resample" (its FAQ's advice is to
look the parameters up among the study's trials), so the driver asks here and ends such a trial
as PRUNED with ``duplicate_of`` set, costing a trial number but no case.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from sra_search.config import SRAConfig
from sra_search.search.storage import attrs

# A RUNNING trial counts too: another driver (or this one) is already measuring that config.
_RAN = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def earlier_trial_with(study: optuna.Study, config: SRAConfig, number: int) -> int | None:
    """The number of the first trial before ``number`` that ran (or runs) exactly ``config``, or None.

    Exact equality on purpose: a repeat of a seeded draw is bit for bit the same float, while two
    configs that merely lie close are different points that TPE may mean to compare."""
    wanted = config.model_dump()
    for t in study.get_trials(deepcopy=False, states=_RAN):
        if t.number < number and attrs.CONFIG.get(t.user_attrs) == wanted:
            return t.number
    return None
