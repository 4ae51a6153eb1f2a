"""Sign-in, sign-out, and the admin pages for users and agencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import Session

from app import web_forms
from app.accounts import devices, service, sessions
from app.accounts.schemas import AgencyCreate, UserCreate, UserPreferences, UserUpdate
from app.crypto import get_key_ring
from app.db import SessionDep
from app.deps import (
    ADMINS,
    FormAuthDep,
    SettingsDep,
    WebAuth,
    WebAuthDep,
    client_address,
    cookie_name,
    require_role,
    same_site,
)
from app.errors import AppError, Forbidden, InvalidInput, TooManyAttempts
from app.i18n import LANGUAGE_COOKIE, _, lazy_join
from app.models import AgencyKind, Role
from app.web import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot send a user elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not same_site(request):  # login CSRF: another site must not sign a user into its own account
        raise Forbidden(_("This form was sent from another site."))
    device_cookie = request.cookies.get(devices.cookie_name(settings))
    keys = get_key_ring() if device_cookie else None  # a browser without the cookie needs no keys to fail
    try:
        user = service.authenticate(
            db, email, password, client_address(request, settings), settings, keys=keys, device_cookie=device_cookie
        )
    except AppError as exc:
        page = render(
            request, "login.html", status_code=exc.status, error=exc.message, email=email, next=_safe_next(next)
        )
        if isinstance(exc, TooManyAttempts):  # also the busy server's 503
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    token = sessions.start(db, user, "web", settings)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        cookie_name(settings), token, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )
    # This browser is now known to the account: attempts from it are limited on their own.
    response.set_cookie(
        devices.cookie_name(settings),
        devices.remember(get_key_ring(), device_cookie, user.id),
        max_age=settings.device_cookie_days * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, settings: SettingsDep, auth: FormAuthDep) -> Response:
    token = request.cookies.get(cookie_name(settings))
    if token:
        sessions.end(db, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie_name(settings), path="/")
    return response


LANGUAGE_WORDS = {"language": _("Choose English or Spanish.")}


@router.post("/account/language")
async def choose_language(request: Request, db: SessionDep, settings: SettingsDep, auth: FormAuthDep) -> Response:
    """Save the language the signed-in person reads TellOnce in, and go back to the page they were on."""
    form = await request.form()
    choice, errors = web_forms.parse(UserPreferences, {"language": form.get("language")}, LANGUAGE_WORDS)
    if choice is None:  # the language menu is on every page, so there is no one form to show again
        raise InvalidInput(errors["language"], {"field": "language"})
    service.set_preferences(db, auth.user, choice)
    back = form.get("next")
    response = RedirectResponse(_safe_next(back if isinstance(back, str) else None), status_code=303)
    # Kept for the sign-in page, which is shown before anyone is known.
    response.set_cookie(
        LANGUAGE_COOKIE,
        choice.language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, db: SessionDep, auth: WebAuthDep) -> Response:
    require_role(auth.user, *ADMINS)
    return _users_page(request, db, auth)


def _users_page(request: Request, db: Session, auth: WebAuth, status_code: int = 200, **shown: Any) -> Response:
    """The users page, also shown again with a refused form's errors (`errors`, `form`)."""
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        auth=auth,
        users=service.list_users(db, auth.user),
        agencies=service.list_agencies(db, auth.user),
        roles=_roles_for(auth.user.role),
        **shown,
    )


def _roles_for(role: str) -> list[str]:
    return [r.value for r in Role if role == Role.system_admin or r != Role.system_admin]


@router.post("/admin/users")
async def create_user_page(request: Request, db: SessionDep, auth: FormAuthDep) -> Response:
    require_role(auth.user, *ADMINS)
    form = dict((await request.form()).items())
    with web_forms.attempt(db, AppError, ValidationError) as tried:
        service.create_user(db, UserCreate.model_validate(form), auth.user)
    if tried.failed:
        return _users_page(request, db, auth, _status(tried.error), errors=_errors(tried.error), form=form)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}")
async def update_user_page(request: Request, user_id: str, db: SessionDep, auth: FormAuthDep) -> Response:
    require_role(auth.user, *ADMINS)
    form = await request.form()
    data = {
        "version": form.get("version"),
        "role": form.get("role") or None,
        "is_active": form.get("is_active") == "on",
    }
    with web_forms.attempt(db, AppError, ValidationError) as tried:
        service.update_user(db, auth.user, user_id, UserUpdate.model_validate(data))
    if tried.failed:
        return _users_page(request, db, auth, _status(tried.error), errors=_errors(tried.error))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/agencies", response_class=HTMLResponse)
def agencies_page(request: Request, db: SessionDep, auth: WebAuthDep) -> Response:
    require_role(auth.user, Role.system_admin)
    return _agencies_page(request, db, auth)


def _agencies_page(request: Request, db: Session, auth: WebAuth, status_code: int = 200, **shown: Any) -> Response:
    """The agencies page, also shown again with a refused form's errors (`errors`, `form`)."""
    return render(
        request,
        "admin/agencies.html",
        status_code=status_code,
        auth=auth,
        agencies=service.list_agencies(db, auth.user),
        kinds=[k.value for k in AgencyKind],
        **shown,
    )


@router.post("/admin/agencies")
async def create_agency_page(request: Request, db: SessionDep, auth: FormAuthDep) -> Response:
    require_role(auth.user, Role.system_admin)
    form = dict((await request.form()).items())
    data = {**form, "external": form.get("external") == "on", "contact": form.get("contact") or None}
    with web_forms.attempt(db, AppError, ValidationError) as tried:
        service.create_agency(db, AgencyCreate.model_validate(data), auth.user)
    if tried.failed:
        return _agencies_page(request, db, auth, _status(tried.error), errors=_errors(tried.error), form=form)
    return RedirectResponse("/admin/agencies", status_code=303)


FIELD_LABELS = {
    "agency_id": _("Agency"),
    "email": _("Email"),
    "display_name": _("Name"),
    "name": _("Name"),
    "role": _("Role"),
    "kind": _("Kind"),
    "password": _("Password"),
}


def _errors(error: Exception | None) -> dict[str, Any]:
    """A refused admin form's errors, one per field (in the reader's words), or its refusal on the whole form."""
    if isinstance(error, ValidationError):
        return web_forms.field_errors(error, default=_field_message)
    return web_forms.refused_errors(error, FIELD_LABELS)


def _status(error: Exception | None) -> int:
    """A refusal's own status (403, 409, ...); 400 for a form that does not validate."""
    return error.status if isinstance(error, AppError) else 400


def _field_message(error: ErrorDetails) -> str:
    """A validation error in the reader's words: which field, and whether it is empty or just wrong."""
    field = ".".join(str(p) for p in error["loc"])
    label = FIELD_LABELS.get(field, field)
    if error["type"] == "password_too_long":
        return str(error["msg"])  # the password policy's own message
    if error["type"] in ("missing", "string_too_short"):
        return lazy_join(": ", [label, _("Fill in this field.")])
    return _("%s is not valid.") % label
