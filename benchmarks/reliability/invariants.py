"""The invariants every fault scenario must keep, read from the storage after it ends."""

from __future__ import annotations

import json
from typing import Any

from sra_search.search.storage.attrs import FAIL_REASON


def finished_snapshot(url: str, name: str) -> dict[int, tuple[str, Any]]:
    """Trial number -> (state, values) of every COMPLETE or PRUNED trial."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=url)
    return {
        t.number: (t.state.name, t.values)
        for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE, TrialState.PRUNED])
    }


def check_study(url: str, name: str, budget: int, *, seen_finished: dict[int, tuple[str, Any]] | None = None,
                allow_over_budget: int = 0) -> dict[str, Any]:
    """The invariants every scenario must keep; raises AssertionError listing every violation."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=url)
    trials = study.get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    problems: list[str] = []
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not budget <= len(finished) <= budget + allow_over_budget:
        problems.append(f"{len(finished)} trials finished, budget {budget}")
    left = [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    if left:
        problems.append(f"trials left RUNNING/WAITING: {left}")
    # 0 completed trials lost or changed.
    for number, (state, values) in (seen_finished or {}).items():
        t = by_number.get(number)
        if t is None or t.state.name != state or t.values != values:
            problems.append(f"trial {number} was {state} {values}, now {t.state.name if t else 'missing'} {t.values if t else ''}")
    # Never recorded twice: no two finished trials with the same parameters (continuous space: a
    # repeat means one evaluation was recorded as two trials), and each trial retried at most once.
    seen_params: dict[str, int] = {}
    for t in finished:
        key = json.dumps(t.params, sort_keys=True)
        if key in seen_params:
            problems.append(f"trials {seen_params[key]} and {t.number} have the same parameters")
        seen_params[key] = t.number
    retries: dict[int, list[int]] = {}
    for t in trials:
        origin = t.system_attrs.get("failed_trial")
        if origin is not None:
            retries.setdefault(origin, []).append(t.number)
    for origin, numbers in retries.items():
        if len(numbers) > 1:
            problems.append(f"trial {origin} retried {len(numbers)} times: {numbers}")
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if problems:
        raise AssertionError(f"study {name}: " + "; ".join(problems))
    return {
        "finished": len(finished),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": len(failed),
        "retried": len(retries),
        "trials": len(trials),
        "fail_reasons": sorted({str(FAIL_REASON.get(t, "stale heartbeat (driver gone)")) for t in failed}),
    }
