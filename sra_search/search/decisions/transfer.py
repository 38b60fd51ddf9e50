"""The transfer check: a bucket's config on held-out cases of a prompt template the search never saw.

Retrieval tasks have more than one ``template`` (the same task in other words, over other filler).
A search tunes on one; a config whose gain only fits that wording is not a gain. Export re-scores
each bucket on the task's next template too, records the result apart (``LengthBucket.transfer``)
and publishes the bucket only if the gain does not turn into a loss there (``delta >= 0``).
"""

from __future__ import annotations

import typing
from typing import Any, Callable, Sequence

from objectives.compare import rescore
from objectives.registry import task_class
from sra_search.presets.schema import CaseOutcomes, Transfer


def unseen_template(task: str, params: dict[str, Any]) -> str | None:
    """The first of the task's templates other than the one ``params`` use; None for a task with one."""
    field = task_class(task).Params.model_fields.get("template")
    if field is None:
        return None
    choices = typing.get_args(field.annotation)
    current = params.get("template", field.default)
    return next((t for t in choices if t != current), None)


def measure_transfer(
    model, tok, task: str, params: dict[str, Any], config, *, lengths: Sequence[int], per_length: int,
    offset: int = 0, progress: Callable[[str], None] | None = None,
) -> Transfer | None:
    """``config`` against the baseline on ``per_length`` held-out cases of the unseen template at
    each length; None when the task has no other template."""
    template = unseen_template(task, params)
    if template is None:
        return None
    cmp = rescore(model, tok, task, {**params, "template": template}, config, split="holdout", n_cases=per_length,
                  offset=offset, lengths=list(lengths), require_gain=False, progress=progress)  # fmt: skip
    ev = cmp.evidence()
    d = ev.to_dict()
    return Transfer(
        template=template, n_cases=cmp.n_cases, lengths=list(lengths), score=cmp.score,
        baseline_score=cmp.baseline_score, delta=cmp.delta, test=ev.test, p_value=ev.p_value, ci_low=d["ci_low"],
        ci_high=d["ci_high"], interval_level=ev.interval_level, sra_only=ev.sra_only, baseline_only=ev.baseline_only,
        holds=cmp.gain >= 0,
        outcomes=CaseOutcomes(keys=list(cmp.case_ids), sra=list(cmp.case_scores), baseline=list(cmp.baseline_case_scores)),
    )  # fmt: skip
