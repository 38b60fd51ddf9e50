"""Which prompt lengths a bucket applies SRA on, chosen from search-split outcomes only.

A config that helps at 1k tokens can break short prompts; averaging the two over a bucket that
starts at 0 hides the gain and publishes the harm. So before its held-out check, export scores
the candidate on **search** cases at lengths spread over the study's range (never a held-out
case), and :func:`choose_range` keeps the contiguous run of lengths where it gains: no length
inside loses on average, the edges that only tie are trimmed, and of several such runs the one
with the largest total gain wins. A coarse scan places an edge only to within its spacing (a
scan of 128, 1451, 2773 and 4096 tokens that gains at 4096 alone says nothing of 3500), so
:func:`refine_edges` then bisects between each edge of the chosen run and the scanned length
outside it, a few times, still on search cases. The held-out cases are then spread over that run
only; prompts outside it run without SRA (``SRAStats.inactive`` says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from objectives.compare import gain, rescore
from objectives.lengths import shortest_length
from sra_search.presets.schema import LengthBucket
from sra_search.search.studyfile.task_params import resolve_file_params


N_LENGTHS = 4
"""Task lengths a bucket's cases are spread over, low end to high end."""
RANGE_CASES = 16
"""Search cases per length from which a bucket's length range is chosen (0: the study's whole range)."""
REFINE_STEPS = 2
"""Bisections at each edge of the chosen run (each costs at most two lengths of search cases)."""
MIN_GAP = 32
"""Scanned lengths closer than this are not bisected further: prompts that close differ by a
sentence or two of filler."""
MIN_PROMPT = 128
"""Shortest held-out prompt of a bucket that starts lower: shorter prompts hold little besides
the task's instructions."""


@dataclass(frozen=True)
class LengthGains:
    """Per-case gains (oriented: positive = SRA better) of one config on the search cases of one length."""

    length: int
    gains: tuple[float, ...]

    @property
    def mean(self) -> float:
        return sum(self.gains) / len(self.gains) if self.gains else 0.0

    @property
    def total(self) -> float:
        return sum(self.gains)


@dataclass(frozen=True)
class RangeChoice:
    """The chosen ``[low, high]`` (task lengths), or ``None`` with the reason there is none."""

    low: int | None
    high: int | None
    points: tuple[LengthGains, ...]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.low is not None

    def describe(self) -> str:
        where = ", ".join(f"{p.length}: {p.mean:+.3f} (n = {len(p.gains)})" for p in self.points)
        head = f"lengths {self.low}-{self.high}" if self.ok else self.reason
        return f"{head}; search-case gain by length: {where}"


def choose_range(points: Sequence[LengthGains]) -> RangeChoice:
    """The contiguous run of lengths, in length order, with the largest total gain among runs in
    which no length's mean gain is negative, with tying (zero-gain) lengths trimmed from both
    ends; none when no length gains."""
    pts = tuple(sorted(points, key=lambda p: p.length))
    runs: list[list[LengthGains]] = [[]]
    for p in pts:
        if p.mean < 0:
            runs.append([])  # a losing length splits the lengths into runs
        else:
            runs[-1].append(p)
    best: list[LengthGains] = []
    for run in runs:
        while run and run[0].mean == 0:
            run = run[1:]
        while run and run[-1].mean == 0:
            run = run[:-1]
        if run and sum(p.total for p in run) > sum(p.total for p in best):
            best = run
    if not best:
        return RangeChoice(None, None, pts, "no length where the search cases gain")
    return RangeChoice(best[0].length, best[-1].length, pts)


def refine_edges(
    points: Sequence[LengthGains], measure: Callable[[int], LengthGains], steps: int = REFINE_STEPS,
) -> list[LengthGains]:
    """``points`` plus up to ``steps`` bisections at each edge of :func:`choose_range`'s run: the
    length halfway between the run's first (last) length and the scanned length just below (above)
    it is measured with ``measure``; the next step bisects again where the edge then lies. Stops
    early when no run gains or the gaps are under ``MIN_GAP`` tokens."""
    pts = sorted(points, key=lambda p: p.length)
    for _ in range(steps):
        choice = choose_range(pts)
        if not choice.ok:
            break
        lengths = [p.length for p in pts]
        i, j = lengths.index(choice.low), lengths.index(choice.high)
        gaps = ([(lengths[i - 1], lengths[i])] if i > 0 else []) + ([(lengths[j], lengths[j + 1])] if j + 1 < len(lengths) else [])
        mids = [(a + b) // 2 for a, b in gaps if b - a >= MIN_GAP]
        if not mids:
            break
        pts = sorted(pts + [measure(n) for n in mids], key=lambda p: p.length)
    return pts


def scan_lengths(
    model, tok, task: str, params: dict, config, lengths: Sequence[int], n_cases: int,
    progress: Callable[[str], None] | None = None,
) -> list[LengthGains]:
    """``config`` against the baseline on ``n_cases`` **search** cases at each length."""
    out = []
    for n in lengths:
        cmp = rescore(model, tok, task, params, config, split="search", n_cases=n_cases, lengths=[n],
                      require_gain=False, progress=progress)  # fmt: skip
        pairs = zip(cmp.case_scores, cmp.baseline_case_scores)
        out.append(LengthGains(n, tuple(gain(s, b, cmp.higher_is_better) for s, b in pairs)))
    return out


def bucket_lengths(lo: int, hi: int, k: int = N_LENGTHS) -> list[int]:
    """``k`` task lengths spread evenly over a bucket ``[lo, hi]`` (from ``MIN_PROMPT`` up when it
    starts lower; :func:`spread_lengths` raises the start to where the task's prompts fit)."""
    low = min(hi, max(lo, MIN_PROMPT))
    if k <= 1 or low == hi:
        return [hi]
    return sorted({round(low + (hi - low) * i / (k - 1)) for i in range(k)})


def spread_lengths(
    spec, tok, lo: int, hi: int, n_lengths: int, holdout_cases: int, split: str = "holdout"
) -> tuple[list[int], int]:
    """The bucket's held-out (or ``split``) task lengths and cases per length, starting where the
    task's prompts fit (``MIN_PROMPT`` is a floor, not a promise: LongChat lines need ~190 tokens)."""
    spread = bucket_lengths(lo, hi, n_lengths)
    per_length = -(-holdout_cases // len(spread))
    task = spec.tasks[0]
    params = resolve_file_params(task.params, None)
    start = shortest_length(task.name, params, tok, split=split, n_cases=per_length, at_least=spread[0])
    if start > spread[0]:
        spread = bucket_lengths(min(start, hi), hi, n_lengths)
        per_length = -(-holdout_cases // len(spread))
    return spread, per_length


def covering_ranges(buckets: Sequence[LengthBucket]) -> list[LengthBucket]:
    """Each bucket's range (``buckets`` in length order, as export plans them) widened to the
    prompts its held-out cases measured, never into the bucket below it. A range is chosen in
    task lengths, and a task length ``L`` makes prompts of up to ``L`` tokens, often a few fewer
    (a pass key at 4096 has 4095): without this a bucket could leave out the very prompts that
    showed its gain, and serving would not edit them."""
    out: list[LengthBucket] = []
    floor = 0
    for b in buckets:
        pt = b.metrics.prompt_tokens
        lo, hi = b.min_tokens, b.max_tokens
        if pt is not None:
            lo = max(floor, min(lo, pt.min))
            hi = max(hi, pt.max, lo)
        out.append(b.model_copy(update={"min_tokens": lo, "max_tokens": hi}))
        floor = hi + 1
    return out
