"""Looking presets up by model and task, in directories or from a ``sra-search serve`` URL.

Search order for ``Registry()``: the directories in ``$SRA_SEARCH_PRESETS`` (``:``-separated),
then the project's ``presets/``. For one (model, task) the first directory that has it wins.
Malformed files are reported by :meth:`Registry.problems` and skipped, never fatal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sra_search.config import SRAConfig
from sra_search.presets.read import PresetFormatError, read_preset, validate_preset
from sra_search.presets.schema import Preset, check_name
from sra_search.presets.store import inside, preset_dir, versions
from sra_search.urls import redact_url, scrub_secrets

ENV_VAR = "SRA_SEARCH_PRESETS"
PROJECT_PRESETS = Path(__file__).resolve().parents[2] / "presets"


class PresetNotFoundError(LookupError):
    """No preset for that model, task, version or prompt length."""


class RegistryError(RuntimeError):
    """A registry URL that does not answer as ``sra-search serve`` does; the message names the URL
    (password hidden) and the fix."""


HTTP_TIMEOUT_S = 30
_REGISTRY_FIX = "check --registry: a preset directory, or the URL of a running `sra-search serve`"
_NOT_JSON = object()


@dataclass(frozen=True)
class PresetRef:
    """One published preset version, as listed."""

    model: str
    task: str
    version: int
    location: str


def default_roots() -> list[Path]:
    roots = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return roots + [PROJECT_PRESETS]


class Registry:
    """Presets in one or more directories, or behind a ``sra-search serve`` HTTP URL."""

    def __init__(self, path_or_url: str | os.PathLike | list | None = None) -> None:
        self.url: str | None = None
        if isinstance(path_or_url, str) and path_or_url.startswith(("http://", "https://")):
            self.url = path_or_url.rstrip("/")
            self.roots: list[Path] = []
        elif path_or_url is None:
            self.roots = default_roots()
        elif isinstance(path_or_url, list):
            self.roots = [Path(p) for p in path_or_url]
        else:
            self.roots = [Path(path_or_url)]

    # -- HTTP ------------------------------------------------------------------------------
    def _http(self, path: str, params: dict | None = None):
        """The JSON body of ``GET url + path``; every way it can fail is one of this module's errors:
        404 :class:`PresetNotFoundError`, 400 ``ValueError`` (a name the server refused), anything
        else (no connection, a timeout, another status, a body that is not JSON) :class:`RegistryError`."""
        import httpx

        shown = redact_url(self.url)
        try:
            r = httpx.get(self.url + path, params=params, timeout=HTTP_TIMEOUT_S)
        except httpx.TimeoutException:
            raise RegistryError(f"registry {shown} did not answer within {HTTP_TIMEOUT_S} s; {_REGISTRY_FIX}") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # refused, no route, DNS, a malformed URL
            why = scrub_secrets(" ".join(f"{type(exc).__name__}: {exc}".split())[:200], self.url)
            raise RegistryError(f"registry {shown} is unreachable ({why}); {_REGISTRY_FIX}") from None
        try:
            body = r.json()
        except ValueError:  # not JSON (or not UTF-8): not a preset server
            body = _NOT_JSON
        detail = body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), str) else None
        if r.status_code == 404:
            raise PresetNotFoundError(detail or f"registry {shown}: {path} not found")
        if r.status_code == 400:
            raise ValueError(detail or f"registry {shown} refused {path}")
        if r.status_code != 200:
            said = f": {detail[:300]}" if detail else ""
            raise RegistryError(f"registry {shown} answered HTTP {r.status_code} for {path}{said}; {_REGISTRY_FIX}")
        if body is _NOT_JSON:
            raise RegistryError(f"registry {shown} answered {path} with something that is not JSON; {_REGISTRY_FIX}")
        return body

    # -- listing -----------------------------------------------------------------------------
    def _pairs(self) -> dict[tuple[str, str], Path]:
        """(model, task) -> the directory that serves it (first root wins)."""
        found: dict[tuple[str, str], Path] = {}
        for root in self.roots:
            if not root.is_dir():
                continue
            for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and inside(root, p)):
                for task_dir in sorted(p for p in model_dir.iterdir() if p.is_dir() and inside(root, p)):
                    key = (model_dir.name, task_dir.name)
                    if key not in found and versions(task_dir):
                        found[key] = task_dir
        return found

    def list(self) -> list[PresetRef]:
        """Every published version, sorted by model, task, version."""
        if self.url:
            listed = self._http("/presets")
            try:
                return [PresetRef(str(d["model"]), str(d["task"]), _version(d["version"]), str(d["location"])) for d in listed]
            except (TypeError, KeyError, ValueError):
                raise RegistryError(
                    f"registry {redact_url(self.url)} answered /presets with something that is not a preset list; "
                    f"{_REGISTRY_FIX}"
                ) from None
        refs = []
        for (model, task), d in sorted(self._pairs().items()):
            refs += [PresetRef(model, task, v, str(d / f"v{v}.json")) for v in versions(d)]
        return refs

    def problems(self) -> list[str]:
        """One message per preset file that does not validate."""
        out = []
        for ref in ([] if self.url else self.list()):
            try:
                read_preset(Path(ref.location))
            except PresetFormatError as e:
                out.append(str(e))
        return out

    # -- lookup ------------------------------------------------------------------------------
    def get(self, model: str, task: str, version: int | str = "latest", include_unproven: bool = False) -> Preset:
        """The preset of ``model`` and ``task``: ``version`` an int or ``"latest"``.

        Presets exported with ``--force`` record configs that did *not* beat the baseline on
        held-out cases (``beats_baseline: false``); they serve as findings and regression
        anchors, and lookups skip them unless ``include_unproven`` is set. A version-2 finding
        (measured under the significance gate) also supersedes the versions before it: "latest"
        then finds nothing rather than an older claim the newer measurement did not confirm.
        """
        check_name("model name", model)
        check_name("task name", task)
        if version != "latest":
            version = _version(version)
        if self.url:
            params = {"version": str(version), "include_unproven": str(include_unproven).lower()}
            return validate_preset(self._http(f"/presets/{model}/{task}", params), f"registry {redact_url(self.url)}")
        d = self._pairs().get((model, task))
        if d is None:
            raise PresetNotFoundError(f"no preset for model {model!r} and task {task!r} in {self._where()}")
        available = versions(d)
        directory = preset_dir(d.parents[1], model, task)
        if version != "latest":
            v = version
            if v not in available:
                raise PresetNotFoundError(f"{model}/{task} has no version {v} (published: {available})")
            preset = read_preset(directory / f"v{v}.json")
            if not preset.beats_baseline and not include_unproven:
                raise PresetNotFoundError(
                    f"{model}/{task} v{v} does not beat its baseline (exported with --force); "
                    "pass include_unproven=True to use it anyway"
                )
            return preset
        for v in reversed(available):
            preset = read_preset(directory / f"v{v}.json")
            if preset.beats_baseline or include_unproven:
                return preset
            if preset.schema_version >= 2:
                # A finding measured under the significance gate is the newest word on this model
                # and task: the older versions it did not confirm are not served in its place.
                raise PresetNotFoundError(
                    f"{model}/{task}: the latest measurement (v{v}) did not show a gain on held-out cases, so "
                    "older versions are superseded; it is a finding, not a recommendation: pass "
                    "include_unproven=True to use it anyway"
                )
        raise PresetNotFoundError(
            f"{model}/{task} has only presets that do not beat their baseline (versions {available}); "
            "they are findings, not recommendations: pass include_unproven=True to use one anyway"
        )

    def resolve(
        self, model: str, task: str, prompt_len: int, version: int | str = "latest", include_unproven: bool = False
    ) -> SRAConfig:
        """The ``SRAConfig`` of the bucket that holds ``prompt_len`` tokens."""
        preset = self.get(model, task, version, include_unproven)
        cfg = preset.config_for(prompt_len)
        if cfg is None:
            ranges = ", ".join(f"[{b.min_tokens}, {b.max_tokens}]" for b in preset.buckets)
            raise PresetNotFoundError(f"{preset.name} v{preset.version} has no bucket for {prompt_len} tokens: {ranges}")
        return cfg

    def _where(self) -> str:
        return ", ".join(str(r) for r in self.roots) or "(no directory)"


def _version(value: object) -> int:
    """A version number: an int (not a bool) or a string of ASCII digits. ``str.isdigit`` and
    ``int()`` also accept other scripts' digits ("٣" is 3), which no version file is named with."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{0,8}", value):
        return int(value)
    raise ValueError(f"version must be a positive integer or 'latest', got {value!r}")
