"""The youth's way through a check-in as a service (`app.portal.journey`), without HTTP: start, next, back,
skip a section, pause, resume, finish, a page with errors, answers changed meanwhile, the "still true?" page.

The screening is set up through the API and the code page (as staff and the youth would); every step under
test is a direct call, so these tests say what the flow decides, not how a page shows it.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from app.crypto import get_key_ring
from app.errors import Conflict
from app.models import Screening, ScreeningStatus, YouthSession
from app.portal.journey import WELCOME, Journey
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import DECLINED
from tests.app.conftest import World
from tests.app.test_portal import issue_link, self_screening


def _journey(client: TestClient, world: World, session: Session) -> tuple[Journey, Registry, YouthSession]:
    screening_id, _auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    client.cookies.clear()
    opened = client.post("/go", data={"code": code, "link_token": link}, follow_redirects=False)
    assert opened.status_code == 303
    registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
    screening = session.get(Screening, screening_id)
    assert screening is not None
    record = session.exec(select(YouthSession).where(YouthSession.screening_id == screening_id)).one()
    instrument = registry.get(screening.instrument_id, screening.instrument_version)
    assert instrument is not None
    return Journey(session, get_key_ring(), screening, instrument), registry, record


def _questions(instrument: CompiledInstrument, journey: Journey, number: int) -> list[str]:
    return [i for i in journey.shown(number) if instrument.items[i].type != "notice"]


def test_a_new_check_in_starts_at_the_first_page_and_next_goes_on(
    client: TestClient, world: World, session: Session
) -> None:
    journey, registry, record = _journey(client, world, session)
    assert journey.start() == 1 and journey.stopped() is None and not journey.pending
    step = journey.answer(registry, record, 1, "next", {}, {})  # nothing chosen: every question can be skipped
    assert step.page is not None and step.page > 1 and not step.seen and not step.finished
    assert not step.errors


def test_skip_section_declines_every_question_of_the_page(client: TestClient, world: World, session: Session) -> None:
    journey, registry, record = _journey(client, world, session)
    questions = _questions(journey.instrument, journey, 1)
    assert questions
    step = journey.answer(registry, record, 1, "skip_section", {}, {})
    assert step.page and not step.errors
    journey.reload()
    assert {i: journey.answers.get(i) for i in questions} == dict.fromkeys(questions, DECLINED)


def test_a_page_with_errors_saves_nothing_and_is_shown_again(
    client: TestClient, world: World, session: Session
) -> None:
    journey, registry, record = _journey(client, world, session)
    first = _questions(journey.instrument, journey, 1)[0]
    step = journey.answer(registry, record, 1, "next", {}, {first: "invalid"})
    assert step.page is None and step.status_code == 400 and step.errors == {first: "invalid"}
    assert first in step.shown
    journey.reload()
    assert journey.answers == {}


def test_back_from_the_second_page_returns_to_the_first(client: TestClient, world: World, session: Session) -> None:
    journey, registry, record = _journey(client, world, session)
    second = journey.answer(registry, record, 1, "next", {}, {}).page
    assert second is not None
    journey.reload()
    step = journey.answer(registry, record, second, "back", {}, {})
    assert step.page == 1 and step.seen  # its notice was seen already
    assert journey.answer(registry, record, 1, "back", {}, {}).page == WELCOME  # before the first: the welcome


def test_pause_remembers_the_page_and_the_check_in_resumes_there(
    client: TestClient, world: World, session: Session
) -> None:
    journey, registry, record = _journey(client, world, session)
    second = journey.answer(registry, record, 1, "next", {}, {}).page
    assert second is not None
    journey.reload()
    step = journey.answer(registry, record, second, "pause", {}, {})
    assert step.pause and step.page is None
    assert Journey(session, get_key_ring(), journey.screening, journey.instrument).start() == second


def test_answers_changed_meanwhile_are_a_conflict_and_the_page_again_keeps_what_the_youth_chose(
    client: TestClient, world: World, session: Session
) -> None:
    journey, registry, record = _journey(client, world, session)
    last = len(journey.pages)
    mine, theirs = _questions(journey.instrument, journey, last)[:2]
    bumped = update(Screening).where(col(Screening.id) == journey.screening.id).values(version=Screening.version + 1)
    session.exec(bumped.execution_options(synchronize_session=False))  # saved elsewhere
    with pytest.raises(Conflict):  # the service neither catches nor rolls back: the request does
        journey.answer(registry, record, last, "next", {mine: "yes", theirs: None}, {})
    session.rollback()
    step = journey.changed_meanwhile(last, "next", {mine: "yes", theirs: None})
    assert step.status_code == 409 and step.errors == {"_": "changed"} and step.page is None
    assert step.answers == {mine: "yes"} and mine in step.shown  # what the youth chose is still chosen
    assert step.is_last  # the last page still says Finish
    journey.reload()
    assert mine not in journey.answers  # nothing was saved


def test_the_last_page_finishes_the_check_in_and_ends_the_session(
    client: TestClient, world: World, session: Session
) -> None:
    journey, registry, record = _journey(client, world, session)
    number: int | None = 1
    step = None
    for _ in range(len(journey.pages)):
        assert number is not None
        step = journey.answer(registry, record, number, "skip_section", {}, {})
        journey.reload()
        if step.finished:
            break
        number = step.page
    assert step is not None and step.finished
    assert journey.screening.status == ScreeningStatus.completed
    assert record.ended_reason == "finished"


def test_still_true_choices_settle_only_the_pending_answers(client: TestClient, world: World, session: Session) -> None:
    journey, registry, _record = _journey(client, world, session)
    assert not journey.pending  # nothing carried from another program: the choices change nothing
    journey.settle(registry, {"not_an_item": "keep"})
    assert journey.answers == {} and journey.first() == 1
