"""Warm start: a new study's first trials are the configs earlier exports found.

``warm_start = ["presets/smollm2-135m/passkey/v4.json", ...]`` in a study file names preset files,
published or findings (another task, length or model: a finding's config still says where SRA was
feasible). Every bucket's config is enqueued after the paper's, in file and bucket order, with the
values the search space can hold (a value outside it is sampled instead, as for the paper's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sra_search.config import SRAConfig
from sra_search.search.storage.attrs import ORIGIN
from sra_search.search.studyfile.preflight import check_file, locate
from sra_search.search.studyfile.schema import StudyFile, StudyFileError
from sra_search.search.tuning import space


@dataclass(frozen=True)
class WarmStart:
    """One config to run first, and where it came from (the trial's ``origin``)."""

    origin: str
    config: SRAConfig


def warm_start_configs(spec: StudyFile, base_dir: str | None) -> list[WarmStart]:
    """The configs of ``spec.warm_start``'s presets; :class:`StudyFileError` naming the entry."""
    if not spec.warm_start:
        return []
    # Here, not at import: the presets package loads torch, which the driver process only needs
    # when a study names presets to start from.
    from sra_search.presets.read import PresetFormatError, read_preset

    out: list[WarmStart] = []
    for i, value in enumerate(spec.warm_start):
        key = f"warm_start[{i}]"
        check_file(key, value, base_dir)
        path = locate(value, base_dir)
        try:
            preset = read_preset(Path(path))
        except PresetFormatError as e:
            raise StudyFileError(f"{key}: {value!r} is not a preset file: {e}") from None
        for b in preset.buckets:
            origin = f"warm_start:{preset.name} v{preset.version} [{b.min_tokens}-{b.max_tokens}]"
            out.append(WarmStart(origin, b.config))
    return out


def enqueue_first_trials(study, spec: StudyFile, warm: list[WarmStart]) -> None:
    """Enqueue a new study's first trials: the paper's config (unless the study file turns it off),
    then each warm-start config in order, each with its ``origin``; a grid study enqueues none."""
    if spec.sampler.kind == "grid":
        return
    firsts = [("paper_public", space.paper_public_params(spec.search_space))] if spec.enqueue_paper_public else []
    firsts += [(w.origin, space.config_params(spec.search_space, w.config)) for w in warm]
    for origin, params in firsts:
        study.enqueue_trial(params, user_attrs={ORIGIN.key: origin}, skip_if_exists=True)
