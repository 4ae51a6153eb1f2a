"""Practitioner pages for corrections: amend a completed screening, read a revision, discard a draft."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app import access, web_forms
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import Conflict, InvalidInput
from app.i18n import content_language, staff_language
from app.models import Agency, Screening, ScreeningStatus, User
from app.models_sharing import Category
from app.screenings import forms, revisions, service, views
from app.screenings.result_pages import open_screening, see_other, viewed
from app.screenings.schemas import Amend, Discard
from app.sharing import tellonce
from app.versions import form_version
from app.web import _, render, text
from instruments.compiled import CompiledInstrument
from scoring import shown_items

router = APIRouter(include_in_schema=False)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _version(form: Any) -> int:
    return form_version(_field(form, "version"))


def _title(instrument: CompiledInstrument, screening: Screening) -> str:
    return text(instrument.definition.title, screening.language, instrument.definition.default_language)


def _shown(instrument: CompiledInstrument, values: dict[str, Any]) -> list[str]:
    """The answerable items shown given the answers, in the instrument's order."""
    visible = shown_items(instrument, values)
    return [i.id for i in instrument.definition.items if i.id in visible and i.type != "notice"]


@router.get("/screenings/{screening_id}/amend", response_class=HTMLResponse)
def amend_page(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """Every shown question of a completed screening, filled with its answers, and the reason for correcting."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status != ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}?page=1")
    values = service.answer_values(db, keys, screening)
    viewed(db, auth, screening, "amend")
    return _amend_form(request, db, auth, screening, instrument, values, _shown(instrument, values))


def _amend_form(
    request: Request,
    db: Session,
    auth: WebAuth,
    screening: Screening,
    instrument: CompiledInstrument,
    values: dict[str, Any],
    shown: list[str],
    *,
    errors: dict[str, str] | None = None,
    reason: str = "",
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    default = instrument.definition.default_language
    sections = []
    for section in forms.sections(instrument):
        items = [i for i in instrument.definition.items if i.section == section.id and i.id in shown]
        questions = forms.questions(instrument, items, values, screening.language, screening.mode, errors)
        sections.append((text(section.title, screening.language, default), questions))
    summary = [(f"q-{q.id}", f"{q.text}: {q.error}") for _t, qs in sections for q in qs if q.error]
    summary += [("reason", errors["reason"])] if "reason" in errors else []
    summary += [("main", errors["form"])] if "form" in errors else []
    return render(
        request,
        "screening/amend.html",
        status_code=status_code,
        auth=auth,
        screening=screening,
        title=_title(instrument, screening),
        language=screening.language,
        sections=sections,
        shown=shown,
        summary=summary,
        reason=reason,
        reason_error=errors.get("reason"),
        message=message,
        told=tellonce.told(db, auth.user.agency_id, screening),
    )


@router.post("/screenings/{screening_id}/amend")
async def amend(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Save a correction as a new revision, then show the result; a stale form comes back with the latest answers."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status != ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}?page=1")
    form = await request.form()
    version = _version(form)
    stored = service.answer_values(db, keys, screening)
    shown = [i for i in _field(form, "shown").split(",") if i in instrument.items] or _shown(instrument, stored)
    items = [instrument.items[i] for i in shown]
    answers, errors = forms.parse_page(instrument, items, form)
    reason = _field(form, "reason").strip()
    values = {**stored, **answers}
    now_shown, before = _shown(instrument, values), set(_shown(instrument, stored)) | set(shown)
    if not errors and [i for i in now_shown if i not in before]:  # a changed answer opened follow-up questions
        message = _("Your changes opened more questions; they are shown below. Check them, then save again.")
        return _amend_form(request, db, auth, screening, instrument, values, now_shown, reason=reason, message=message)
    if not reason:
        errors["reason"] = _("Say why the answers are being corrected.")
    data, problems = web_forms.parse(
        Amend,
        {"version": version, "answers": answers, "reason": reason},
        {"reason": _("The reason is too long (at most 2,000 characters)."), "answers": web_forms.answer_refused},
        items="answers",
    )
    errors = errors or problems
    if not errors and data is not None:
        with web_forms.attempt(db, Conflict, InvalidInput) as tried:
            revisions.amend(db, keys, registry, auth.user, screening.id, data)
        if isinstance(tried.error, Conflict):
            db.refresh(screening)
            latest = service.answer_values(db, keys, screening)
            message = _(
                "Someone else changed this screening after you opened this page, so your correction was not saved."
                " The answers below are the latest ones; make your correction again."
            )
            shown = _shown(instrument, latest)
            return _amend_form(
                request, db, auth, screening, instrument, latest, shown, reason=reason, message=message, status_code=409
            )
        if isinstance(tried.error, InvalidInput):
            errors = web_forms.refused_errors(tried.error, items="answers")
    if errors:
        return _amend_form(
            request, db, auth, screening, instrument, values, shown, errors=errors, reason=reason, status_code=400
        )
    return see_other(f"/screenings/{screening.id}/result")


@router.get("/screenings/{screening_id}/revisions/{number}", response_class=HTMLResponse)
def revision_page(
    request: Request,
    screening_id: str,
    number: int,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
) -> Response:
    """One revision of a result: its answers and result, and (for the owning agency) who made it, when and why."""
    wanted = (Category.result_summary, Category.item_answers)
    shown = access.open_screening(db, auth.user, screening_id, wanted, revision=number)
    screening, instrument = shown.screening, service.instrument_of(registry, shown.screening)
    revision = revisions.read(db, keys, auth.user, shown, number)
    own, with_answers = shown.own, shown.covers(Category.item_answers)
    author = db.get(User, revision.author_id) if revision.author_id else None
    owner = None if own else db.get(Agency, screening.agency_id)
    language = content_language(instrument, staff_language(request, auth.user))  # the reader's, not the youth's
    return render(
        request,
        "screening/revision.html",
        auth=auth,
        screening=screening,
        revision=revision,
        own=own,
        author=author.display_name if author else None,
        shared_by=owner.name if owner else None,
        content_lang=language,
        view=views.result_view(
            instrument, revision.result, language, registry, mode=screening.mode, with_answers=with_answers
        ),
        sections=views.review(instrument, revision.answers, language, mode=screening.mode) if with_answers else None,
    )


@router.get("/screenings/{screening_id}/discard", response_class=HTMLResponse)
def discard_page(
    request: Request, screening_id: str, db: SessionDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """Ask why a draft is being discarded, and say what discarding does."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    return _discard_form(request, auth, screening, instrument)


def _discard_form(
    request: Request,
    auth: WebAuth,
    screening: Screening,
    instrument: CompiledInstrument,
    *,
    reason: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "screening/discard.html",
        status_code=status_code,
        auth=auth,
        screening=screening,
        title=_title(instrument, screening),
        reason=reason,
        error=error,
    )


@router.post("/screenings/{screening_id}/discard")
async def discard(
    request: Request, screening_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Discard a draft with a reason, then go back to the youth's record (where it no longer shows)."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    form = await request.form()
    version = _version(form)
    reason = _field(form, "reason").strip()
    data, _problems = web_forms.parse(Discard, {"version": version, "reason": reason})
    if data is None:
        error = _("Say why the draft is being discarded.") if not reason else _("The reason is too long.")
        return _discard_form(request, auth, screening, instrument, reason=reason, error=error, status_code=400)
    with web_forms.attempt(db, Conflict) as tried:
        revisions.discard(db, keys, auth.user, screening.id, data)
    if tried.failed:
        db.refresh(screening)
        if screening.status != ScreeningStatus.in_progress:
            return see_other(f"/youth/{screening.youth_id}")
        error = _("Someone else saved this draft after you opened this page. Check it is still to be discarded.")
        return _discard_form(request, auth, screening, instrument, reason=reason, error=error, status_code=409)
    return see_other(f"/youth/{screening.youth_id}")
