"""The headroom map: a retrieval task's accuracy over prompt lengths and needle depths, without and
with an SRA config, on the same cases, so a study is pointed where the baseline has room to gain.

Each (length, depth) cell is ``n`` cases of the task with ``length`` and the task's placement
parameter (``depth`` or ``position``) fixed. Baseline outcomes are cached by model and case key
(:class:`BaselineCache`), so mapping a second config costs only its own forwards. Each cell's
p-value is the two-sided exact McNemar test of its own cases (``sra_search.statistics.paired``); a map
makes many such tests, so a single small p is a place to look, not a finding.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from objectives.errors import ObjectiveError
from objectives.evaluate import evaluate
from objectives.params import PlacementParams
from objectives.registry import get, task_class
from sra_search.values import json_safe

Progress = Callable[[str], None]


def placement_name(task: str) -> str:
    """The task's depth-like parameter (``depth``, ``position``); an error for tasks without one."""
    params = task_class(task).Params
    if not issubclass(params, PlacementParams):
        raise ObjectiveError(
            f"task '{task}' places no needle, so it has no depths to map; map a retrieval task "
            "(passkey, niah, longchat_lines, kv_retrieval)"
        )
    return params.placement


def check_grid(lengths: Sequence[int], depths: Sequence[float], max_length: int | None) -> None:
    """Refuse an empty grid, depths outside [0, 1] and lengths the model cannot read."""
    if not lengths:
        raise ObjectiveError("--lengths: no length given; e.g. --lengths 512,1024,2048")
    if not depths:
        raise ObjectiveError("--depths: no depth given; e.g. --depths 0,0.25,0.5,0.75,1")
    bad = [d for d in depths if not (isinstance(d, (int, float)) and 0.0 <= d <= 1.0)]
    if bad:
        raise ObjectiveError(f"--depths: {bad[0]!r} is not a share in [0, 1] (0 = start of the text, 1 = its end)")
    for n in lengths:
        if not isinstance(n, int) or n < 64:
            raise ObjectiveError(f"--lengths: {n!r} is not a length of at least 64 tokens")
        if max_length is not None and n > max_length:
            raise ObjectiveError(
                f"--lengths: {n} tokens is beyond the model's context of {max_length}; use lengths up to {max_length}"
            )


class BaselineCache:
    """Baseline case scores of one model, by case key, in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.scores: dict[str, float] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.scores = {str(k): float(v) for k, v in data.get("scores", {}).items()}
            except (OSError, ValueError, AttributeError, TypeError):
                self.scores = {}  # a damaged cache is measured again, never trusted

    def lookup(self, keys: Sequence[str]) -> list[float] | None:
        """The cached scores of ``keys``, or None when any is missing."""
        if all(k in self.scores for k in keys):
            return [self.scores[k] for k in keys]
        return None

    def store(self, keys: Sequence[str], scores: Sequence[float]) -> None:
        self.scores.update(zip(keys, (float(s) for s in scores)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"scores": self.scores}, f)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass
class Cell:
    """One (length, depth) cell: accuracies with exact 95% intervals, and the paired difference."""

    length: int
    depth: float
    n: int
    prompt_tokens: float
    baseline: float
    baseline_ci: tuple[float, float]
    sra: float | None = None
    sra_ci: tuple[float, float] | None = None
    delta: float | None = None
    delta_ci: tuple[float, float] | None = None
    p_value: float | None = None
    fixed: int | None = None
    broke: int | None = None
    baseline_cached: bool = False


@dataclass
class HeadroomMap:
    """A task's map on one model: the grid, what was asked, and the cells row by row."""

    model: str
    task: str
    task_params: dict[str, Any]
    placement: str
    split: str
    n_cases: int
    lengths: list[int]
    depths: list[float]
    config: dict[str, Any] | None
    cells: list[Cell] = field(default_factory=list)

    def cell(self, length: int, depth: float) -> Cell:
        return next(c for c in self.cells if c.length == length and c.depth == depth)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def _interval(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (math.nan, math.nan)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return (float(ci.low), float(ci.high))


def measure_map(
    model, tokenizer, task: str, task_params: dict[str, Any], lengths: Sequence[int], depths: Sequence[float], *,
    config=None, n_cases: int = 10, split: str = "search", cache: BaselineCache | None = None,
    model_label: str = "", progress: Progress | None = None,
) -> HeadroomMap:
    """Score ``n_cases`` cases per (length, depth) cell without SRA (cached) and, with ``config``
    (an ``SRAConfig`` or a preset), on the same cases; see the module docstring."""
    from sra_search.statistics.paired import paired_test

    place = placement_name(task)
    fixed = {f"{place}_min", f"{place}_max", place, "length"}
    shared = {k: v for k, v in task_params.items() if k not in fixed}
    out = HeadroomMap(
        model=model_label, task=task, task_params=shared, placement=place, split=split, n_cases=n_cases,
        lengths=list(lengths), depths=list(depths), config=_config_dict(config),
    )  # fmt: skip
    say = progress or (lambda _m: None)
    total, done = len(lengths) * len(depths), 0
    for length in lengths:
        for depth in depths:
            t = get(task, **shared, length=length, **{place: depth})
            keys = [t.case_key(split, i) for i in range(n_cases)]
            base = cache.lookup(keys) if cache is not None else None
            cached = base is not None
            done += 1
            where = f"[{done}/{total}] length {length}, {place} {depth:g}"
            if base is None:
                say(f"{where}: baseline on {n_cases} cases")
                res = evaluate(model, tokenizer, t, None, split=split, n_cases=n_cases)
                base = [c.score for c in res.cases]
                tokens = res.prompt_tokens["mean"]
                if cache is not None:
                    cache.store(keys, base)
            else:
                tokens = math.nan
            cell = Cell(length=length, depth=float(depth), n=n_cases, prompt_tokens=tokens, baseline=sum(base) / n_cases,
                        baseline_ci=_interval(int(sum(base)), n_cases), baseline_cached=cached)  # fmt: skip
            if config is not None:
                say(f"{where}: SRA on {n_cases} cases")
                res = evaluate(model, tokenizer, t, config, split=split, n_cases=n_cases)
                sra = [c.score for c in res.cases]
                ev = paired_test(sra, base, alternative="two-sided", binary=True)
                cell.prompt_tokens = res.prompt_tokens["mean"]
                cell.sra, cell.sra_ci = sum(sra) / n_cases, _interval(int(sum(sra)), n_cases)
                cell.delta, cell.delta_ci, cell.p_value = ev.delta, (ev.ci_low, ev.ci_high), ev.p_value
                cell.fixed = sum(1 for s, b in zip(sra, base) if s > b)
                cell.broke = sum(1 for s, b in zip(sra, base) if s < b)
            out.cells.append(cell)
    return out


def _config_dict(config) -> dict[str, Any] | None:
    if config is None:
        return None
    if hasattr(config, "buckets"):  # a preset: its identity, not every bucket
        return {"preset": config.name, "version": config.version}
    return config.model_dump(mode="json")


def headroom_warning(baseline: float, n: int, *, low: float = 0.1, high: float = 0.9) -> str | None:
    """A warning when a baseline of ``baseline`` on ``n`` cases leaves little room to show a gain
    (at or above ``high``, or at or below ``low``), else None."""
    if n <= 0 or low < baseline < high:
        return None
    side = "at or above" if baseline >= high else "at or below"
    bound = high if baseline >= high else low
    return (
        f"the baseline answers {baseline:.2f} of the {n} search cases, {side} {bound}: little room to show a gain. "
        "Map where it has room first: sra-search map MODEL TASK --lengths ... --depths ..."
    )
