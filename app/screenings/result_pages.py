"""Practitioner pages after the form: review the answers, complete the screening, read the explained result."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app import access, audit, web_forms
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import Conflict, Gone, InvalidInput
from app.i18n import content_language, staff_language
from app.models import Agency, Screening, ScreeningStatus
from app.models_sharing import Category
from app.screenings import revisions, service, views
from app.versions import form_version
from app.web import _, render, text
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form post (or to the right page for a screening's state)."""
    return RedirectResponse(url, status_code=303)


def open_screening(
    db: Session, auth: WebAuth, registry: Registry, screening_id: str, *, shared: bool = False
) -> tuple[Screening, CompiledInstrument]:
    """A screening of the user's agency (or, when `shared`, one another agency shares with it), with its instrument.

    The form, review and completion are the agency's own working copy: sharing never opens them.
    """
    if shared:
        screening = access.readable_screening(db, auth.user, screening_id)
    else:
        screening = access.writable_screening(db, auth.user, screening_id)
        if screening.status == ScreeningStatus.discarded:
            raise Gone(_("This draft was discarded, so it cannot be resumed."))
    return screening, service.instrument_of(registry, screening)


def viewed(db: Session, auth: WebAuth, screening: Screening, page: str) -> None:
    """Audit a view of a screening's answers or result."""
    audit.screening_viewed(db, auth.user, screening.id, page=page)


@router.get("/screenings/{screening_id}/review", response_class=HTMLResponse)
def review_page(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """Every answer by section, with links to change it, and the form to complete the screening."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    viewed(db, auth, screening, "review")
    return _review(request, db, keys, auth, screening, instrument)


def _review(
    request: Request,
    db: Session,
    keys: KeyRing,
    auth: WebAuth,
    screening: Screening,
    instrument: CompiledInstrument,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    current = service.public(db, keys, screening)
    stored = {k: v.value for k, v in current.answers.items()}
    language = content_language(instrument, staff_language(request, auth.user))
    sections = views.review(instrument, stored, language, mode=screening.mode)
    rows = [row for s in sections for row in s.rows]
    return render(
        request,
        "screening/review.html",
        status_code=status_code,
        auth=auth,
        screening=screening,
        content_lang=language,
        title=text(instrument.definition.title, language, instrument.definition.default_language),
        sections=sections,
        unanswered=sum(1 for row in rows if not row.answered),
        lines=len(rows),
        without_information=sum(1 for row in rows if not row.informative),
        concludes_insufficient=views.concludes_insufficient(instrument),
        scored=instrument.scored,
        notes=current.notes,
        error=error,
    )


@router.post("/screenings/{screening_id}/complete")
async def complete(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Score the screening; a stale version shows the review again with the latest answers."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    form = await request.form()
    version = form_version(form.get("version"))
    with web_forms.attempt(db, Conflict, InvalidInput) as tried:
        service.complete(db, keys, registry, auth.user, screening.id, version)
    if isinstance(tried.error, Conflict):
        db.refresh(screening)
        if screening.status == ScreeningStatus.completed:
            return see_other(f"/screenings/{screening.id}/result")
        message = _(
            "Someone else saved answers after you opened this page. Check the answers below, then complete again."
        )
        return _review(request, db, keys, auth, screening, instrument, error=message, status_code=409)
    if isinstance(tried.error, InvalidInput):
        return _review(request, db, keys, auth, screening, instrument, error=tried.error.message, status_code=400)
    return see_other(f"/screenings/{screening.id}/result")


@router.get("/screenings/{screening_id}/result", response_class=HTMLResponse)
def result_page(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """The explained result: overall level, domains, evidence, completeness, next steps and resources."""
    screening, instrument = open_screening(db, auth, registry, screening_id, shared=True)
    if screening.status != ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}?page=1")
    history = revisions.panel(db, keys, auth.user, screening)  # before this view is in the ledger
    result, shown = service.result_of(db, keys, auth.user, screening.id)  # the gate writes another agency's read
    agency = db.get(Agency, auth.user.agency_id)
    viewed(db, auth, screening, "result")
    own = shown.own  # notes are their own category; a summary share omits them
    notes = service.notes_of(keys, screening) if own else None  # not every answer decrypted for them
    with_answers = shown.covers(Category.item_answers)  # the evidence quotes answers
    viewer = staff_language(request, auth.user)
    language = content_language(instrument, viewer)
    view = views.result_view(instrument, result, language, registry, mode=screening.mode, with_answers=with_answers)
    answers = None
    if not view.scored and own:  # nothing concluded: the answers are what there is to read (another agency's
        stored = {k: a.value for k, a in service.stored_answers(db, keys, screening).items()}  # are on its summary)
        answers = views.review(instrument, stored, language, mode=screening.mode)
    return render(
        request,
        "screening/result.html",
        auth=auth,
        screening=screening,
        content_lang=language,
        view=view,
        answers=answers,
        resources=views.resource_lines(agency.resources if agency else None, viewer),
        notes=notes,
        shared_by=None if own else _agency_name(db, screening.agency_id),
        revisions=history,
    )


def _agency_name(db: Session, agency_id: str) -> str:
    agency = db.get(Agency, agency_id)
    return agency.name if agency else ""
