"""A bucket's recorded held-out outcomes split by prompt length, each length with its paired test.

Export stores a bucket's outcomes length by length (``evaluation.lengths`` in order,
``evaluation.n_cases`` cases each), so the split needs no re-run. The test is the one the
bucket's own evidence used (:func:`sra_search.statistics.paired.paired_test`), one-sided for a gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sra_search.extras import require
from sra_search.presets.schema import LengthBucket

if TYPE_CHECKING:  # the paired tests need scipy, the [stats] extra; the core install has no scipy
    from sra_search.statistics.paired import PairedEvidence


def _paired_test():
    require("stats", what="the paired tests of a preset's recorded outcomes")
    from sra_search.statistics.paired import paired_test

    return paired_test


@dataclass(frozen=True)
class LengthEvidence:
    """The paired test of one prompt length's recorded held-out cases."""

    length: int
    evidence: "PairedEvidence"


def bucket_evidence(bucket: LengthBucket) -> "PairedEvidence | None":
    """The paired test over all of a bucket's recorded outcomes (``None`` for a version-1 bucket)."""
    o = bucket.outcomes
    if o is None:
        return None
    return _paired_test()(o.sra, o.baseline, higher_is_better=bucket.metrics.higher_is_better)


def by_length(bucket: LengthBucket) -> list[LengthEvidence]:
    """One :class:`LengthEvidence` per task length the bucket's held-out cases span, in order
    (empty for a version-1 bucket, which recorded no outcomes)."""
    o, ev = bucket.outcomes, bucket.evaluation
    if o is None:
        return []
    lengths = ev.lengths or [int(ev.task_params.get("length", bucket.max_tokens))]
    n = ev.n_cases  # the schema checks len(o.keys) == n * len(lengths)
    paired_test = _paired_test()
    rows = []
    for i, length in enumerate(lengths):
        part = slice(i * n, (i + 1) * n)
        evidence = paired_test(o.sra[part], o.baseline[part], higher_is_better=bucket.metrics.higher_is_better)
        rows.append(LengthEvidence(length=length, evidence=evidence))
    return rows
