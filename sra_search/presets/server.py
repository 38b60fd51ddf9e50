"""Read-only HTTP API over a preset registry (FastAPI), started by ``sra-search serve``.

``GET /presets`` lists versions; ``GET /presets/{model}/{task}?version=latest`` returns one
preset. Names are validated before any file is touched, so a path like ``..%2F..`` gets a
400, never a file outside the registry.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI, HTTPException, Query

from sra_search.presets.read import PresetFormatError
from sra_search.presets.registry import PresetNotFoundError, Registry
from sra_search.version import __version__


def create_app(registry: Registry) -> FastAPI:
    """The FastAPI application serving ``registry``."""
    app = FastAPI(title="sra-search presets", version=__version__, docs_url="/docs", redoc_url=None)

    @app.get("/presets")
    def list_presets() -> list[dict]:
        return [asdict(r) | {"location": f"/presets/{r.model}/{r.task}?version={r.version}"} for r in registry.list()]

    @app.get("/presets/{model}/{task}")
    def get_preset(
        model: str,
        task: str,
        version: str = Query("latest", pattern=r"^(latest|[1-9][0-9]{0,8})$"),
        include_unproven: bool = False,
    ):
        try:
            preset = registry.get(model, task, version if version == "latest" else int(version), include_unproven)
        except ValueError as e:  # invalid name (PresetFormatError is a ValueError too)
            if isinstance(e, PresetFormatError):
                raise HTTPException(500, f"stored preset is invalid: {e}") from e
            raise HTTPException(400, str(e)) from e
        except PresetNotFoundError as e:
            raise HTTPException(404, str(e)) from e
        return preset.model_dump(mode="json")

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok"}

    return app
