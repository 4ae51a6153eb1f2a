"""The youth's pages: neutral addresses and titles, every question skippable, a quick exit everywhere.

Works without JavaScript. `/static/portal.js` only adds the quick-exit keyboard shortcut (and its hint,
on a device with a keyboard) and replaces the page with the neutral site so Back does not return.

On an agency device handed to the youth, the check-in ends on a "please give the device back" page
(`/s/handback`), and the code "save and finish later" gives is shown once, on the page that answers the
pause, never again on that device: the page is not stored, the session has ended, and the youth's
"I have it" leads to the hand-back page. A youth who lost the code asks staff for a new one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app import i18n
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import KeysDep, RegistryDep, SettingsDep, client_address
from app.errors import AppError, Conflict, Forbidden, SessionEnded
from app.i18n import _
from app.models import Agency, Answer, Screening, YouthAccess, YouthSession
from app.portal import flow, invitation, service
from app.portal.answers import parse_page
from app.portal.hotlines import phone_links
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, StoredAnswer
from app.settings import Settings
from app.web import options_of, render
from instruments.model import DECLINED

router = APIRouter(include_in_schema=False)
COOKIE = "tellonce_y"


class YouthContext:
    """Everything a youth page needs: the session, the screening, its instrument and language."""

    def __init__(self, record: YouthSession, screening: Screening, request: Request, settings: Settings) -> None:
        self.record, self.screening, self.settings = record, screening, settings
        self.instrument = screenings.instrument_of(request.app.state.registry, screening)
        self.lang = i18n.pick_language(screening.language, list(self.instrument.definition.languages))
        self.pages = flow.pages(self.instrument)

    @property
    def csrf(self) -> str:
        return service.csrf_token(self.record)


def youth_context(request: Request, db: SessionDep, settings: SettingsDep) -> YouthContext:
    """The youth session of this request, or a polite end: back to the code page."""
    token = request.cookies.get(COOKIE)
    record = service.resolve(db, token, settings) if token else None
    screening = db.get(Screening, record.screening_id) if record else None
    if record is None or screening is None:
        raise SessionEnded(_("This check-in is closed."), keep_writes=True)
    return YouthContext(record, screening, request, settings)


YouthDep = Annotated[YouthContext, Depends(youth_context)]


def _page(request: Request, ctx: YouthContext, template: str, status_code: int = 200, **context: Any) -> Response:
    return render(
        request,
        f"portal/{template}",
        status_code=status_code,
        lang=ctx.lang,
        csrf_token=ctx.csrf,
        exit_url=ctx.settings.quick_exit_url,
        ctx=ctx,
        **context,
    )


def _check_csrf(ctx: YouthContext, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(ctx.csrf, submitted):
        raise Forbidden(_("This page has expired. Please go back and try again."))


@router.get("/go")
@router.get("/go/{link_token}")
def code_page(
    request: Request, settings: SettingsDep, link_token: str = "", lang: str = "en", ended: bool = False
) -> Response:
    language = i18n.pick_language(lang, i18n.LANGUAGES)
    return render(
        request,
        "portal/code.html",
        lang=language,
        link_token=link_token,
        ended=ended,
        exit_url=settings.quick_exit_url,
        ctx=None,
    )


@router.post("/go")
def open_with_code(
    request: Request,
    db: SessionDep,
    keys: KeysDep,
    settings: SettingsDep,
    code: Annotated[str, Form()] = "",
    link_token: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "en",
) -> Response:
    language = i18n.pick_language(lang, i18n.LANGUAGES)
    try:
        _session, token = service.open_with_code(
            db, keys, code, link_token or None, client_address(request, settings), settings
        )
    except AppError as exc:
        return render(
            request,
            "portal/code.html",
            status_code=exc.status,
            lang=language,
            link_token=link_token,
            error=exc.code,
            exit_url=settings.quick_exit_url,
            ctx=None,
        )
    # The welcome page first, also on a resume: it says again who sees the answers and how to leave, and
    # its button continues where the youth stopped.
    response = RedirectResponse("/s/0", status_code=303)
    set_youth_cookie(response, token, settings)
    return response


def set_youth_cookie(response: Response, token: str, settings: Settings) -> None:
    """The youth's session cookie: HttpOnly, SameSite=Strict, gone when the browser closes."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/")


def _told(db: Session, screening: Screening) -> set[str]:
    """Items the youth already settled on the "still true?" page (kept, or rather not say): not asked again."""
    return set(
        db.exec(
            select(Answer.item_id).where(Answer.screening_id == screening.id, col(Answer.confirmed_at).is_not(None))
        ).all()
    )


def _pending(stored: dict[str, StoredAnswer]) -> dict[str, StoredAnswer]:
    """Carried answers waiting for the youth to say whether they are still true (never prefilled on a page);
    those of a program that stopped sharing are gone before the youth sees them (`stored_answers` prunes)."""
    return {k: a for k, a in stored.items() if not a.confirmed}


def _prefill(stored: dict[str, StoredAnswer]) -> dict[str, Any]:
    """The answers a page shows as chosen: the youth's own in this screening, never an unconfirmed carried one."""
    return {k: a.value for k, a in stored.items() if a.confirmed}


@router.get("/s/0")
def welcome(request: Request, ctx: YouthDep, db: SessionDep, keys: KeysDep) -> Response:
    agency = db.get(Agency, ctx.screening.agency_id)
    notice = (agency.confidentiality_notice or {}).get(ctx.lang) if agency else None
    stored = screenings.stored_answers(db, keys, ctx.screening)
    pending = _pending(stored)
    first = flow.next_page(ctx.instrument, ctx.pages, 0, _prefill(stored), told=_told(db, ctx.screening)) or 1
    stopped = ctx.screening.youth_page if 1 <= (ctx.screening.youth_page or 0) <= len(ctx.pages) else None
    return _page(
        request,
        ctx,
        "welcome.html",
        agency_notice=notice,
        programs=_programs(db, ctx.screening, pending),
        first="told" if pending else (stopped or first),
        resuming=stopped is not None and not pending,
        languages=[
            (code, i18n.LANGUAGE_NAMES[code])
            for code in ctx.instrument.definition.languages
            if code in i18n.LANGUAGE_NAMES
        ],
    )


def _programs(db: Session, screening: Screening, pending: dict[str, StoredAnswer]) -> list[str]:
    """The names of the other programs the pending answers were told to (this program's is never listed)."""
    ids = {a.origin_agency_id for a in pending.values() if a.origin_agency_id != screening.agency_id}
    return sorted(a.name for a in db.exec(select(Agency).where(col(Agency.id).in_(ids)))) if ids else []


@dataclass(frozen=True)
class Group:
    """Answers the youth told one program on one day, as the "still true?" page lists them."""

    program: str | None  # None: this program ("you told us before")
    at: datetime
    rows: list[tuple[Any, str]]  # (item, the answer in words)


def _groups(db: Session, ctx: YouthContext, pending: dict[str, StoredAnswer]) -> list[Group]:
    names = dict(db.exec(select(Agency.id, Agency.name)).all())
    groups: dict[tuple[str | None, datetime], list[tuple[Any, str]]] = {}
    for item_id in ctx.instrument.items:  # in the instrument's order
        if (answer := pending.get(item_id)) is None:
            continue
        program = None if answer.origin_agency_id == ctx.screening.agency_id else answer.origin_agency_id
        key = (program, answer.given_at or answer.updated_at)
        groups.setdefault(key, []).append((ctx.instrument.items[item_id], _words(ctx, item_id, answer.value)))
    return [Group(names.get(p, "") if p else None, at, rows) for (p, at), rows in sorted(groups.items(), key=_newest)]


def _newest(entry: tuple[tuple[str | None, datetime], Any]) -> datetime:
    return entry[0][1]


def _words(ctx: YouthContext, item_id: str, value: Any) -> str:
    labels = {o["code"]: o["label"] for o in options_of(ctx.instrument.items[item_id], ctx.lang)}
    if isinstance(value, list):
        return ", ".join(labels.get(v, str(v)) for v in value)
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)


@router.get("/s/told")
def still_true_page(request: Request, ctx: YouthDep, db: SessionDep, keys: KeysDep) -> Response:
    """What the youth told other programs, grouped: is it still true? Keep, change, or rather not say now."""
    pending = _pending(screenings.stored_answers(db, keys, ctx.screening))
    if not pending:
        return RedirectResponse(_first_url(db, keys, ctx), status_code=303)
    return _page(request, ctx, "told.html", groups=_groups(db, ctx, pending))


@router.post("/s/told")
async def still_true_save(
    request: Request, ctx: YouthDep, db: SessionDep, keys: KeysDep, registry: RegistryDep
) -> Response:
    """Keep: it counts. Change: the question is asked again, empty. Rather not say now: it is not asked."""
    form = await request.form()
    _check_csrf(ctx, str(form.get("csrf_token") or ""))
    pending = _pending(screenings.stored_answers(db, keys, ctx.screening))
    choices = {i: str(form.get(f"k_{i}") or "") for i in pending}
    if str(form.get("action") or "") == "pause":
        return _pause(request, ctx, db, keys)
    changed = {i: None for i, c in choices.items() if c == "change"}
    declined = {i: DECLINED for i, c in choices.items() if c == "skip"}
    kept = [i for i, c in choices.items() if c == "keep"]
    try:
        saved = AnswersSave(version=ctx.screening.version, answers={**changed, **declined}, confirm=kept)
        screenings.store_answers(db, keys, registry, ctx.screening, saved, None)
    except Conflict:
        db.rollback()
        return RedirectResponse("/s/told", status_code=303)
    screenings.settle(db, ctx.screening, list(declined))
    return RedirectResponse(_first_url(db, keys, ctx), status_code=303)


def _pause(request: Request, ctx: YouthContext, db: Session, keys: KeyRing) -> Response:
    """Save and finish later: a new code to come back with, and the session ends on this device.

    On a handed-over device the code is shown this once; "I have it" leads to the hand-back page."""
    handed_over = _handed_over(db, ctx.record)
    link, code = service.new_code_for(db, keys, ctx.record, ctx.settings)
    response = _page(
        request,
        ctx,
        "paused.html",
        code=service.format_code(code),
        go_url=invitation.youth_link(ctx.settings.public_base_url(), link, ctx.lang),
        handed_over=handed_over,
    )
    response.delete_cookie(COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"  # never back from history: the code is shown once
    return response


def _handed_over(db: Session, record: YouthSession | None) -> bool:
    """Whether this youth session runs on an agency device a staff member handed over."""
    grant = db.get(YouthAccess, record.access_id) if record is not None else None
    return grant is not None and grant.kind == "handoff"


def _first_url(db: Session, keys: KeyRing, ctx: YouthContext) -> str:
    told = _told(db, ctx.screening)
    first = flow.next_page(
        ctx.instrument, ctx.pages, 0, _prefill(screenings.stored_answers(db, keys, ctx.screening)), told=told
    )
    return f"/s/{first}" if first else "/s/1"


@router.post("/s/language")
def choose_language(
    request: Request,
    ctx: YouthDep,
    db: SessionDep,
    csrf_token: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "en",
) -> Response:
    _check_csrf(ctx, csrf_token)
    ctx.screening.language = i18n.pick_language(lang, list(ctx.instrument.definition.languages))
    db.add(ctx.screening)
    return RedirectResponse("/s/0", status_code=303)


@router.get("/s/done")
def done(request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    token = request.cookies.get(COOKIE)
    record = db.get(YouthSession, hashlib.sha256(token.encode()).hexdigest()) if token else None
    screening = db.get(Screening, record.screening_id) if record and record.ended_reason == "finished" else None
    agency = db.get(Agency, screening.agency_id) if screening else None
    lang = screening.language if screening else "en"
    resources = (agency.resources or {}).get(lang, []) if agency else []
    response = render(
        request,
        "portal/done.html",
        lang=lang,
        resources=resources,
        agency=agency,
        phone_links=phone_links,
        handed_over=screening is not None and _handed_over(db, record),
        exit_url=settings.quick_exit_url,
        ctx=None,
    )
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/s/handback")
def hand_back(request: Request, settings: SettingsDep, lang: str = "en") -> Response:
    """The end on a handed-over device: please give it back. Shows nothing the youth said or was given."""
    return render(
        request,
        "portal/handback.html",
        lang=i18n.pick_language(lang, i18n.LANGUAGES),
        exit_url=settings.quick_exit_url,
        ctx=None,
    )


@router.get("/s/{number}")
def question_page(
    request: Request,
    number: int,
    ctx: YouthDep,
    db: SessionDep,
    keys: KeysDep,
    seen: bool = False,
    more: bool = False,
    resumed: bool = False,
) -> Response:
    if not 1 <= number <= len(ctx.pages):
        return RedirectResponse("/s/0", status_code=303)
    page = ctx.pages[number - 1]
    answers = _prefill(screenings.stored_answers(db, keys, ctx.screening))
    told = _told(db, ctx.screening)
    if page.first_of_section and page.section.notice and not seen:
        return _page(request, ctx, "notice.html", page=page, total=len(ctx.pages))
    if ctx.screening.youth_page != number:  # where the youth is: a pause, an exit or a closed tab resumes here
        ctx.screening.youth_page = number
        db.add(ctx.screening)
    return _page(
        request,
        ctx,
        "page.html",
        page=page,
        total=len(ctx.pages),
        answers=answers,
        more=more,
        resumed=resumed,
        items=[ctx.instrument.items[i] for i in flow.shown_items(ctx.instrument, page, answers)],
        is_last=flow.next_page(ctx.instrument, ctx.pages, number, answers, told=told) is None,
    )


@router.post("/s/{number}")
async def save_page(
    request: Request, number: int, ctx: YouthDep, db: SessionDep, keys: KeysDep, registry: RegistryDep
) -> Response:
    form = await request.form()
    _check_csrf(ctx, str(form.get("csrf_token") or ""))
    if not 1 <= number <= len(ctx.pages):
        return RedirectResponse("/s/0", status_code=303)
    page = ctx.pages[number - 1]
    action = str(form.get("action") or "next")
    stored = _prefill(screenings.stored_answers(db, keys, ctx.screening))
    told = _told(db, ctx.screening)
    if action == "skip_section":
        shown = [i for i in page.items if ctx.instrument.items[i].type != "notice"]
        answers = {i: "declined" for i in shown}
    else:
        shown = flow.shown_items(ctx.instrument, page, stored)
        answers, errors = parse_page(ctx.instrument, shown, form)
        if errors:
            return _page(
                request,
                ctx,
                "page.html",
                status_code=400,
                page=page,
                total=len(ctx.pages),
                answers={**stored, **answers},
                errors=errors,
                items=[ctx.instrument.items[i] for i in shown],
                is_last=flow.next_page(ctx.instrument, ctx.pages, number, stored, told=told) is None,
            )
    try:
        screenings.store_answers(
            db, keys, registry, ctx.screening, AnswersSave(version=ctx.screening.version, answers=answers), None
        )
    except Conflict:
        db.rollback()
        return _page(
            request,
            ctx,
            "page.html",
            status_code=409,
            page=page,
            total=len(ctx.pages),
            answers=stored,
            errors={"_": "changed"},
            items=[ctx.instrument.items[i] for i in shown],
            is_last=False,
        )
    merged = {**stored, **{k: v for k, v in answers.items() if v is not None}}
    if action == "pause":
        ctx.screening.youth_page = number
        db.add(ctx.screening)
        return _pause(request, ctx, db, keys)
    if action == "back":
        target = flow.next_page(ctx.instrument, ctx.pages, number, merged, step=-1, told=told)
        return RedirectResponse(f"/s/{target}?seen=1" if target else "/s/0", status_code=303)
    appeared = [
        i
        for i in flow.shown_items(ctx.instrument, page, merged)
        if i not in shown and ctx.instrument.items[i].type != "notice"
    ]
    if appeared and action == "next":  # a follow-up question opened on this page: ask it before moving on
        return RedirectResponse(f"/s/{number}?seen=1&more=1#more", status_code=303)
    target = flow.next_page(ctx.instrument, ctx.pages, number, merged, told=told)
    if target is not None:
        return RedirectResponse(f"/s/{target}", status_code=303)
    screenings.finish(db, keys, registry, ctx.screening, ctx.screening.version, None)
    service.end(db, ctx.record, "finished")
    return RedirectResponse("/s/done", status_code=303)


@router.get("/exit")
@router.post("/exit")
def quick_exit(request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    """End the youth's session and leave for the neutral site. Works with or without JavaScript."""
    token = request.cookies.get(COOKIE)
    record = db.get(YouthSession, hashlib.sha256(token.encode()).hexdigest()) if token else None
    if record is not None:
        service.end(db, record, "exit")
    response = RedirectResponse(settings.quick_exit_url, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
