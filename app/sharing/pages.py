"""Sharing pages: the youth page's sharing section, linking, consents, break-glass, the account of disclosures,
the printable release form, and the break-glass openings an agency's admins review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app import access, i18n, web_forms
from app.db import SessionDep
from app.deps import ADMINS, FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep, require_role
from app.errors import InvalidInput, NotFound, SharingEnded
from app.models import Agency, User
from app.models_sharing import Consent
from app.records import service as records
from app.sharing import breakglass, linked, links, views
from app.sharing import consent as consents
from app.sharing.labels import LABELS
from app.sharing.record_section import BREAK_GLASS_ROLES
from app.sharing.schemas import BreakGlassCreate, ConsentCreate
from app.web import _, render, text

router = APIRouter(include_in_schema=False)
CONSENT_FIELDS = ("to_agency_id", "grantor", "authority", "purpose", "starts_at", "ends_at", "method")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _today() -> date:
    return datetime.now(UTC).date()


# Another agency's screening, after its consent ended ---------------------------------------------------------


def explain_ended_sharing(request: Request, db: SessionDep) -> Iterator[None]:
    """On pages about a screening: where "not found" means that the consent which let this agency see it has ended,
    and the agency was a recipient of that consent (so it knows of the screening's program), say so plainly.
    Everyone else keeps the very same "not found" as for a screening that does not exist."""
    try:
        yield
    except NotFound:
        screening_id = request.path_params.get("screening_id")
        viewer = getattr(request.state, "user", None)
        if request.method != "GET" or not screening_id or viewer is None:
            raise
        user = db.get(User, viewer.id)
        found = linked.ended_for_screening(db, user, screening_id) if user is not None else None
        if found is None:
            raise
        ended, own_record = found
        detail = {"program": ended.program, "state": ended.state, "on": ended.on.isoformat(), "youth_id": own_record}
        raise SharingEnded(_("Your agency no longer has access: the consent ended."), detail) from None


# Linking and break-glass ------------------------------------------------------------------------------------


@router.post("/youth/{youth_id}/links")
async def link(request: Request, youth_id: str, db: SessionDep, keys: KeysDep, auth: FormAuthDep) -> Response:
    """Link this record to a possible match: under the youth's consent, or a supervisor's break-glass."""
    form = await request.form()
    glass: BreakGlassCreate | None = None
    if _field(form, "mode") == "break_glass":
        glass, errors = _break_glass(form)
        if glass is None:
            return _refused(request, auth, youth_id, " ".join(errors.values()))
    candidate = views.candidate_by_handle(db, keys, auth.user, youth_id, _field(form, "candidate"))
    with web_forms.attempt(db, InvalidInput) as tried:
        links.link(db, keys, auth.user, youth_id, candidate, glass)
    if isinstance(tried.error, InvalidInput):
        return _refused(request, auth, youth_id, tried.error.message)
    return see_other(f"/youth/{youth_id}#sharing")


def _break_glass(form: Any) -> tuple[BreakGlassCreate | None, dict[str, Any]]:
    """The break-glass fields read through the one form layer: the request, or one message per wrong field."""
    data = {"reason": _field(form, "reason"), "hours": _field(form, "hours") or 24}
    messages = {
        "reason": _("Write the reason, at least 20 characters."),
        "hours": _("Give a number of hours from 1 to 72."),
    }
    return web_forms.parse(BreakGlassCreate, data, messages)


def _refused(request: Request, auth: WebAuth, youth_id: str, message: str) -> Response:
    return render(request, "sharing/refused.html", status_code=400, auth=auth, youth_id=youth_id, message=message)


@router.post("/links/{link_id}/undo")
def undo_link(link_id: str, db: SessionDep, auth: FormAuthDep) -> Response:
    """Undo a wrong link: the record is its own person again, and sees nothing of the other records."""
    record = links.undo(db, auth.user, link_id)
    return see_other(f"/youth/{record.youth_id}#sharing")


@router.post("/youth/{youth_id}/break-glass")
async def open_break_glass(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, auth: FormAuthDep
) -> Response:
    """A supervisor opens the linked records of this youth's person, with a reason, for a time."""
    require_role(auth.user, *BREAK_GLASS_ROLES)
    form = await request.form()
    data, errors = _break_glass(form)
    if data is None:
        return _refused(request, auth, youth_id, " ".join(errors.values()))
    breakglass.open_glass(db, keys, auth.user, youth_id, data)
    return see_other(f"/youth/{youth_id}#sharing")


# Consents ---------------------------------------------------------------------------------------------------


@router.post("/youth/{youth_id}/consents")
async def record_consent(request: Request, youth_id: str, db: SessionDep, auth: FormAuthDep) -> Response:
    """Record the youth's release from this agency to another."""
    return await _save_consent(request, db, auth, youth_id, None)


@router.get("/youth/{youth_id}/consents/{consent_id}/change", response_class=HTMLResponse)
def change_consent_page(request: Request, youth_id: str, consent_id: str, db: SessionDep, auth: WebAuthDep) -> Response:
    """The form to change a consent this agency gave (the change replaces it; the old one is kept)."""
    access.readable_youth(db, auth.user, youth_id)
    consent = consents.owned(db, auth.user, consent_id)
    return _consent_page(request, db, auth, youth_id, _values_of(consent), {}, consent_id)


@router.post("/youth/{youth_id}/consents/{consent_id}/supersede")
async def supersede_consent(
    request: Request, youth_id: str, consent_id: str, db: SessionDep, auth: FormAuthDep
) -> Response:
    """Save a change to a consent: a new consent replaces it."""
    return await _save_consent(request, db, auth, youth_id, consent_id)


@router.get("/youth/{youth_id}/consents/{consent_id}/revoke", response_class=HTMLResponse)
def revoke_consent_page(request: Request, youth_id: str, consent_id: str, db: SessionDep, auth: WebAuthDep) -> Response:
    """Before revoking: what stops and for whom, what the other program keeps, and the reason to write."""
    access.readable_youth(db, auth.user, youth_id)
    consent = consents.owned(db, auth.user, consent_id)
    if consent.revoked_at is not None:
        return see_other(f"/youth/{youth_id}#consent-{consent.id}")
    return _revoke_page(request, db, auth, youth_id, consent, "", None)


@router.post("/youth/{youth_id}/consents/{consent_id}/revoke")
async def revoke_consent(
    request: Request, youth_id: str, consent_id: str, db: SessionDep, keys: KeysDep, auth: FormAuthDep
) -> Response:
    """Revoke a consent this agency gave, with the reason: it covers nothing from the next request on."""
    access.readable_youth(db, auth.user, youth_id)
    reason = _field(await request.form(), "reason")
    with web_forms.attempt(db, InvalidInput) as tried:
        consents.revoke(db, keys, auth.user, consent_id, reason)
    if tried.failed:
        consent = consents.owned(db, auth.user, consent_id)
        message = _("Write why the consent is revoked, in at most %(max)d characters.") % {
            "max": consents.MAX_REVOKE_REASON
        }
        return _revoke_page(request, db, auth, youth_id, consent, reason, message, status_code=400)
    return see_other(f"/youth/{youth_id}#consent-{consent_id}")


def _revoke_page(
    request: Request,
    db: Session,
    auth: WebAuth,
    youth_id: str,
    consent: Consent,
    reason: str,
    error: str | None,
    *,
    status_code: int = 200,
) -> Response:
    names = views.agency_names(db)
    return render(
        request,
        "sharing/revoke.html",
        status_code=status_code,
        auth=auth,
        youth_id=youth_id,
        consent=consent,
        to_agency=names.get(consent.to_agency_id, ""),
        reason=reason,
        error=error,
        max_reason=consents.MAX_REVOKE_REASON,
        labels=LABELS,
    )


async def _save_consent(request: Request, db: Session, auth: WebAuth, youth_id: str, replacing: str | None) -> Response:
    form = await request.form()
    values: dict[str, Any] = {name: _field(form, name) for name in CONSENT_FIELDS}
    values["categories"] = [c for c in form.getlist("categories") if isinstance(c, str)]
    data, problems = web_forms.parse(ConsentCreate, _consent_data(youth_id, values), CONSENT_MESSAGES)
    errors = _on_consent_fields(problems)
    if data is not None:
        with web_forms.attempt(db, InvalidInput) as tried:
            if replacing is None:
                consents.record(db, auth.user, data)
            else:
                consents.supersede(db, auth.user, replacing, data)
        if not tried.failed:
            return see_other(f"/youth/{youth_id}#consents")
        errors = web_forms.refused_errors(tried.error, LABELS["field"])
    return _consent_page(request, db, auth, youth_id, values, errors, replacing, status_code=400)


def _consent_data(youth_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Form values as ConsentCreate input: a start of today means now; a release runs to the end of its end date."""
    data = {k: v for k, v in values.items() if v not in ("", [])} | {"youth_id": youth_id}
    starts = _day(values["starts_at"], "starts_at")
    data["starts_at"] = None if starts is None or starts <= _today() else datetime.combine(starts, time.min, UTC)
    ends = _day(values["ends_at"], "ends_at")
    if ends is not None:
        data["ends_at"] = datetime.combine(ends, time(23, 59, 59), UTC)
    return data


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(_("Enter a real date, for example 2026-01-31."), {"field": field}) from exc


CONSENT_MESSAGES = {
    "to_agency_id": _("Choose the agency to share with."),
    "grantor": _("Choose who gives consent."),
    "authority": _("Write the authority, for example: the youth's own consent, or the court order number."),
    "categories": _("Choose at least one kind of information."),
    "purpose": _("Choose the purpose."),
    "ends_at": _("Enter the end date. A release must end."),
    "method": _("Choose how consent was given."),
}


def _on_consent_fields(errors: dict[str, Any]) -> dict[str, Any]:
    """Errors of the consent form on its fields: one that names no field of the form is about the period, so it
    shows at the end date ("The end date must be after the start date.")."""
    placed: dict[str, Any] = {}
    for field, message in errors.items():
        if field in CONSENT_MESSAGES:
            placed.setdefault(field, message)
        else:
            placed.setdefault("ends_at", _("The end date must be after the start date."))
    return placed


def _values_of(consent: Consent) -> dict[str, Any]:
    return {
        "to_agency_id": consent.to_agency_id,
        "grantor": consent.grantor,
        "authority": consent.authority,
        "categories": consent.categories,
        "purpose": consent.purpose,
        "starts_at": max(consent.starts_at.date(), _today()).isoformat(),
        "ends_at": consent.ends_at.date().isoformat(),
        "method": consent.method,
    }


def _consent_page(
    request: Request,
    db: Session,
    auth: WebAuth,
    youth_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
    replacing: str | None,
    *,
    status_code: int = 200,
) -> Response:
    access.readable_youth(db, auth.user, youth_id)
    anchors = {name: f"c-{name}" for name in LABELS["field"]}
    summary = [(anchors.get(field, "main"), message) for field, message in errors.items()]
    action = f"/youth/{youth_id}/consents" + (f"/{replacing}/supersede" if replacing else "")
    return render(
        request,
        "sharing/consent_edit.html",
        status_code=status_code,
        auth=auth,
        youth_id=youth_id,
        replacing=replacing,
        action=action,
        values=values,
        errors=errors,
        summary=summary,
        recipients=views.recipients(db, auth.user),
        labels=LABELS,
    )


# Printable pages --------------------------------------------------------------------------------------------


@router.get("/youth/{youth_id}/disclosures", response_class=HTMLResponse)
def disclosures_page(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """A printable account of who has seen this person's records: when, which agency and user, what, and why."""
    youth = records.view(db, keys, auth.user, youth_id)
    person_id = access.readable_youth(db, auth.user, youth_id).person_id
    return render(
        request,
        "sharing/disclosures.html",
        auth=auth,
        youth=youth,
        lines=views.account(db, person_id, auth.user.agency_id),
        agency=db.get(Agency, auth.user.agency_id),
        labels=LABELS,
        titles={c.id: text(c.definition.title) for c in registry.latest()},
        printed_at=datetime.now(UTC),
    )


@router.get("/youth/{youth_id}/consent-form", response_class=HTMLResponse)
def consent_form_page(
    request: Request, youth_id: str, db: SessionDep, auth: WebAuthDep, lang: str = "en", to: str | None = None
) -> Response:
    """A blank release-of-information form to print, in English or Spanish."""
    access.readable_youth(db, auth.user, youth_id)
    language = i18n.pick_language(lang, i18n.LANGUAGES)
    recipient = db.get(Agency, to) if to and to != auth.user.agency_id else None
    return render(
        request,
        "sharing/consent_form.html",
        auth=auth,
        lang=language,
        youth_id=youth_id,
        agency=db.get(Agency, auth.user.agency_id),
        recipient=recipient,
        recipients=views.recipients(db, auth.user),
        languages=list(i18n.LANGUAGE_NAMES.items()),
    )


@router.get("/admin/break-glass", response_class=HTMLResponse)
def break_glass_review(request: Request, db: SessionDep, keys: KeysDep, auth: WebAuthDep) -> Response:
    """For an agency's admins: every break-glass that reached the agency's records, with its reason and views."""
    require_role(auth.user, *ADMINS)
    names = views.agency_names(db)
    openings = [
        {"glass": glass, "reason": reason, "views": count, "who": breakglass_user(db, glass.user_id)}
        for glass, reason, count in breakglass.seen_by_others(db, keys, auth.user.agency_id)
    ]
    return render(request, "sharing/break_glass.html", auth=auth, openings=openings, names=names, labels=LABELS)


def breakglass_user(db: Session, user_id: str) -> User | None:
    """The user who opened a break-glass (a name and role to show, nothing else)."""
    return db.get(User, user_id)
