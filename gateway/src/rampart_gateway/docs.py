"""Swagger UI and ReDoc, with their assets served by the gateway itself (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
)
SWAGGER_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", deepLinking: true});
});
"""
SWAGGER_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Rampart API</title>
<link rel="stylesheet" href="/static/docs/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/static/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>"""
REDOC_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Rampart API</title></head><body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/static/docs/redoc.standalone.js"></script></body></html>"""


def assets_dir() -> Path:
    """The Swagger UI and ReDoc bundles shipped in the fastapi-offline wheel (found, not imported)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline (docs assets) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def swagger(request: Request) -> Response:
    return HTMLResponse(SWAGGER_PAGE, headers={"content-security-policy": DOCS_CSP})


async def swagger_init(request: Request) -> Response:
    return Response(SWAGGER_INIT, media_type="text/javascript")


async def redoc(request: Request) -> Response:
    return HTMLResponse(REDOC_PAGE, headers={"content-security-policy": DOCS_CSP})


def docs_routes() -> list[Route | Mount]:
    return [
        Route("/docs", swagger, methods=["GET"]),
        Route("/docs/init.js", swagger_init, methods=["GET"]),
        Route("/redoc", redoc, methods=["GET"]),
        Mount("/static/docs", StaticFiles(directory=assets_dir()), name="docs-assets"),
    ]
