"""Practitioner pages: dashboard, starting a screening, the form page by page, review, completion and result."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app import paging, web_forms
from app.accounts import service as accounts
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import Conflict, InvalidInput
from app.i18n import lazy_join
from app.models import Screening, ScreeningStatus
from app.records import service as records
from app.records.record_page import youth_page
from app.referrals import views as referral_views
from app.screenings import followup, forms, result_pages, service
from app.screenings.result_pages import open_screening, see_other, viewed
from app.screenings.schemas import AnswersSave, DashboardFilter, ScreeningCreate
from app.sharing import tellonce
from app.versions import form_version
from app.web import _, render, text
from instruments.compiled import CompiledInstrument
from instruments.model import STAFF_MODE, section_notice, wording

router = APIRouter(include_in_schema=False)
router.include_router(result_pages.router)
FILTERS = ("level", "status", "instrument_id", "screener_id", "date_from", "date_to")


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """Recent screenings of the agency, filtered by a GET form."""
    raw = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    errors: dict[str, str] = {}
    given: dict[str, Any] = {k: v for k, v in raw.items() if v and not k.startswith("date_")}
    for name, end_of_day in (("date_from", False), ("date_to", True)):
        if raw[name]:
            try:
                day = date.fromisoformat(raw[name])
            except ValueError:
                errors[name] = _("Enter a real date, for example 2026-01-31.")
                continue
            given[name] = datetime.combine(day, time.max if end_of_day else time.min, UTC)
    parsed, problems = web_forms.parse(DashboardFilter, given, default=_("Choose one of the listed values."))
    errors.update(problems)
    filters = parsed or DashboardFilter()
    users = accounts.names_at_agency(db, auth.user.agency_id)
    page = service.dashboard(db, auth.user, filters, paging.parse(request.query_params.get("after")))
    rows, youth = [], {}
    for screening in page.items:
        if screening.youth_id not in youth:  # decrypted once per youth, only the names shown
            youth[screening.youth_id] = records.listed_name(keys, screening)
        compiled = registry.get(screening.instrument_id, screening.instrument_version)
        title = text(compiled.definition.title) if compiled else screening.instrument_id
        rows.append(
            {
                "s": screening,
                "youth": youth[screening.youth_id],
                "title": title,
                "screener": users.get(screening.started_by, ""),
            }
        )
    return render(
        request,
        "dashboard.html",
        status_code=400 if errors else 200,
        auth=auth,
        rows=rows,
        pages=paging.links(request.url, page),
        raw=raw,
        errors=errors,
        screeners=sorted(users.items(), key=lambda pair: pair[1]),
        instruments=[(c.id, text(c.definition.title)) for c in registry.latest()],
        referrals=referral_views.dashboard_section(db, keys, auth.user),
        due=followup.due_list(db, keys, registry, auth.user),
    )


@router.post("/youth/{youth_id}/screenings")
async def start(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Start a screening of this youth, then open its first page."""
    form = await request.form()
    chosen, language = _field(form, "instrument"), _field(form, "language") or "en"
    instrument_id, _sep, rest = chosen.partition("|")
    version, _sep, mode = rest.partition("|")
    data, _problems = web_forms.parse(
        ScreeningCreate,
        {"youth_id": youth_id, "instrument_id": instrument_id, "instrument_version": version or None}
        | {"mode": mode, "language": language},
    )
    message: Any = _("Choose what to use, and how it is given.")
    if data is not None:
        with web_forms.attempt(db, InvalidInput) as tried:
            screening = service.start(db, keys, registry, auth.user, data)
        if not tried.failed:
            if screening.mode == "self":  # the youth answers on their own pages; staff hand it over from here
                return see_other(f"/screenings/{screening.id}/self")
            return see_other(f"/screenings/{screening.id}?page=1")
        message = tried.error.message if isinstance(tried.error, InvalidInput) else message
    return youth_page(
        request, db, keys, registry, auth, youth_id, status_code=400, error=message, chosen=chosen, language=language
    )


def _page_in_range(instrument: CompiledInstrument, page: int) -> int:
    return min(max(page, 1), len(forms.sections(instrument)))


@router.get("/screenings/{screening_id}", response_class=HTMLResponse)
def form_page(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
    page: int = 1,
    more: int = 0,
) -> Response:
    """One page (section) of the form, filled with the saved answers; a completed screening shows its result."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    if screening.mode == "self":
        return see_other(f"/screenings/{screening.id}/self")
    current = service.public(db, keys, screening)
    stored = {k: v.value for k, v in current.answers.items()}
    viewed(db, auth, screening, "form")
    page = _page_in_range(instrument, page)
    return _form(
        request, auth, screening, instrument, page, stored, stored, {}, current.notes, more=bool(more), db=db, keys=keys
    )


def _form(
    request: Request,
    auth: WebAuth,
    screening: Screening,
    instrument: CompiledInstrument,
    page: int,
    stored: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    notes: str | None,
    *,
    more: bool = False,
    status_code: int = 200,
    db: Session,
    keys: KeyRing,
) -> Response:
    sections = forms.sections(instrument)
    items = forms.page_items(instrument, page, stored)
    told = tellonce.told(db, auth.user.agency_id, screening)
    context = tellonce.context(db, keys, auth.user, screening, instrument)
    questions = forms.questions(instrument, items, values, screening.language, screening.mode, errors)
    summary: list[tuple[str, str]] = [(f"q-{q.id}", lazy_join(": ", [q.text, q.error])) for q in questions if q.error]
    summary += [
        (f"{key}-field" if key == "notes" else "main", msg) for key, msg in errors.items() if key in ("notes", "form")
    ]
    return render(
        request,
        "screening/form.html",
        status_code=status_code,
        auth=auth,
        screening=screening,
        instrument=instrument,
        section=sections[page - 1],
        notice=section_notice(sections[page - 1], screening.mode),
        skip_offered=screening.mode != STAFF_MODE,  # the young person's choice, not staff's
        page=page,
        pages=len(sections),
        questions=questions,
        summary=summary,
        notes=notes,
        more=more,
        told=told,
        context=context,
        confirmable=True,
    )


@router.post("/screenings/{screening_id}")
async def save_page(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: FormAuthDep,
    page: int = 1,
) -> Response:
    """Save one page's answers, then go on, back, or leave; refuses a stale version with the differences shown."""
    screening, instrument = open_screening(db, auth, registry, screening_id)
    if screening.status == ScreeningStatus.completed:
        return see_other(f"/screenings/{screening.id}/result")
    page = _page_in_range(instrument, page)
    form = await request.form()
    current = service.public(db, keys, screening)
    stored = {k: v.value for k, v in current.answers.items()}
    items = forms.page_items(instrument, page, stored)
    answers, errors = forms.parse_page(instrument, items, form)
    last = page == len(forms.sections(instrument))
    notes = _field(form, "notes").strip() if last and "notes" in form else None
    version = form_version(_field(form, "version"))
    if not errors:
        confirm = [i for i in form.getlist("confirm") if isinstance(i, str) and i in {it.id for it in items}]
        saved, errors = web_forms.parse(
            AnswersSave,
            {"version": version, "answers": answers, "notes": notes, "confirm": confirm},
            {"notes": _("The notes are too long."), "answers": web_forms.answer_refused},
            items="answers",
        )
        if saved is not None:
            with web_forms.attempt(db, Conflict, InvalidInput) as tried:
                service.save_answers(db, keys, registry, auth.user, screening.id, saved)
            if isinstance(tried.error, Conflict):
                return _conflict(request, db, keys, auth, screening, instrument, page, answers, notes)
            if isinstance(tried.error, InvalidInput):
                errors = web_forms.refused_errors(tried.error, items="answers")
    if errors:
        values = {**stored, **answers}
        return _form(
            request, auth, screening, instrument, page, stored, values, errors, notes, status_code=400, db=db, keys=keys
        )
    action = _field(form, "action") or "next"
    shown_before = {i.id for i in items}
    appeared = [i.id for i in forms.page_items(instrument, page, {**stored, **answers}) if i.id not in shown_before]
    if action == "leave":
        return see_other(f"/youth/{screening.youth_id}")
    if action == "back":
        return see_other(f"/screenings/{screening.id}?page={max(page - 1, 1)}")
    if appeared or action == "stay":
        anchor = f"#q-{appeared[0]}" if appeared else ""
        return see_other(f"/screenings/{screening.id}?page={page}&more={int(bool(appeared))}{anchor}")
    return see_other(f"/screenings/{screening.id}/review" if last else f"/screenings/{screening.id}?page={page + 1}")


def _conflict(
    request: Request,
    db: Session,
    keys: KeyRing,
    auth: WebAuth,
    screening: Screening,
    instrument: CompiledInstrument,
    page: int,
    answers: dict[str, Any],
    notes: str | None,
) -> Response:
    """Someone saved first: show which of the submitted answers now differ, and let the person choose."""
    db.refresh(screening)
    current = service.public(db, keys, screening)
    stored = {k: v.value for k, v in current.answers.items()}
    language = screening.language
    differing = [
        {
            "text": text(
                wording(instrument.items[item_id], screening.mode)[0], language, instrument.definition.default_language
            ),
            "theirs": forms.answer_label(instrument, item_id, stored.get(item_id), language, screening.mode),
            "yours": forms.answer_label(instrument, item_id, value, language, screening.mode),
        }
        for item_id, value in answers.items()
        if stored.get(item_id) != value
    ]
    if notes is not None and notes != (current.notes or ""):
        differing.append(
            {"text": _("Notes"), "theirs": current.notes or _("No notes"), "yours": notes or _("No notes")}
        )
    return render(
        request,
        "screening/conflict.html",
        status_code=409,
        auth=auth,
        screening=screening,
        page=page,
        differing=differing,
        resend=forms.form_fields(answers, instrument),
        notes=notes,
        completed=screening.status == ScreeningStatus.completed,
    )
