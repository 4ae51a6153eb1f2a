"""Staff side of self-administered screenings: private link and code, hand-off, revoke, unlock."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app import access, audit, ratelimit
from app.accounts import passwords, sessions
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, SettingsDep, WebAuthDep, cookie_name
from app.errors import ServerBusy
from app.i18n import _
from app.portal import service
from app.portal.pages import COOKIE, set_youth_cookie
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/screenings/{screening_id}/self")
def self_access_page(request: Request, screening_id: str, db: SessionDep, auth: WebAuthDep) -> Response:
    screening = access.writable_screening(db, auth.user, screening_id)
    return render(
        request,
        "portal_staff/access.html",
        auth=auth,
        screening=screening,
        accesses=service.accesses(db, auth.user, screening_id),
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
) -> Response:
    issued = service.issue(db, keys, registry, auth.user, screening_id, "link", settings)
    base = settings.base_url.rstrip("/")
    return render(
        request,
        "portal_staff/issued.html",
        auth=auth,
        screening_id=screening_id,
        link=f"{base}/go/{issued.link_token}",
        code=issued.formatted_code,
        expires_at=issued.access.expires_at,
    )


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
