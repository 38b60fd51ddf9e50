"""The checks a study file gets before the storage is opened, so a bad file writes nothing.

``sra-search run`` stops here, naming the key, when:

- ``model`` names nothing loadable: not a catalogue name, not a local Hugging Face folder (a
  directory with ``config.json``), and not a hub id whose tokenizer loads;
- a task's parameters are refused by ``objectives.get`` (unknown name, wrong type, out of range);
- a file parameter (a perplexity text, a data set file) is missing, is not a regular file or a
  directory, or lies outside the directories a study may read: the current directory, the study
  file's directory, this project's checkout, and those in ``$SRA_SEARCH_DATA_ROOT``
  (``:``-separated); ``/etc/passwd`` or ``../../..`` are refused;
- the first case of a task cannot be built with the model's tokenizer (a data set with no
  records, a split with no cases, a prompt that does not fit).

Only the tokenizer is loaded (seconds), never the weights: the workers load those.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

from sra_search.catalog import KNOWN, known
from sra_search.search.studyfile.schema import PerplexityConstraint, StudyFile, StudyFileError, TaskSpec
from sra_search.search.studyfile.task_params import check_task_params

DATA_ROOT_ENV = "SRA_SEARCH_DATA_ROOT"
PROJECT = Path(__file__).resolve().parents[3]
DATA_SUFFIXES = {".txt", ".json", ".jsonl", ".parquet", ".csv", ".tsv", ".gz", ".arrow", ".md"}
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def check_study(spec: StudyFile, tasks: list[TaskSpec], ppl: PerplexityConstraint | None, base_dir: str | None) -> None:
    """Every check of this module, in file order where they cost nothing (tasks, their files, the
    model), then the one that loads the tokenizer; :class:`StudyFileError` naming the key."""
    check_task_params(tasks, ppl)
    for where, params in _param_sets(tasks, ppl):
        check_files(where, params, base_dir)
    check_model(spec.model)
    check_first_cases(tasks, ppl, load_tokenizer(spec.model, spec.trust_remote_code))


def _param_sets(tasks: list[TaskSpec], ppl: PerplexityConstraint | None) -> list[tuple[str, dict[str, Any]]]:
    out = [(f"tasks[{i}].params", t.params) for i, t in enumerate(tasks)]
    return out + ([("constraints.perplexity.params", ppl.params)] if ppl is not None else [])


# ----------------------------------------------------------------------------- model


def check_model(name: str) -> None:
    """``model`` is a catalogue name that is installed, a local model folder, or shaped like a hub id."""
    entry = known(name)
    if entry is not None:
        problem = entry.problem()
        if problem:
            raise StudyFileError(f"model: {name!r} is {problem}")
        return
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise StudyFileError(f"model: {name!r} is not a Hugging Face model folder (a directory with config.json)")
        return
    if name.startswith(("/", "~", ".")) or "\\" in name:
        raise StudyFileError(f"model: no such directory {name!r} (relative paths are read from the current directory)")
    if not _HUB_ID.fullmatch(name):
        raise StudyFileError(
            f"model: {name!r} is not a known model ({', '.join(KNOWN)}), a local model folder with config.json, "
            "or a hub id such as 'HuggingFaceTB/SmolLM2-135M-Instruct'"
        )


def load_tokenizer(name: str, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer, loaded the way ``sra_search.models.load_model`` loads it (the
    weights are not read); :class:`StudyFileError` naming ``model`` when it does not load. A hub
    id that is neither cached nor reachable is refused at once (the hub client would retry for a
    minute, printing every retry)."""
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    source: Any = name
    try:
        entry = known(name)
        if entry is not None:
            gguf = entry.locate()
            source, kwargs["gguf_file"] = gguf.parent, gguf.name
        elif not Path(name).expanduser().exists() and not _cached_or_reachable(name):
            raise StudyFileError(
                f"model: hub id {name!r} is not in the local Hugging Face cache and the hub cannot be reached; "
                "download it first (huggingface-cli download), or give a local model folder"
            )
        with _quiet():
            tok = AutoTokenizer.from_pretrained(source, **kwargs)
    except StudyFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reason the model cannot be read is the file's
        raise StudyFileError(f"model: cannot load the tokenizer of {name!r}: {_first_line(exc)}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


@contextlib.contextmanager
def _quiet():
    """No output while loading: transformers' GGUF reader draws tqdm bars on stderr, and the hub
    client logs each retry; the error, if any, is ours to word."""
    loggers = [logging.getLogger(n) for n in ("huggingface_hub", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _cached_or_reachable(repo_id: str) -> bool:
    """The hub id's files are in the local cache, or the hub (``HF_ENDPOINT``) answers a TCP connect."""
    from urllib.parse import urlparse

    from huggingface_hub import constants, try_to_load_from_cache

    if any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in ("tokenizer_config.json", "config.json")):
        return True
    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=5).close()
    except (OSError, ValueError):
        return False
    return True


# ----------------------------------------------------------------------------- files


def allowed_roots(base_dir: str | None) -> list[Path]:
    """Directories a study may read files from (see the module doc)."""
    roots = [Path.cwd()] if Path.cwd() != Path("/") else []  # "/" as the working directory would allow any file
    roots += [Path(base_dir)] if base_dir else []
    roots += [PROJECT] if (PROJECT / "pyproject.toml").is_file() else []
    roots += [Path(p).expanduser() for p in os.environ.get(DATA_ROOT_ENV, "").split(os.pathsep) if p]
    return [r.resolve() for r in roots]


def _path_like(value: str) -> bool:
    """A value that names a local file (a hub id such as ``Salesforce/wikitext`` does not)."""
    if "\n" in value or "{" in value or not value.strip():
        return False  # template text (a prompt), not a path
    p = Path(value)
    return (
        value.startswith(("/", "~", "./", "../")) or ".." in p.parts or p.suffix.lower() in DATA_SUFFIXES
        or os.path.lexists(value)
    )  # fmt: skip


def locate(value: str, base_dir: str | None) -> Path:
    """Where a file parameter points: as given (from the current directory), else next to the study file."""
    p = Path(value).expanduser()
    if p.is_absolute() or os.path.lexists(p) or not base_dir:
        return p
    beside = Path(base_dir) / p
    return beside if os.path.lexists(beside) else p


def check_file(key: str, value: str, base_dir: str | None) -> None:
    """One file parameter: it exists, is a regular file or a directory, and resolves (links
    followed) inside :func:`allowed_roots`."""
    p = locate(value, base_dir)
    if not p.exists():
        raise StudyFileError(f"{key}: no such file {value!r} (relative paths are read from the current directory, then the study file's)")
    real = p.resolve()
    roots = allowed_roots(base_dir)
    if not any(real.is_relative_to(r) for r in roots):
        raise StudyFileError(
            f"{key}: {value!r} is outside the directories a study may read (the current directory, the study file's, "
            f"this project); put the file there or add its directory to ${DATA_ROOT_ENV}"
        )
    if not (real.is_file() or real.is_dir()):
        raise StudyFileError(f"{key}: {value!r} is not a regular file")


def check_files(where: str, params: dict[str, Any], base_dir: str | None) -> None:
    """Every string parameter that names a local file (see :func:`check_file`)."""
    for key, value in params.items():
        if isinstance(value, str) and _path_like(value):
            check_file(f"{where}.{key}", value, base_dir)


# ----------------------------------------------------------------------------- cases


def check_first_cases(tasks: list[TaskSpec], ppl: PerplexityConstraint | None, tokenizer: Any) -> None:
    """Build case 0 of each split a task is evaluated on, with the model's tokenizer."""
    import objectives

    checks = [
        (f"tasks[{i}]", t.name, t.params, ["search"] + (["holdout"] if t.cases.holdout else [])) for i, t in enumerate(tasks)
    ]
    if ppl is not None:
        checks.append(("constraints.perplexity", ppl.task, ppl.params, ["search"]))
    for where, name, params, splits in checks:
        task = objectives.get(name, **params)
        for split in splits:
            try:
                cases = task.cases(tokenizer, split, n_cases=1, offset=0)
                if not cases:
                    raise ValueError(f"the {split} split has no cases")
            except Exception as exc:  # noqa: BLE001 - whatever stops the first case stops every trial
                raise StudyFileError(f"{where}: the first {split} case cannot be built: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
