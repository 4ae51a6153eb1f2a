"""The youth's pages: neutral addresses and titles, every question skippable, a quick exit everywhere.

Works without JavaScript. `/static/portal.js` only adds the quick-exit keyboard shortcut (and its hint,
on a device with a keyboard) and replaces the page with the neutral site so Back does not return.

"Save and finish later" on a private link keeps the youth's link and code: the page that answers the pause
says to come back with them and shows the link again (never the code, which is stored only as a keyed
hash). On an agency device handed to the youth, the check-in ends on a "please give the device back" page
(`/s/handback`), and the new link and code a paused hand-off gets are shown once, on the page that answers
the pause, never again on that device: the page is not stored, the session has ended, and the youth's
"I have it" leads to the hand-back page. A youth who lost the code asks staff for a new one.

Every youth page after a Spanish one stays in Spanish, also once the session has ended (the hand-back page,
the code page a closed session leads to, Back or reload after a pause): the language travels in the
redirects and in a session cookie that holds only the language.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app import i18n, web_forms
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import KeysDep, RegistryDep, SettingsDep, client_address
from app.errors import AppError, Conflict, Forbidden, SessionEnded
from app.i18n import _
from app.models import Agency, Screening, YouthSession
from app.portal import flow, invitation, service
from app.portal.answers import parse_page
from app.portal.hotlines import phone_links
from app.portal.journey import WELCOME, Journey, Step
from app.screenings import service as screenings
from app.screenings.schemas import StoredAnswer
from app.settings import Settings
from app.web import options_of, render

router = APIRouter(include_in_schema=False)
COOKIE = "tellonce_y"
LANG_COOKIE = "tellonce_yl"  # only the youth's language, so pages after the session ended keep it
LINK_COOKIE = "tellonce_ylink"  # the private link the youth opened, shown again when they pause


def youth_language(request: Request, asked: str | None = None) -> str:
    """The language a youth page without a session is shown in: the one asked for, else the youth's last."""
    return i18n.pick_language(asked or request.cookies.get(LANG_COOKIE) or "en", i18n.LANGUAGES)


def _ended_address(request: Request) -> str:
    """The code page a closed session leads to, in the youth's language."""
    language = youth_language(request)
    return "/go?ended=1" if language == "en" else f"/go?ended=1&lang={language}"


class YouthContext:
    """Everything a youth page needs: the session, the screening, its instrument and language."""

    def __init__(self, record: YouthSession, screening: Screening, request: Request, settings: Settings) -> None:
        self.record, self.screening, self.settings = record, screening, settings
        self.instrument = screenings.instrument_of(request.app.state.registry, screening)
        self.lang = i18n.pick_language(screening.language, list(self.instrument.definition.languages))
        self.pages = flow.pages(self.instrument)

    def journey(self, db: Session, keys: KeyRing) -> Journey:
        """The youth's way through this check-in, with the answers stored so far."""
        return Journey(db, keys, self.screening, self.instrument)

    @property
    def csrf(self) -> str:
        return service.csrf_token(self.record)


def youth_context(request: Request, db: SessionDep, settings: SettingsDep) -> YouthContext:
    """The youth session of this request, or a polite end: back to the code page."""
    token = request.cookies.get(COOKIE)
    record = service.resolve(db, token, settings) if token else None
    screening = db.get(Screening, record.screening_id) if record else None
    if record is None or screening is None:
        ended = SessionEnded(_("This check-in is closed."), keep_writes=True)
        ended.redirect = _ended_address(request)
        raise ended
    return YouthContext(record, screening, request, settings)


YouthDep = Annotated[YouthContext, Depends(youth_context)]


def _page(request: Request, ctx: YouthContext, template: str, status_code: int = 200, **context: Any) -> Response:
    response = render(
        request,
        f"portal/{template}",
        status_code=status_code,
        lang=ctx.lang,
        csrf_token=ctx.csrf,
        exit_url=ctx.settings.quick_exit_url,
        ctx=ctx,
        **context,
    )
    _remember_language(response, ctx.lang, ctx.settings)
    return response


def _remember_language(response: Response, language: str, settings: Settings) -> None:
    response.set_cookie(
        LANG_COOKIE, language, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
    )


def _check_csrf(ctx: YouthContext, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(ctx.csrf, submitted):
        raise Forbidden(_("This page has expired. Please go back and try again."))


@router.get("/go")
@router.get("/go/{link_token}")
def code_page(
    request: Request, settings: SettingsDep, link_token: str = "", lang: str = "", ended: bool = False
) -> Response:
    # A private link carries its language (none for English); the bare code page keeps the youth's last one.
    language = i18n.pick_language(lang or "en", i18n.LANGUAGES) if link_token else youth_language(request, lang)
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
    response = RedirectResponse(_first_address(request, db, keys, _session), status_code=303)
    set_youth_cookie(response, token, settings)
    if link_token:
        response.set_cookie(
            LINK_COOKIE,
            service.normalize_link(link_token),
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/",
        )
    return response


def _first_address(request: Request, db: Session, keys: KeyRing, record: YouthSession) -> str:
    """Where opening with a code leads: on a resume, straight to the page where the youth stopped (every
    page has the quick exit, "you can skip any question" and "save and finish later"); else the welcome
    page, which also comes first when answers told to another program wait to be confirmed."""
    screening = db.get(Screening, record.screening_id)
    if screening is None:
        return "/s/0"
    journey = Journey(db, keys, screening, screenings.instrument_of(request.app.state.registry, screening))
    stopped = journey.stopped()
    if stopped is None or journey.pending:
        return "/s/0"
    return f"/s/{stopped}?seen=1&resumed=1"


def set_youth_cookie(response: Response, token: str, settings: Settings) -> None:
    """The youth's session cookie: HttpOnly, SameSite=Strict, gone when the browser closes."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/")


@router.get("/s/0")
def welcome(request: Request, ctx: YouthDep, db: SessionDep, keys: KeysDep) -> Response:
    agency = db.get(Agency, ctx.screening.agency_id)
    notice = (agency.confidentiality_notice or {}).get(ctx.lang) if agency else None
    journey = ctx.journey(db, keys)
    return _page(
        request,
        ctx,
        "welcome.html",
        agency_notice=notice,
        programs=_programs(db, ctx.screening, journey.pending),
        first=journey.start(),
        resuming=journey.stopped() is not None and not journey.pending,
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
    journey = ctx.journey(db, keys)
    if not journey.pending:
        return RedirectResponse(_page_address(journey.first()), status_code=303)
    return _page(request, ctx, "told.html", groups=_groups(db, ctx, journey.pending))


@router.post("/s/told")
async def still_true_save(
    request: Request, ctx: YouthDep, db: SessionDep, keys: KeysDep, registry: RegistryDep
) -> Response:
    """Keep: it counts. Change: the question is asked again, empty. Rather not say now: it is not asked."""
    form = await request.form()
    _check_csrf(ctx, str(form.get("csrf_token") or ""))
    if str(form.get("action") or "") == "pause":
        return _pause(request, ctx, db, keys)
    journey = ctx.journey(db, keys)
    choices = {i: str(form.get(f"k_{i}") or "") for i in journey.pending}
    with web_forms.attempt(db, Conflict) as tried:
        journey.settle(registry, choices)
    if tried.failed:  # changed meanwhile: nothing saved, the page again with the answers as they are now
        return RedirectResponse("/s/told", status_code=303)
    return RedirectResponse(_page_address(journey.first()), status_code=303)


def _pause(request: Request, ctx: YouthContext, db: Session, keys: KeyRing) -> Response:
    """Save and finish later: the session ends on this device.

    On a private link the youth comes back with the same link and code; the page shows the link again when
    this device opened it. A handed-over device gets a new link and code, shown this once; "I have it" leads
    to the hand-back page."""
    handed_over = service.handed_over(db, ctx.record)
    paused = service.pause(db, keys, ctx.record, ctx.settings)
    link = paused.link_token or service.link_of(db, keys, ctx.record, request.cookies.get(LINK_COOKIE))
    response = _page(
        request,
        ctx,
        "paused.html",
        code=service.format_code(paused.code) if paused.code else None,
        go_url=invitation.youth_link(ctx.settings.public_base_url(), link, ctx.lang) if link else None,
        expires_at=paused.expires_at,
        handed_over=handed_over,
    )
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(LINK_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"  # never back from history: a new code is shown once
    return response


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
    finished = service.finished(db, request.cookies.get(COOKIE))
    agency = finished.agency if finished else None
    lang = finished.screening.language if finished else youth_language(request)
    resources = (agency.resources or {}).get(lang, []) if agency else []
    response = render(
        request,
        "portal/done.html",
        lang=lang,
        resources=resources,
        agency=agency,
        phone_links=phone_links,
        handed_over=finished is not None and finished.handed_over,
        exit_url=settings.quick_exit_url,
        ctx=None,
    )
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(LINK_COOKIE, path="/")
    return response


@router.get("/s/handback")
def hand_back(request: Request, settings: SettingsDep, lang: str = "") -> Response:
    """The end on a handed-over device: please give it back. Shows nothing the youth said or was given."""
    return render(
        request,
        "portal/handback.html",
        lang=youth_language(request, lang),
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
    journey = ctx.journey(db, keys)
    page = journey.page(number)
    if page is None:
        return RedirectResponse("/s/0", status_code=303)
    if journey.needs_notice(number, seen):
        return _page(request, ctx, "notice.html", page=page, total=len(ctx.pages))
    journey.visit(number)
    return _page(
        request,
        ctx,
        "page.html",
        page=page,
        total=len(ctx.pages),
        answers=journey.answers,
        more=more,
        resumed=resumed,
        items=[ctx.instrument.items[i] for i in journey.shown(number)],
        is_last=journey.is_last(number),
    )


def _page_address(number: int, *, seen: bool = False, more: bool = False) -> str:
    """A youth page's address: `seen` skips its section's notice; `more` points at the question an answer opened."""
    if number == WELCOME:
        return "/s/0"
    return f"/s/{number}?seen=1&more=1#more" if more else f"/s/{number}?seen=1" if seen else f"/s/{number}"


def _step_address(step: Step) -> str | None:
    """Where a saved page leads (None: the page is shown again)."""
    if step.finished:
        return "/s/done"
    return None if step.page is None else _page_address(step.page, seen=step.seen, more=step.more)


@router.post("/s/{number}")
async def save_page(
    request: Request, number: int, ctx: YouthDep, db: SessionDep, keys: KeysDep, registry: RegistryDep
) -> Response:
    form = await request.form()
    _check_csrf(ctx, str(form.get("csrf_token") or ""))
    journey = ctx.journey(db, keys)
    page = journey.page(number)
    if page is None:
        return RedirectResponse("/s/0", status_code=303)
    answers, errors = parse_page(ctx.instrument, journey.shown(number), form)
    action = str(form.get("action") or "next")
    with web_forms.attempt(db, Conflict) as tried:
        step = journey.answer(registry, ctx.record, number, action, answers, errors)
    if tried.failed:  # changed elsewhere meanwhile: nothing saved, the page again with what the youth chose
        step = journey.changed_meanwhile(number, action, answers)
    if step.pause:
        return _pause(request, ctx, db, keys)
    if (address := _step_address(step)) is not None:
        return RedirectResponse(address, status_code=303)
    return _page(
        request,
        ctx,
        "page.html",
        status_code=step.status_code,
        page=page,
        total=len(ctx.pages),
        answers=step.answers,
        errors=step.errors,
        items=[ctx.instrument.items[i] for i in step.shown],
        is_last=step.is_last,
    )


@router.get("/exit")
@router.post("/exit")
def quick_exit(request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    """End the youth's session and leave for the neutral site. Works with or without JavaScript."""
    service.leave(db, request.cookies.get(COOKIE))
    response = RedirectResponse(settings.quick_exit_url, status_code=303)
    for name in (COOKIE, LANG_COOKIE, LINK_COOKIE):
        response.delete_cookie(name, path="/")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
