"""Staff side of self-administered screenings: private link and code, hand-off, revoke, unlock."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app import access, audit, ratelimit
from app.accounts import passwords, sessions
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, SettingsDep, WebAuthDep, cookie_name
from app.errors import NotFound, ServerBusy
from app.i18n import _
from app.models import Agency, AuthSession, Screening, YouthAccess
from app.portal import invitation, service
from app.portal.pages import COOKIE, set_youth_cookie
from app.web import render

router = APIRouter(include_in_schema=False)


def link_form_token(session: AuthSession, screening_id: str, accesses: list[YouthAccess]) -> str:
    """The one-time token of the "Create a link and code" form: it names the newest access the page listed,
    so once a link is created from the page (a reload, Back and send again, a second click) it is stale."""
    newest = accesses[0].id if accesses else ""
    message = f"self-link|{screening_id}|{newest}".encode()
    return hmac.new(session.csrf_secret.encode(), message, hashlib.sha256).hexdigest()


@router.get("/screenings/{screening_id}/self")
def self_access_page(
    request: Request, screening_id: str, db: SessionDep, auth: WebAuthDep, already: bool = False
) -> Response:
    screening = access.writable_screening(db, auth.user, screening_id)
    accesses = service.accesses(db, auth.user, screening_id)
    return render(
        request,
        "portal_staff/access.html",
        auth=auth,
        screening=screening,
        accesses=accesses,
        issue_token=link_form_token(auth.session, screening_id, accesses),
        already=already,
    )


@router.post("/screenings/{screening_id}/self/link")
def create_link(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    settings: SettingsDep,
    auth: FormAuthDep,
    issue_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Create a link and code and show them once. A form sent again (a reload of this page, Back and send)
    carries a stale one-time token: it creates nothing and leads back to the list of links and codes."""
    if issue_token is not None:
        current = link_form_token(auth.session, screening_id, service.accesses(db, auth.user, screening_id))
        if not hmac.compare_digest(issue_token, current):
            return RedirectResponse(f"/screenings/{screening_id}/self?already=1#links-and-codes", status_code=303)
    issued = service.issue(db, keys, registry, auth.user, screening_id, "link", settings)
    base = settings.public_base_url()
    link = invitation.youth_link(base, issued.link_token, _screening_language(db, screening_id))
    return render(
        request,
        "portal_staff/issued.html",
        auth=auth,
        screening_id=screening_id,
        link=link,
        link_token=issued.link_token,
        qr_svg=invitation.qr_svg,
        code=issued.formatted_code,
        expires_at=issued.access.expires_at,
    )


@router.post("/screenings/{screening_id}/self/slip")
def printable_slip(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    settings: SettingsDep,
    auth: FormAuthDep,
    link_token: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    agency_name: Annotated[bool, Form()] = False,
) -> Response:
    """A slip to print for the youth, in the screening's language: posted (never a GET, so the link and
    code stay out of addresses and history) and only for a link and code of this screening still open."""
    access.writable_screening(db, auth.user, screening_id)
    record = service.issued_link(db, keys, screening_id, link_token, code)
    if record is None:
        raise NotFound(_("This link and code no longer work. Create a new one."))
    language = _screening_language(db, screening_id)
    link = invitation.youth_link(settings.public_base_url(), link_token, language)  # as create_link builds it
    agency = db.get(Agency, auth.user.agency_id) if agency_name else None
    return render(
        request,
        "portal_staff/slip.html",
        auth=auth,
        lang=language,
        screening_id=screening_id,
        link=link,
        qr_svg=invitation.qr_svg,
        code=service.format_code(service.normalize_code(code)),
        expires_at=record.expires_at,
        agency=agency,
    )


def _screening_language(db: SessionDep, screening_id: str) -> str:
    screening = db.get(Screening, screening_id)
    return screening.language if screening is not None else "en"


@router.post("/screenings/{screening_id}/self/handoff")
def hand_off(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    settings: SettingsDep,
    auth: FormAuthDep,
) -> Response:
    _session, token = service.hand_off(db, keys, registry, auth.user, auth.session, screening_id, settings)
    response = RedirectResponse("/s/0", status_code=303)
    set_youth_cookie(response, token, settings)
    return response


@router.post("/self-access/{access_id}/revoke")
def revoke(request: Request, access_id: str, db: SessionDep, auth: FormAuthDep) -> Response:
    record = service.revoke(db, auth.user, access_id)
    return RedirectResponse(f"/screenings/{record.screening_id}/self", status_code=303)


@router.get("/unlock")
def unlock_page(request: Request) -> Response:
    # No session lookup (it would touch the idle timer), so no header and the browser's language.
    return render(request, "portal_staff/unlock.html")


@router.post("/unlock")
def unlock(request: Request, db: SessionDep, settings: SettingsDep, password: Annotated[str, Form()] = "") -> Response:
    token = request.cookies.get(cookie_name(settings))
    if not token:
        return RedirectResponse("/login", status_code=303)
    # Counted per staff session (the device held by the youth) before anything else: the session
    # lookup below may write, and on SQLite the count must not wait behind this request's own write.
    bucket = ratelimit.Bucket(
        "unlock", hashlib.sha256(token.encode()).hexdigest(), settings.login_attempts_per_device, True
    )
    attempt = ratelimit.count_attempt(db, [bucket], timedelta(minutes=settings.login_window_minutes))
    resolved = sessions.resolve(db, token, "web", settings)
    if resolved is None:
        return RedirectResponse("/login", status_code=303)
    record, user = resolved
    if attempt.retry_after:
        if attempt.first_refusal:
            audit.record(db, "unlock", actor_id=user.id, agency_id=user.agency_id, outcome="rate_limited")
        return _unlock_refused(request, 429, _("Too many tries. Wait a few minutes."), attempt.retry_after)
    try:
        matches = passwords.verify_password(user.password_hash, password)
    except ServerBusy as busy:
        attempt.give_back()
        return _unlock_refused(request, busy.status, busy.message, busy.retry_after)
    if not matches:
        audit.record(db, "unlock", actor_id=user.id, agency_id=user.agency_id, outcome="failed")
        return render(request, "portal_staff/unlock.html", status_code=403, error=_("That password is not right."))
    attempt.succeeded()
    screening_id = record.locked_for
    record.locked_for = None
    db.add(record)
    if screening_id:
        service.end_hand_off(db, user, screening_id)
    response = RedirectResponse(f"/screenings/{screening_id}/self" if screening_id else "/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _unlock_refused(request: Request, status: int, message: str, retry_after: int) -> Response:
    page = render(request, "portal_staff/unlock.html", status_code=status, error=message)
    page.headers["Retry-After"] = str(retry_after)
    return page
