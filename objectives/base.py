"""What a task is: a parameterised generator of :class:`Case` objects plus its scoring rule.

Three scoring modes, chosen by the task class (for retrieval tasks, by their ``scoring``
parameter: free answers in ``generate`` mode by default, see :mod:`objectives.answers`):

- ``exact``: one teacher-forced forward over prompt + gold answer; correct iff greedy decoding
  would emit the gold tokens (argmax at every answer position) and then stop the answer
  (the next argmax does not continue the last word or number);
- ``generate``: greedy generation with a length cap, scored by :meth:`Task.score_prediction`
  (retrieval tasks: the answer holds the gold);
- ``perplexity``: negative log-likelihood of the last tokens of each case.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

from objectives.answers import ANSWER_SLACK, FIRST_TEMPLATES, LEGACY_ANSWER, PLAIN_CUE, contains_answer
from objectives.errors import ObjectiveError
from objectives.params import SyntheticParams, TaskParams, parse_params
from objectives.prompting import encode_answer, render, use_chat
from objectives.splits import case_rng, check_split, order_key, split_of

Mode = Literal["exact", "generate", "perplexity"]


@dataclass
class Case:
    """One prompt to score. ``answer_ids`` (exact), ``max_new_tokens`` (generate) or
    ``score_tokens`` (perplexity) say what is scored."""

    id: str
    prompt_ids: list[int]
    gold: Any
    answer_ids: list[int] = field(default_factory=list)
    max_new_tokens: int = 0
    score_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    lead_ids: list[int] = field(default_factory=list)
    """Free answers: the answer's lead-in as it would follow the prompt. The gold's log-likelihood
    (:mod:`objectives.signal`) is scored after it; empty when the prompt is primed."""


class Task(ABC):
    """Base class of every task. Subclasses set ``Params``, ``mode`` and implement :meth:`build_cases`
    (and :meth:`score_prediction` in ``generate`` mode)."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[TaskParams]] = TaskParams
    mode: ClassVar[Mode] = "exact"
    main_metric: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        self.params = parse_params(self.Params, self.name, params)
        self._cache: dict[tuple, Case] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def describe(self) -> dict[str, Any]:
        """Name and every parameter (defaults included), for results and logs."""
        return {"task": self.name, "params": self.params.model_dump(mode="json")}

    def params_hash(self) -> str:
        """A short hash of every parameter (defaults included): two tasks with equal hashes make
        the same cases. The answer parameters are left out while they hold the values every case
        had before they existed (:data:`~objectives.answers.LEGACY_ANSWER`), and ``template`` while it
        is the task's first one, so older keys still pair."""
        import hashlib
        import json

        params = {
            k: v for k, v in self.describe()["params"].items()
            if not (k in LEGACY_ANSWER and v == LEGACY_ANSWER[k]) and not (k == "template" and v in FIRST_TEMPLATES)
        }
        blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def case_key(self, split: str, index: int) -> str:
        """The stable id of case ``index`` of ``split``: ``task:params-hash:split:index``. Paired
        comparisons match a config's outcomes with the baseline's by it."""
        return f"{self.name}:{self.params_hash()}:{split}:{index}"

    # -- cases -------------------------------------------------------------------------------
    def cases(self, tokenizer, split: str = "search", n_cases: int | None = None, offset: int = 0) -> list[Case]:
        """Cases ``offset .. offset + n_cases`` of ``split``; case ``i`` is the same whatever the chunking."""
        check_split(split)
        n = self.params.n_cases if n_cases is None else n_cases
        if n < 0 or offset < 0:
            raise ObjectiveError(f"n_cases and offset must be >= 0 (got n_cases={n}, offset={offset})")
        return self.build_cases(tokenizer, split, range(offset, offset + n))

    @abstractmethod
    def build_cases(self, tokenizer, split: str, indices: range) -> list[Case]:
        """The cases at ``indices`` of ``split``."""

    def chat(self, tokenizer) -> bool:
        return use_chat(tokenizer, self.params.chat)

    # -- scoring -----------------------------------------------------------------------------
    def score_prediction(self, case: Case, prediction: str) -> dict[str, float]:
        """Metrics of one generated answer (``generate`` mode); must contain ``main_metric``."""
        raise ObjectiveError(f"task '{self.name}' scores no generated answers (mode '{self.mode}')")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A generation task without its own scoring rule would only fail at its first case.
        if cls.mode == "generate" and cls.score_prediction is Task.score_prediction:
            raise TypeError(f"{cls.__name__}: a task in 'generate' mode must define score_prediction")

    def answer_complete(self, tokenizer, token_id: int) -> bool:
        """Exact mode: does greedy decoding stop the answer with this next token?

        A token that starts with a letter or digit would extend the key (``12345`` -> ``123456``).
        """
        text = tokenizer.decode([token_id])
        return not (text[:1].isalnum())

    def aggregate(self, cases: list) -> dict[str, float]:
        """Task metrics from case results (also used to merge chunks evaluated separately)."""
        out: dict[str, float] = {}
        if not cases:
            return {self.main_metric: math.nan}
        out[self.main_metric] = sum(c.score for c in cases) / len(cases)
        keys = set.intersection(*(set(c.metrics) for c in cases))
        for key in sorted(keys):
            if key.endswith("_tokens") or key.endswith("_nll") or key == self.main_metric:
                continue
            out[key] = sum(c.metrics[key] for c in cases) / len(cases)
        # Token-weighted perplexities: exp of the mean NLL per token over all cases.
        for prefix in ("answer", "ppl"):
            if f"{prefix}_nll" in keys and f"{prefix}_tokens" in keys:
                tokens = sum(c.metrics[f"{prefix}_tokens"] for c in cases)
                nll = sum(c.metrics[f"{prefix}_nll"] * c.metrics[f"{prefix}_tokens"] for c in cases)
                out["answer_ppl" if prefix == "answer" else "perplexity"] = math.exp(nll / tokens) if tokens else math.nan
        if self.mode == "exact" or isinstance(self, SyntheticTask):  # 0/1 scores
            p = out[self.main_metric]
            out["stderr"] = math.sqrt(max(p * (1 - p), 0.0) / len(cases))
        return out


class SyntheticTask(Task):
    """Retrieval task whose cases are generated from ``(seed, split, index, length)``.

    Subclasses implement :meth:`draw_gold` (what is asked for; its identity fixes the split)
    and :meth:`make_prompt` (the prompt around it, fit to ``params.length`` tokens, rendered with
    :meth:`render`). How answers are asked for and scored is the parameters' ``prime`` and
    ``scoring`` (:mod:`objectives.answers`): free greedy answers by default (``generate`` mode),
    or the primed gold teacher-forced (``exact`` mode).
    """

    Params: ClassVar[type[TaskParams]] = SyntheticParams
    mode: ClassVar[Mode] = "exact"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # The instance's mode follows its scoring parameter (the class default is for tooling).
        self.mode = "exact" if self.params.scoring == "teacher_forced" else "generate"  # type: ignore[misc]

    def render(self, tokenizer, user: str, lead_in: str, chat: bool) -> list[int]:
        """The prompt's ids: ``user``'s text, ending with the answer's ``lead_in`` when ``prime`` is
        set, else where a user's prompt ends (the chat template's generation prompt, or
        ``Answer:`` on a plain prompt)."""
        if self.params.prime:
            return render(tokenizer, user, lead_in, chat=chat)
        return render(tokenizer, user, "" if chat else PLAIN_CUE, chat=chat)

    def answer_cap(self, tokenizer, lead_in: str, answer_ids: list[int]) -> int:
        """Generated tokens allowed: ``max_answer_tokens``, else room to restate the lead-in, the
        gold and :data:`~objectives.answers.ANSWER_SLACK` more."""
        if self.params.max_answer_tokens is not None:
            return self.params.max_answer_tokens
        lead = len(tokenizer(lead_in, add_special_tokens=False)["input_ids"]) if lead_in and not self.params.prime else 0
        return lead + len(answer_ids) + ANSWER_SLACK

    def lead_in_ids(self, tokenizer, lead_in: str, chat: bool) -> list[int]:
        """Free answers: ``lead_in``'s ids as they would follow the prompt (after a space where a
        plain prompt ends with its ``Answer:`` cue); none when the prompt is primed with it."""
        if self.params.prime or not lead_in:
            return []
        return list(tokenizer(lead_in if chat else " " + lead_in, add_special_tokens=False)["input_ids"])

    def score_prediction(self, case: Case, prediction: str) -> dict[str, float]:
        """Free answers: 1 when the answer holds the gold (:func:`~objectives.answers.contains_answer`)."""
        return {self.main_metric: 1.0 if contains_answer(prediction, str(case.gold)) else 0.0}

    @abstractmethod
    def draw_gold(self, rng) -> tuple[str, Any]:
        """``(identity, gold)``: the identity decides the split, so keep it to what is asked."""

    @abstractmethod
    def make_prompt(self, tokenizer, rng, gold: Any, chat: bool) -> tuple[list[int], str, dict[str, Any]]:
        """``(prompt_ids, answer_text, meta)`` for this gold; ``answer_text`` follows the primed
        prompt. ``meta["lead_in"]``, when given, is the primer passed to :meth:`render` (it sizes
        the free answer's cap and is not kept in the case's meta)."""

    def build_cases(self, tokenizer, split: str, indices: range) -> list[Case]:
        chat = self.chat(tokenizer)
        return [self._case(tokenizer, split, i, chat) for i in indices]

    def _case(self, tokenizer, split: str, index: int, chat: bool) -> Case:
        key = (id(tokenizer), split, index, chat)
        if key in self._cache:
            return self._cache[key]
        p = self.params
        rng = case_rng(self.name, p.seed, split, index)
        for _ in range(10_000):
            identity, gold = self.draw_gold(rng)
            if split_of(self.name, identity, p.holdout_fraction) == split:
                break
        else:  # pragma: no cover - only with a degenerate key space
            raise ObjectiveError(f"task '{self.name}': no case found for split '{split}'")
        prompt_ids, answer, meta = self.make_prompt(tokenizer, rng, gold, chat)
        answer_ids = encode_answer(tokenizer, answer)
        lead_in = meta.pop("lead_in", "")
        case = Case(
            id=f"{self.name}/{split}/{p.seed}/{index}",
            prompt_ids=prompt_ids,
            gold=answer.strip(),
            answer_ids=answer_ids,
            max_new_tokens=self.answer_cap(tokenizer, lead_in, answer_ids),
            meta=meta,
            lead_ids=self.lead_in_ids(tokenizer, lead_in, chat),
        )
        self._cache[key] = case
        return case


def distinct_pairs(
    n: int, key: Callable[[], str], value: Callable[[], str], taken: str, *, n_keys: int | None = None
) -> list[tuple[str, str]]:
    """Up to ``n`` distractor pairs ``(key(), value())`` whose keys differ from each other and from
    ``taken``; ``value()`` is drawn only for a new key. ``n_keys``: how many keys there are at all."""
    seen, pairs = {taken}, []
    while len(pairs) < n and (n_keys is None or len(seen) < n_keys):
        k = key()
        if k not in seen:
            seen.add(k)
            pairs.append((k, value()))
    return pairs


class DatasetTask(Task):
    """Task over records of a data set: each record's identity fixes its split, ``seed`` its order."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._records: list[dict[str, Any]] | None = None  # loaded on first use

    @abstractmethod
    def load_records(self) -> list[dict[str, Any]]:
        """Every record of the data set, in file order."""

    def record_identity(self, record: dict[str, Any], index: int) -> str:
        """A stable id for a record: its own id field when it has one, else its content."""
        import hashlib
        import json

        for key in ("_id", "id"):
            if record.get(key) not in (None, ""):
                return str(record[key])
        blob = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @abstractmethod
    def make_case(self, tokenizer, record: dict[str, Any], identity: str, chat: bool) -> Case:
        """The case of one record."""

    def split_records(self, split: str) -> list[tuple[str, dict[str, Any]]]:
        """``(identity, record)`` of ``split`` in seeded order."""
        if self._records is None:
            self._records = self.load_records()
        p = self.params
        chosen = []
        for i, rec in enumerate(self._records):
            ident = self.record_identity(rec, i)
            if split_of(self.name, ident, p.holdout_fraction) == split:
                chosen.append((ident, rec))
        chosen.sort(key=lambda pair: order_key(p.seed, pair[0]))
        return chosen

    def build_cases(self, tokenizer, split: str, indices: range) -> list[Case]:
        chat = self.chat(tokenizer)
        records = self.split_records(split)
        if indices.stop > len(records):
            raise ObjectiveError(
                f"task '{self.name}': split '{split}' has {len(records)} cases, asked for cases "
                f"{indices.start}..{indices.stop - 1}"
            )
        out = []
        for i in indices:
            ident, rec = records[i]
            key = (id(tokenizer), split, ident, chat)
            if key not in self._cache:
                self._cache[key] = self.make_case(tokenizer, rec, ident, chat)
            out.append(self._cache[key])
        return out


def prompt_with_chat(tokenizer, user: str, assistant_prefix: str, chat: bool) -> list[int]:
    """Shorthand used by tasks."""
    return render(tokenizer, user, assistant_prefix, chat=chat)
