"""Metric functions shared by the tasks. Scores are in [0, 1] (LongBench reports them x100).

The LongBench metrics follow the definitions of LongBench's ``metrics.py`` (SQuAD-style
normalisation and token F1, ROUGE-L F, classification, retrieval, count, code edit
similarity); ROUGE comes from ``rouge-score`` rather than the ``rouge`` package, and edit
similarity from :class:`difflib.SequenceMatcher` (what ``fuzzywuzzy.fuzz.ratio`` uses
without python-Levenshtein, unrounded).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import string
from collections import Counter

# -- text normalisation ----------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation and articles, squeeze spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_ZH_PUNCT = set("！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏.")


def normalize_zh_answer(text: str) -> str:
    """LongBench's Chinese normalisation: lower case, drop (CJK and ASCII) punctuation and spaces."""
    text = text.lower()
    drop = _ZH_PUNCT | set(string.punctuation)
    return "".join(ch for ch in text if ch not in drop and not ch.isspace())


def _jieba_cut(text: str) -> list[str]:
    try:
        import jieba
    except ImportError as exc:  # pragma: no cover - jieba is a dependency
        raise ImportError("Chinese LongBench metrics need the 'jieba' package (pip install jieba)") from exc
    jieba.setLogLevel(60)
    return list(jieba.cut(text, cut_all=False))


# -- token overlap -----------------------------------------------------------------------------


def token_f1(prediction: list[str], reference: list[str]) -> float:
    """F1 of the multiset overlap of two token lists."""
    common = Counter(prediction) & Counter(reference)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(prediction)
    recall = same / len(reference)
    return 2 * precision * recall / (precision + recall)


def qa_f1(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``qa_f1_score``: token F1 after SQuAD normalisation."""
    return token_f1(normalize_answer(prediction).split(), normalize_answer(reference).split())


def qa_f1_zh(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``qa_f1_zh_score``: jieba words, normalised, empty ones dropped."""
    pred = [t for t in (normalize_zh_answer(w) for w in _jieba_cut(prediction)) if t]
    ref = [t for t in (normalize_zh_answer(w) for w in _jieba_cut(reference)) if t]
    return token_f1(pred, ref)


# -- ROUGE -------------------------------------------------------------------------------------


class _WhitespaceTokenizer:
    # rouge-score's default tokenizer drops every non-ASCII character, which would empty Chinese text.
    def tokenize(self, text: str) -> list[str]:
        return text.split()


@functools.lru_cache(maxsize=4)
def _scorer(stem: bool, whitespace: bool):
    from rouge_score import rouge_scorer

    tok = _WhitespaceTokenizer() if whitespace else None
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stem, tokenizer=tok)


def rouge(prediction: str, reference: str, *, stem: bool = True) -> dict[str, float]:
    """ROUGE-1/2/L F-measures (``rouge-score``); an empty side scores 0."""
    if not prediction.strip() or not reference.strip():
        return {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    scores = _scorer(stem, False).score(reference, prediction)
    return {k: float(v.fmeasure) for k, v in scores.items()}


def rouge_l(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``rouge_score``: ROUGE-L F (no stemming)."""
    return rouge(prediction, reference, stem=False)["rougeL"]


def rouge_l_zh(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``rouge_zh_score``: ROUGE-L F over jieba words."""
    pred = " ".join(_jieba_cut(prediction))
    ref = " ".join(_jieba_cut(reference))
    if not pred.strip() or not ref.strip():
        return 0.0
    return float(_scorer(False, True).score(ref, pred)["rougeL"].fmeasure)


# -- classification, retrieval, count, code ---------------------------------------------------


def classification(prediction: str, reference: str, *, all_classes: list[str] | None = None, **_: object) -> float:
    """LongBench ``classification_score``: 1/k if the gold class is among the k classes named."""
    named = [c for c in (all_classes or []) if c in prediction]
    # A class named only as part of the gold class ("city" in "city name") does not count.
    named = [c for c in named if not (c in reference and c != reference)]
    return 1.0 / len(named) if reference in named else 0.0


def _share_equal(numbers: list[str], want: str) -> float:
    return sum(n == want for n in numbers) / len(numbers) if numbers else 0.0


def retrieval(prediction: str, reference: str, *, lang: str = "en", **_: object) -> float:
    """LongBench ``retrieval_score``: share of the numbers in the answer that are the gold paragraph."""
    pattern = r"Paragraph (\d+)" if lang == "en" else r"段落(\d+)"
    gold = re.findall(pattern, reference)
    if not gold:
        return 0.0
    return _share_equal(re.findall(r"\d+", prediction), gold[0])


def count(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``count_score``: share of the numbers in the answer equal to the gold count."""
    return _share_equal(re.findall(r"\d+", prediction), str(reference))


def first_code_line(prediction: str) -> str:
    """The first line that is not a comment or markdown fence (LongBench's code post-processing)."""
    for line in prediction.lstrip("\n").split("\n"):
        if "`" not in line and "#" not in line and "//" not in line:
            return line
    return ""


def edit_similarity(a: str, b: str) -> float:
    """Similarity ratio in [0, 1]: 2 * matching characters / total characters."""
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def code_sim(prediction: str, reference: str, **_: object) -> float:
    """LongBench ``code_sim_score``: edit similarity of the first code line to the gold line."""
    return edit_similarity(first_code_line(prediction), reference)


# -- likelihood --------------------------------------------------------------------------------


def perplexity(nll_sum: float, tokens: int) -> float:
    """``exp(mean NLL)``; NaN for zero tokens."""
    return math.exp(nll_sum / tokens) if tokens else math.nan
