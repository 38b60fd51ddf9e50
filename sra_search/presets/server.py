"""Read-only HTTP API over a preset registry (FastAPI), started by ``sra-search serve``.

``GET /presets`` lists versions; ``GET /presets/{model}/{task}?version=latest`` returns one
preset. Names are validated before any file is touched, so a path like ``..%2F..`` gets a
400, never a file outside the registry; links out of the registry are not listed at all.
A corrupt stored file is the server's problem: a 500 with a JSON body naming the file by its
place in the registry. No body carries the server's absolute paths. The interactive API docs
are off: FastAPI's page loads its assets from a public CDN (broken offline, and a third-party
load on a private service); the OpenAPI schema stays at ``/openapi.json``.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI, HTTPException, Query

from sra_search.presets.read import PresetFormatError
from sra_search.presets.registry import PresetNotFoundError, Registry
from sra_search.version import __version__


def create_app(registry: Registry) -> FastAPI:
    """The FastAPI application serving ``registry``."""
    app = FastAPI(title="sra-search presets", version=__version__, docs_url=None, redoc_url=None)

    def private(message: str) -> str:
        # Registry messages name its directories; a client needs the place inside them only.
        for root in sorted((str(r.resolve()) for r in registry.roots), key=len, reverse=True):
            message = message.replace(root + "/", "").replace(root, "<registry>")
        for root in registry.roots:
            message = message.replace(str(root) + "/", "").replace(str(root), "<registry>")
        return message

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
        except PresetFormatError as e:
            raise HTTPException(500, private(f"stored preset is invalid (a registry problem): {e}")) from None
        except ValueError as e:  # an invalid name
            raise HTTPException(400, private(str(e))) from None
        except PresetNotFoundError as e:
            raise HTTPException(404, private(str(e))) from None
        return preset.model_dump(mode="json")

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok"}

    return app
