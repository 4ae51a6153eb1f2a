"""The FastAPI application: middleware, error handlers, routers, and start-up."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import anyio.to_thread
import swagger_ui_bundle
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from app.admission import Admission
from app.errors import AppError, ErrorBody, InvalidPayload, LoginRequired, TooManyAttempts
from app.headers import SecurityHeaders
from app.i18n import _
from app.inputs import InputGuard
from app.settings import get_settings
from app.web import render
from instruments.loader import Registry, load

STATIC_DIR = Path(__file__).resolve().parent / "static"


@lru_cache
def loaded_instruments() -> Registry:
    """The instruments, loaded and checked once per process (start-up fails on any problem)."""
    return load().or_raise()


MAX_ERRORS = 20  # an error response lists at most this many problems, and counts the rest
MAX_MESSAGE = 300  # characters of one message
# Swagger UI's files, from the swagger-ui-bundle-v2 package (served under /static beside the app's own).
SWAGGER_UI = ("swagger_ui_bundle", str(Path(str(swagger_ui_path)).relative_to(Path(swagger_ui_bundle.__file__).parent)))
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TellOnce API</title>
<link rel="stylesheet" href="/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""
OAUTH2_REDIRECT_PAGE = (
    '<!doctype html><html lang="en-US"><head><title>TellOnce API</title></head>'
    '<body><script src="/static/oauth2-redirect.js"></script></body></html>'
)


API_PREFIXES = ("/api/", "/fhir/")  # /fhir/: the canonical URLs of the FHIR Questionnaires (app.interop.fhir_canonical)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def bounded(detail: Any, depth: int = 0) -> tuple[Any, int]:
    """`detail` with at most MAX_ERRORS entries per list or mapping and short strings; and how many
    entries were left out (at any level). An error never echoes a request back, however much was sent."""
    if isinstance(detail, str):
        return _short(detail), 0
    if depth > 4:
        return None, 0
    if isinstance(detail, dict):
        items = list(detail.items())
        kept_items = {_short(str(k)): bounded(v, depth + 1) for k, v in items[:MAX_ERRORS]}
        omitted = len(items) - len(kept_items) + sum(n for _v, n in kept_items.values())
        return {k: v for k, (v, _n) in kept_items.items()}, omitted
    if isinstance(detail, (list, tuple)):
        kept = [bounded(v, depth + 1) for v in detail[:MAX_ERRORS]]
        return [v for v, _n in kept], len(detail) - len(kept) + sum(n for _v, n in kept)
    return detail, 0


async def error_response(request: Request, exc: AppError) -> Response:
    """An expected failure as JSON for the API, or as a page (the guard of app.inputs answers through it too)."""
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        detail, omitted = bounded(exc.detail if exc.detail is not None else exc.message)
        body = {"error": exc.code, "detail": detail}
        if exc.detail is not None and not isinstance(exc, InvalidPayload):
            body["message"] = exc.message
        if omitted:
            body["omitted"] = omitted
        return JSONResponse(body, status_code=exc.status, headers=headers)
    if exc.redirect:
        return RedirectResponse(exc.redirect, status_code=303)
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if isinstance(exc, InvalidPayload):
        exc.status = 400  # a page's form answers 400; the API's 422
        exc.detail = bounded(exc.detail)[0]
    response = render(
        request,
        exc.page or "error.html",
        status_code=exc.status,
        error=exc,
        user=getattr(request.state, "user", None),
        csrf_token=getattr(request.state, "csrf_token", ""),
    )
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the input values: only where and what (`bounded` shortens them)."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def api_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document. Each API operation lists the errors it can answer from its own declaration
    (`responses=` built by `app.errors.responses`), all with the one ErrorBody schema."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, which no route answers
        schemas.pop(name, None)
    app.openapi_schema = document
    return document


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from app import backup, startup
    from app.db import get_engine, upgrade_database

    startup.check_configuration()  # before the database is made or migrated: a server that cannot start makes nothing
    if getattr(app.state, "upgrade_database", True):
        upgrade_database()
    startup.check(get_engine(), app.state.registry)  # keys configured; no published instrument changed
    lock = backup.hold_server_lock(get_settings().resolved_database_url)  # restore refuses while it is held
    # As many threads as requests are let in (app/admission.py): each admitted request finds one when it needs it.
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
    # What is loaded by now (instruments, templates, mappers, settings) lives as long as the server: kept out of
    # the garbage collector's reach, a full collection no longer walks it on every pass (each took 135-230 ms of
    # the one interpreter, pausing every request in flight, in bench/web.py). Given back at shutdown.
    gc.freeze()  # no collection first: it cost a full pass per app in the tests, which start hundreds
    try:
        yield
    finally:
        gc.unfreeze()
        if lock is not None:
            lock.close()


def create_app(*, upgrade_database: bool = True) -> FastAPI:
    """Build the application; the database is upgraded to head at start-up unless told not to."""
    settings = get_settings()
    app = FastAPI(
        title="TellOnce",
        description="Trauma-informed screening, told once. JSON API under /api/v1.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from the swagger-ui-bundle package, under the same CSP as every page
        redoc_url=None,
    )
    app.openapi = lambda: api_openapi(app)  # type: ignore[method-assign]  # FastAPI's documented override
    app.add_middleware(
        InputGuard,
        max_body=settings.max_body_bytes,
        max_import_body=settings.max_import_bytes,
        max_depth=settings.max_json_depth,
        respond=error_response,
    )
    app.state.upgrade_database = upgrade_database
    app.state.registry = loaded_instruments()

    app.add_middleware(SecurityHeaders, settings=settings)  # on every response
    app.add_middleware(Admission, limit=settings.threads)  # outermost: a request waiting for a place holds nothing

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return await error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(request: Request, exc: RequestValidationError) -> Response:
        return await error_response(request, InvalidPayload(_("Some of what was sent is not valid."), _problems(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})  # a 405's Allow header says which methods the path takes
        if _is_api(request):
            return JSONResponse({"error": code, "detail": exc.detail}, status_code=exc.status_code, headers=headers)
        error = AppError(_("Page not found.") if exc.status_code == 404 else str(exc.detail))
        error.status = exc.status_code
        response = render(request, "error.html", status_code=exc.status_code, error=error)
        response.headers.update(headers)
        return response

    from app import audit_pages
    from app.accounts import api as accounts_api
    from app.accounts import pages as accounts_pages
    from app.evaluation import api as evaluation_api
    from app.evaluation import pages as evaluation_pages
    from app.evaluation import report_pages as evaluation_report_pages
    from app.exports import api as exports_api
    from app.exports import pages as exports_pages
    from app.interop import fhir_api as exports_fhir_api
    from app.interop import fhir_bulk_api as exports_fhir_bulk_api
    from app.interop import fhir_bulk_pages, fhir_canonical, fhir_import_pages
    from app.portal import pages as portal_pages
    from app.portal import staff_pages as portal_staff_pages
    from app.records import api as records_api
    from app.records import identifier_pages, identifiers_api
    from app.records import pages as records_pages
    from app.referrals import api as referrals_api
    from app.referrals import fhir_api as referrals_fhir_api
    from app.referrals import fhir_pages as referrals_fhir_pages
    from app.referrals import pages as referrals_pages
    from app.reports import api as reports_api
    from app.reports import pages as reports_pages
    from app.screenings import api as screenings_api
    from app.screenings import pages as screenings_pages
    from app.screenings import revision_pages
    from app.sharing import api as sharing_api
    from app.sharing import pages as sharing_pages

    app.include_router(portal_pages.router)
    app.include_router(portal_staff_pages.router)
    app.include_router(accounts_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(fhir_import_pages.router)
    app.include_router(fhir_bulk_pages.router)
    app.include_router(identifier_pages.router)
    # Pages that show a screening (its result, revisions, summary) tell a former recipient that the consent ended.
    ended = [Depends(sharing_pages.explain_ended_sharing, scope="function")]
    app.include_router(screenings_pages.router, dependencies=ended)
    app.include_router(revision_pages.router, dependencies=ended)
    app.include_router(records_pages.router)
    app.include_router(exports_pages.router, dependencies=ended)
    app.include_router(reports_pages.router)
    app.include_router(evaluation_pages.router)
    app.include_router(evaluation_report_pages.router)
    app.include_router(sharing_pages.router)
    app.include_router(referrals_pages.router)
    app.include_router(referrals_fhir_pages.router)
    app.include_router(accounts_api.router, prefix="/api/v1")
    app.include_router(screenings_api.router, prefix="/api/v1")
    app.include_router(records_api.router, prefix="/api/v1")
    app.include_router(exports_api.router, prefix="/api/v1")
    app.include_router(exports_fhir_api.router, prefix="/api/v1")
    app.include_router(exports_fhir_bulk_api.router, prefix="/api/v1")
    app.include_router(identifiers_api.router, prefix="/api/v1")
    app.include_router(reports_api.router, prefix="/api/v1")
    app.include_router(evaluation_api.router, prefix="/api/v1")
    app.include_router(sharing_api.router, prefix="/api/v1")
    app.include_router(referrals_api.router, prefix="/api/v1")
    app.include_router(referrals_fhir_api.router, prefix="/api/v1")
    app.include_router(fhir_canonical.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The API's Swagger UI, from local files; its start-up code is /static/docs.js (no inline script)."""
        return HTMLResponse(DOCS_PAGE)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_oauth2_redirect() -> HTMLResponse:
        """Swagger UI's OAuth2 redirect target (its script is a file too)."""
        return HTMLResponse(OAUTH2_REDIRECT_PAGE)

    app.mount("/static", StaticFiles(directory=STATIC_DIR, packages=[SWAGGER_UI]), name="static")
    return app
