"""The FastAPI application: read-only JSON API under /api, the workbench page at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from shadowtrace.report.dossier import shadowtrace_version
from shadowtrace.web import errors, routes_alerts, routes_events, routes_meta, routes_vessels
from shadowtrace.web.deps import Store, single_values
from shadowtrace.web.models import ErrorResponse, EventCollection, error_doc
from shadowtrace.web.security import SecurityMiddleware

STATIC_DIR = Path(__file__).parent / "static"
_SWAGGER = "/static/vendor/swagger-ui"

# Every operation can answer these with the error shape (documented so clients and the
# schema tests know them).
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("bad request"),
    401: error_doc("missing or wrong token"),
    405: error_doc("method other than GET or HEAD"),
    413: error_doc("the request had a body"),
    414: error_doc("query string over 2,048 bytes"),
    422: error_doc("invalid parameter (details lists the fields)"),
    500: error_doc("internal error"),
    503: error_doc("store unavailable"),
}


def create_app(db: Path, token: str | None = None, *, allowed_hosts: list[str] | None = None,
               store: Store | None = None, broadcast: Any = None) -> FastAPI:
    """The app over the store at ``db`` (opened read-only, once). With ``token`` every request
    needs it; with ``allowed_hosts`` the Host header must name one of them. Inside the watcher
    (``watch --serve``) it is given the watcher's ``store`` (writable, refreshed after each
    detection run) and the ``broadcast`` of new alerts that /api/alerts/stream relays."""
    store = store if store is not None else Store(Path(db))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.open()  # again after a previous shutdown (tests start one app more than once)
        yield
        store.close()

    app = FastAPI(title="shadowtrace", summary="Read-only API over a shadowtrace store",
                  version=shadowtrace_version(), lifespan=lifespan, redoc_url=None, docs_url=None,
                  responses=_ERRORS,
                  dependencies=[Depends(single_values)])
    app.state.store = store
    app.state.broadcast = broadcast
    errors.install(app)
    for module in (routes_meta, routes_vessels, routes_events, routes_alerts):
        app.include_router(module.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # FastAPI's default page loads Swagger UI from a CDN; ours ships it (works offline).
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="shadowtrace API",
            swagger_js_url=f"{_SWAGGER}/swagger-ui-bundle.js", swagger_css_url=f"{_SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{_SWAGGER}/favicon-32x32.png")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.add_middleware(SecurityMiddleware, token=token, allowed_hosts=allowed_hosts)
    _extend_openapi(app, token is not None)
    return app


def _extend_openapi(app: FastAPI, with_token: bool) -> None:
    """Add the models only named by $ref (the GeoJSON form of /api/events, the error shape)
    and the bearer scheme when a token is required."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (EventCollection, ErrorResponse):
            extra = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
            components.update(extra.pop("$defs", {}))
            components[model.__name__] = extra
        if with_token:
            schema["components"]["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"token": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
