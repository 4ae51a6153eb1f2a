"""The FastAPI application: middleware, error handlers, routers, and start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.deps import LoginRequired
from app.errors import AppError, TooManyAttempts
from app.i18n import _
from app.settings import get_settings
from app.web import render
from instruments.loader import Registry, load_or_raise

STATIC_DIR = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@lru_cache
def loaded_instruments() -> Registry:
    """The instruments, loaded and checked once per process (start-up fails on any problem)."""
    return load_or_raise()


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from app import backup, startup
    from app.db import get_engine, upgrade_database

    if getattr(app.state, "upgrade_database", True):
        upgrade_database()
    startup.check(get_engine(), app.state.registry)  # keys configured; no published instrument changed
    lock = backup.hold_server_lock(get_settings().resolved_database_url)  # restore refuses while it is held
    try:
        yield
    finally:
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
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.upgrade_database = upgrade_database
    app.state.registry = loaded_instruments()

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP if request.url.path != "/docs" else _docs_csp())
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not request.url.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            if isinstance(exc, TooManyAttempts):
                headers["Retry-After"] = str(exc.retry_after)
            body = {"error": exc.code, "detail": exc.detail if exc.detail is not None else exc.message}
            if exc.detail is not None:
                body["message"] = exc.message
            return JSONResponse(body, status_code=exc.status, headers=headers)
        if exc.redirect:
            return RedirectResponse(exc.redirect, status_code=303)
        if isinstance(exc, LoginRequired):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
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

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"error": "invalid_payload", "detail": errors}, status_code=422)
        return render(
            request, "error.html", status_code=400, error=AppError(_("Some of what was sent is not valid."), errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if _is_api(request):
            return JSONResponse({"error": code, "detail": exc.detail}, status_code=exc.status_code)
        error = AppError(_("Page not found.") if exc.status_code == 404 else str(exc.detail))
        error.status = exc.status_code
        return render(request, "error.html", status_code=exc.status_code, error=error)

    from app import audit_pages
    from app.accounts import api as accounts_api
    from app.accounts import pages as accounts_pages
    from app.exports import api as exports_api
    from app.exports import fhir_api as exports_fhir_api
    from app.exports import pages as exports_pages
    from app.portal import pages as portal_pages
    from app.portal import staff_pages as portal_staff_pages
    from app.records import api as records_api
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
    # Pages that show a screening (its result, revisions, summary) tell a former recipient that the consent ended.
    ended = [Depends(sharing_pages.explain_ended_sharing, scope="function")]
    app.include_router(screenings_pages.router, dependencies=ended)
    app.include_router(revision_pages.router, dependencies=ended)
    app.include_router(records_pages.router)
    app.include_router(exports_pages.router, dependencies=ended)
    app.include_router(reports_pages.router)
    app.include_router(sharing_pages.router)
    app.include_router(referrals_pages.router)
    app.include_router(referrals_fhir_pages.router)
    app.include_router(accounts_api.router, prefix="/api/v1")
    app.include_router(screenings_api.router, prefix="/api/v1")
    app.include_router(records_api.router, prefix="/api/v1")
    app.include_router(exports_api.router, prefix="/api/v1")
    app.include_router(exports_fhir_api.router, prefix="/api/v1")
    app.include_router(reports_api.router, prefix="/api/v1")
    app.include_router(sharing_api.router, prefix="/api/v1")
    app.include_router(referrals_api.router, prefix="/api/v1")
    app.include_router(referrals_fhir_api.router, prefix="/api/v1")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _docs_csp() -> str:
    # Swagger UI loads its script and style from a CDN and runs an inline starter script.
    return (
        "default-src 'self' https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
        "frame-ancestors 'none'"
    )
