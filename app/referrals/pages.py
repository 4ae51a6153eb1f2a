"""Pages: refer a youth to a partner, the inbox and the sent referrals, one referral with its status and
history, and the summary of each screening it shares (HTML and PDF)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import paging, web_forms
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import AppError, InvalidInput, NotFound
from app.exports import summary
from app.i18n import _
from app.models import Agency, Screening, ScreeningStatus
from app.models_referrals import Urgency
from app.models_sharing import Category, Purpose
from app.records import service as records
from app.referrals import service
from app.referrals.labels import ACTION_LABELS, STATUS_LABELS, URGENCY_LABELS, VIA_LABELS
from app.referrals.schemas import ReferralCreate, StatusChange
from app.web import PURPOSE_LABELS, render, templates, text
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)
templates.env.globals.update(
    REFERRAL_STATUS_LABELS=STATUS_LABELS, URGENCY_LABELS=URGENCY_LABELS, REFERRAL_VIA_LABELS=VIA_LABELS
)
CATEGORY_LABELS = {
    Category.result_summary.value: _("The result (levels, reasons, next steps)"),
    Category.item_answers.value: _("The answers to each question"),
    Category.notes.value: _("The screener's notes"),
}
FIELDS = {
    "to_agency_id": _("Refer to"),
    "screening_ids": _("Screenings to share"),
    "categories": _("What to share"),
    "purpose": _("Purpose"),
    "urgency": _("How urgent"),
    "reason": _("Why you are referring this youth"),
    "recipient_contact": _("Person or desk at the partner (optional)"),
    "preparer_contact": _("How the partner reaches you"),
    "due_on": _("Answer wanted by (optional)"),
}


# Sending -----------------------------------------------------------------------------------------------


def _form_page(
    request: Request,
    db: Session,
    keys: KeyRing,
    registry: Registry,
    auth: WebAuth,
    youth_id: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    youth = records.view(db, keys, auth.user, youth_id)
    completed = db.exec(
        select(Screening)
        .where(
            Screening.youth_id == youth.id,
            Screening.agency_id == auth.user.agency_id,
            Screening.status == ScreeningStatus.completed,
        )
        .order_by(col(Screening.completed_at).desc())
    ).all()
    partners = service.partners(db, auth.user)
    errors = errors or {}
    return render(
        request,
        "referrals/new.html",
        status_code=400 if errors else 200,
        auth=auth,
        youth=youth,
        screenings=[(s, _title(registry, s)) for s in completed],
        partners=partners,
        values=values,
        errors=errors,
        summary=[(f"f-{field}" if field in FIELDS else "main", message) for field, message in errors.items()],
        labels=FIELDS,
        categories=CATEGORY_LABELS,
        purposes=PURPOSE_LABELS,
        urgencies=URGENCY_LABELS,
    )


def _title(registry: Registry, screening: Screening) -> str:
    compiled = registry.get(screening.instrument_id, screening.instrument_version)
    return text(compiled.definition.title) if compiled else screening.instrument_id


def latest_completed(youth_id: str, agency_id: str) -> SelectOfScalar[str]:
    """The agency's latest completed screening of a youth record (the form offers it first)."""
    return (
        select(Screening.id)
        .where(
            Screening.youth_id == youth_id,
            Screening.agency_id == agency_id,
            Screening.status == ScreeningStatus.completed,
        )
        .order_by(col(Screening.completed_at).desc())
        .limit(1)
    )


@router.get("/youth/{youth_id}/referrals/new", response_class=HTMLResponse)
def new_referral(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """The referral form: partner, screenings and categories, purpose, urgency, reason, contacts."""
    latest = db.exec(latest_completed(youth_id, auth.user.agency_id)).first()
    values = {
        "screening_ids": [latest] if latest else [],
        "categories": [Category.result_summary.value],
        "purpose": Purpose.referral.value,
        "urgency": Urgency.routine.value,
        "preparer_contact": auth.user.email,
    }
    return _form_page(request, db, keys, registry, auth, youth_id, values)


@router.post("/youth/{youth_id}/referrals")
async def send_referral(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Send the referral; a refusal (no covering consent, bad input) shows the form again and changes nothing."""
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in FIELDS}
    values["screening_ids"] = [str(v) for v in form.getlist("screening_ids")]
    values["categories"] = [str(v) for v in form.getlist("categories")]
    data = {k: v for k, v in values.items() if v not in ("", [])}
    create, errors = web_forms.parse(
        ReferralCreate,
        {**data, "youth_id": youth_id},
        default=lambda error: _field_message(str(error["loc"][0]) if error["loc"] else "main"),
    )
    if create is not None:
        with web_forms.attempt(db, InvalidInput) as tried:
            referral = service.send(db, keys, auth.user, create)
        if not tried.failed:
            return RedirectResponse(f"/referrals/{referral.id}", status_code=303)
        errors = web_forms.refused_errors(tried.error, FIELDS, whole_form="main")
    return _form_page(request, db, keys, registry, auth, youth_id, values, errors)


def _field_message(field: str) -> Any:  # lazy: read in the page's language
    messages = {
        "to_agency_id": _("Choose the partner to refer to."),
        "screening_ids": _("Choose at least one completed screening to share."),
        "reason": _("Say why you are referring this youth (at least 3 characters, at most 2,000)."),
        "preparer_contact": _("Say how the partner can reach you (a phone number or an email)."),
        "recipient_contact": _("Keep the contact at the partner under 500 characters."),
        "due_on": _("Enter the date like 2026-01-31."),
        "urgency": _("Choose how urgent it is."),
        "purpose": _("Choose one of the purposes listed."),
        "categories": _("Choose what to share from the list."),
    }
    return messages.get(field, _("Check this field (%(field)s).") % {"field": FIELDS.get(field, field)})


# Reading -----------------------------------------------------------------------------------------------


@router.get("/referrals", response_class=HTMLResponse)
def referral_list(
    request: Request, db: SessionDep, keys: KeysDep, auth: WebAuthDep, box: str = "inbox", status: str = ""
) -> Response:
    """The inbox (referrals to the agency) or the sent referrals, filtered by status, with counts per status."""
    box = box if box in ("inbox", "sent") else "inbox"
    status = status if status in STATUS_LABELS else ""
    page = service.listed(db, auth.user, box, status or None, after=paging.parse(request.query_params.get("after")))
    items = page.items
    service.record_views(db, auth.user, items)
    return render(
        request,
        "referrals/list.html",
        auth=auth,
        box=box,
        status=status,
        rows=list(zip(items, service.facts(db, keys, auth.user, items), strict=True)),
        pages=paging.links(request.url, page),
        counts=service.counts(db, auth.user, box),
    )


def _detail(
    request: Request,
    db: Session,
    keys: KeyRing,
    registry: Registry,
    auth: WebAuth,
    referral_id: str,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    item = service.opened(db, keys, auth.user, referral_id)
    service.record_views(db, auth.user, [item])
    facts = service.facts(db, keys, auth.user, [item])[0]
    referral = item.referral
    recipient = db.get(Agency, referral.to_agency_id)
    shared = db.exec(select(Screening).where(col(Screening.id).in_(facts.screening_ids))).all() if item.shown else []
    own = service.own_youth_ids(db, auth.user, [referral]).get(referral.person_id) if item.shown else None
    return render(
        request,
        "referrals/detail.html",
        status_code=400 if error else 200,
        auth=auth,
        item=item,
        r=referral,
        f=facts,
        events=service.events(db, keys, referral),
        moves=[(code, ACTION_LABELS[code]) for code in service.moves(item, bool(recipient and recipient.external))],
        shared=[(s, _title(registry, s)) for s in shared],
        own_youth_id=own,
        categories=CATEGORY_LABELS,
        error=error,
        values=values or {},
        # The partner gives its case number on accepting (the sender types it for a partner outside TellOnce).
        needs_case_ref=(not item.sender and own is None) or (item.sender and bool(recipient and recipient.external)),
    )


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_detail(
    request: Request, referral_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """One referral: who, why, how urgent, from whom and how to reach them, its status and history, and the
    screenings it shares; with the actions open to the reader's side."""
    return _detail(request, db, keys, registry, auth, referral_id)


@router.post("/referrals/{referral_id}/status")
async def referral_status(
    request: Request, referral_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Move the referral on; a refusal shows the page again with the reason typed kept."""
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in ("status", "reason", "recipient_case_ref", "version")}
    change, where = web_forms.parse(StatusChange, {k: v for k, v in values.items() if v})
    if change is None:
        message = (
            _("Keep the reason under 2,000 characters.")
            if "reason" in where
            else _("Keep the case number under 64 characters.")
            if "recipient_case_ref" in where
            else _("Choose one of the actions shown.")
        )
        return _detail(request, db, keys, registry, auth, referral_id, message, values)
    with web_forms.attempt(db, AppError) as tried:
        service.change_status(db, keys, auth.user, referral_id, change)
    if isinstance(tried.error, NotFound):  # not this agency's to see: the not-found page, not the form
        raise tried.error
    if isinstance(tried.error, AppError):
        return _detail(request, db, keys, registry, auth, referral_id, tried.error.message, values)
    return RedirectResponse(f"/referrals/{referral_id}#status", status_code=303)


def _shared_summary(
    db: Session, keys: KeyRing, registry: Registry, auth: WebAuth, referral_id: str, screening_id: str
) -> summary.Summary:
    item = service.load(db, auth.user, referral_id)
    facts = service.facts(db, keys, auth.user, [item])[0]
    if not item.shown or screening_id not in facts.screening_ids:  # declined, cancelled, or sharing ended
        raise NotFound(_("No such screening."))
    return summary.build(db, keys, registry, auth.user, screening_id, item.referral.purpose, referral=facts)


@router.get("/referrals/{referral_id}/screenings/{screening_id}/summary", response_class=HTMLResponse)
def referral_summary(
    request: Request,
    referral_id: str,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
) -> Response:
    """The referral summary of one shared screening, read through the one gate (in the ledger)."""
    built = _shared_summary(db, keys, registry, auth, referral_id, screening_id)
    pdf_href = f"/referrals/{referral_id}/screenings/{screening_id}/summary.pdf"
    return render(request, summary.PAGE, auth=auth, **summary.page_context(built, pdf_href))


@router.get("/referrals/{referral_id}/screenings/{screening_id}/summary.pdf")
def referral_summary_pdf(
    referral_id: str, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """The same summary as a PDF: what goes to a partner outside TellOnce."""
    built = _shared_summary(db, keys, registry, auth, referral_id, screening_id)
    return summary.pdf_response(built, f"tellonce-referral-{referral_id[:8]}.pdf")
