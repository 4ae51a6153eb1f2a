"""The youth's way through a check-in, as a service: where to start or resume, what a page shows, and what
answering it does (next, back, skip the section, pause, finish), and the "still true?" choices.

The routes in `app.portal.pages` read the form, call this, and render or redirect what it says; nothing
here knows about HTTP or addresses. Like every service it flushes and never commits or rolls back: answers
changed elsewhere meanwhile raise Conflict, the route rolls the request back and asks `changed_meanwhile`
what to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.crypto import KeyRing
from app.models import Answer, Screening, YouthSession
from app.portal import flow
from app.portal import service as portal
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, StoredAnswer
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import DECLINED

ACTIONS = ("next", "back", "skip_section", "pause", "stay")  # what a page's buttons ask for; anything else is "next"
CHANGED = {"_": "changed"}  # the page's error when the answers changed somewhere else meanwhile
WELCOME = 0  # the page before the first: the welcome page


@dataclass(frozen=True)
class Step:
    """What answering a page leads to: another page, the end, the page again (with errors), or the pause."""

    page: int | None = None  # the page to go on to (WELCOME before the first); None: show this one again
    seen: bool = False  # the section's notice of that page is not shown again (going back, or more on this page)
    more: bool = False  # the same page again: an answer opened a follow-up question on it
    finished: bool = False  # the check-in is finished: on to the last words (support, resources)
    errors: dict[str, str] = field(default_factory=dict)  # show the page again with these
    status_code: int = 200
    answers: dict[str, Any] = field(default_factory=dict)  # what the page shown again shows as chosen
    shown: list[str] = field(default_factory=list)  # the items the page shown again shows
    is_last: bool = False
    pause: bool = False  # save and finish later: the session ends (the access stays)


def pending(stored: Mapping[str, StoredAnswer]) -> dict[str, StoredAnswer]:
    """Carried answers waiting for the youth to say whether they are still true (never prefilled on a page);
    those of a program that stopped sharing are gone before the youth sees them (`stored_answers` prunes)."""
    return {k: a for k, a in stored.items() if not a.confirmed}


def prefill(stored: Mapping[str, StoredAnswer]) -> dict[str, Any]:
    """The answers a page shows as chosen: the youth's own in this screening, never an unconfirmed carried one."""
    return {k: a.value for k, a in stored.items() if a.confirmed}


def told(db: Session, screening: Screening) -> set[str]:
    """Items the youth already settled on the "still true?" page (kept, or rather not say): not asked again."""
    query = select(Answer.item_id).where(Answer.screening_id == screening.id, col(Answer.confirmed_at).is_not(None))
    return set(db.exec(query).all())


class Journey:
    """One youth's check-in: its pages, the answers so far, and the service calls each step makes."""

    def __init__(self, db: Session, keys: KeyRing, screening: Screening, instrument: CompiledInstrument) -> None:
        self.db, self.keys, self.screening, self.instrument = db, keys, screening, instrument
        self.pages = flow.pages(instrument)
        self.reload()

    def reload(self) -> None:
        """Read the stored answers again (after a write, or a conflict)."""
        self.stored = screenings.stored_answers(self.db, self.keys, self.screening)
        self.answers = prefill(self.stored)
        self.pending = pending(self.stored)
        self.told = told(self.db, self.screening)

    def page(self, number: int) -> flow.Page | None:
        """The page with this number, or None when there is none."""
        return self.pages[number - 1] if 1 <= number <= len(self.pages) else None

    def first(self) -> int:
        """The first page with a question the youth was not asked already (1 when every page was)."""
        return flow.next_page(self.instrument, self.pages, 0, self.answers, told=self.told) or 1

    def stopped(self) -> int | None:
        """The page where the youth stopped last time (a pause, an exit or a closed tab), if any."""
        number = self.screening.youth_page or 0
        return number if 1 <= number <= len(self.pages) else None

    def start(self) -> str | int:
        """Where the welcome page's button leads: "told" when carried answers wait, else where the youth
        stopped, else the first page to answer."""
        return "told" if self.pending else (self.stopped() or self.first())

    def shown(self, number: int, answers: Mapping[str, Any] | None = None) -> list[str]:
        """The items page `number` shows given the answers (the saved ones by default)."""
        page = self.pages[number - 1]
        return flow.shown_items(self.instrument, page, self.answers if answers is None else answers)

    def is_last(self, number: int, answers: Mapping[str, Any] | None = None) -> bool:
        """Whether no page after this one has a question left to ask."""
        given = self.answers if answers is None else answers
        return flow.next_page(self.instrument, self.pages, number, given, told=self.told) is None

    def needs_notice(self, number: int, seen: bool) -> bool:
        """Whether the section's notice comes before this page (the first of a section with one, not yet seen)."""
        page = self.pages[number - 1]
        return page.first_of_section and bool(page.section.notice) and not seen

    def visit(self, number: int) -> None:
        """Remember the page the youth is on: a pause, an exit or a closed tab resumes here."""
        if self.screening.youth_page != number:
            self.screening.youth_page = number
            self.db.add(self.screening)

    def answer(
        self,
        registry: Registry,
        record: YouthSession,
        number: int,
        action: str,
        given: Mapping[str, Any],
        errors: Mapping[str, str],
    ) -> Step:
        """Save a page's answers (`given`, read from the form with `errors`), then go where `action` asks.

        "skip_section" saves the page as declined whatever was chosen; a page with errors is shown again and
        saves nothing. Conflict when the answers changed elsewhere meanwhile: the caller rolls back (nothing is
        saved) and shows `changed_meanwhile`."""
        action = action if action in ACTIONS else "next"
        page = self.pages[number - 1]
        if action == "skip_section":
            shown = [i for i in page.items if self.instrument.items[i].type != "notice"]
            answers: dict[str, Any] = {i: DECLINED for i in shown}
        else:
            shown, answers = self.shown(number), dict(given)
            if errors:
                merged = {**self.answers, **answers}
                return Step(
                    errors=dict(errors), status_code=400, answers=merged, shown=shown, is_last=self.is_last(number)
                )
        saved = AnswersSave(version=self.screening.version, answers=answers)
        screenings.store_answers(self.db, self.keys, registry, self.screening, saved, None)
        merged = {**self.answers, **{k: v for k, v in answers.items() if v is not None}}
        if action == "pause":
            self.visit(number)
            return Step(pause=True)
        if action == "back":
            target = flow.next_page(self.instrument, self.pages, number, merged, step=-1, told=self.told)
            return Step(page=target, seen=True) if target else Step(page=WELCOME)
        appeared = [
            i for i in self.shown(number, merged) if i not in shown and self.instrument.items[i].type != "notice"
        ]
        if appeared and action == "next":  # a follow-up question opened on this page: ask it before moving on
            return Step(page=number, seen=True, more=True)
        target = flow.next_page(self.instrument, self.pages, number, merged, told=self.told)
        if target is not None:
            return Step(page=target)
        screenings.finish(self.db, self.keys, registry, self.screening, self.screening.version, None)
        portal.end(self.db, record, "finished")
        return Step(finished=True)

    def changed_meanwhile(self, number: int, action: str, given: Mapping[str, Any]) -> Step:
        """Page `number` again after its answers could not be saved because they changed elsewhere meanwhile (the
        request was rolled back): the answers as they are now, with what the youth chose on this page over them,
        so nothing they chose is lost (a question they left empty shows what is saved now); the questions and the
        last page's "Finish" follow from those answers."""
        self.reload()
        typed = {} if action == "skip_section" else {k: v for k, v in given.items() if v is not None}
        merged = {**self.answers, **typed}
        return Step(
            errors=dict(CHANGED),
            status_code=409,
            answers=merged,
            shown=self.shown(number, merged),
            is_last=self.is_last(number, merged),
        )

    def settle(self, registry: Registry, choices: Mapping[str, str]) -> None:
        """The youth's "still true?" choices, per pending item: "keep" (it counts), "change" (asked again,
        empty) or "skip" (rather not say now: not asked). Conflict when the answers changed meanwhile: the
        caller rolls back (nothing saved) and shows the page again."""
        choices = {i: c for i, c in choices.items() if i in self.pending}
        changed = {i: None for i, c in choices.items() if c == "change"}
        declined = {i: DECLINED for i, c in choices.items() if c == "skip"}
        kept = [i for i, c in choices.items() if c == "keep"]
        saved = AnswersSave(version=self.screening.version, answers={**changed, **declined}, confirm=kept)
        screenings.store_answers(self.db, self.keys, registry, self.screening, saved, None)
        screenings.settle(self.db, self.screening, list(declined))
        self.reload()
