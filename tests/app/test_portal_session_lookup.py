"""The youth session a cookie names, looked up by the portal service (not by the routes): the quick exit ends it,
and the last page finds the finished check-in's program, and nothing for a session that did not finish."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Agency, Screening, YouthSession
from app.portal import service
from app.portal.pages import COOKIE
from tests.app.conftest import World
from tests.app.test_portal import issue_link, self_screening


def _opened(client: TestClient, world: World, session: Session) -> tuple[str, YouthSession]:
    screening_id, _auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    client.cookies.clear()
    assert client.post("/go", data={"code": code, "link_token": link}).status_code == 200
    token = client.cookies.get(COOKIE)
    assert token
    return token, session.exec(select(YouthSession).where(YouthSession.screening_id == screening_id)).one()


def test_the_quick_exit_ends_the_session_its_cookie_names_and_ignores_any_other(
    client: TestClient, world: World, session: Session
) -> None:
    token, record = _opened(client, world, session)
    service.leave(session, None)
    service.leave(session, "not-a-token")
    assert service.session_of(session, token) is record and record.ended_at is None
    service.leave(session, token)
    assert record.ended_at is not None and record.ended_reason == "exit"
    service.leave(session, token)  # twice: still the first exit
    assert record.ended_reason == "exit"


def test_the_last_page_finds_the_program_only_of_a_finished_check_in(
    client: TestClient, world: World, session: Session
) -> None:
    token, record = _opened(client, world, session)
    assert service.finished(session, token) is None  # still open: no program's resources
    assert service.finished(session, None) is None
    service.end(session, record, "finished")
    finished = service.finished(session, token)
    assert finished is not None and finished.screening.id == record.screening_id
    assert finished.agency is not None and finished.agency.id == finished.screening.agency_id
    assert not finished.handed_over  # a private link: the youth keeps their own device


def test_a_youth_who_left_by_the_quick_exit_sees_no_programs_resources(
    client: TestClient, world: World, session: Session
) -> None:
    token, record = _opened(client, world, session)
    screening = session.get(Screening, record.screening_id)
    agency = session.get(Agency, screening.agency_id) if screening else None
    assert agency is not None
    agency.resources = {"en": ["Call 555-0100 any time"]}
    session.add(agency)
    session.commit()
    assert client.post("/exit", follow_redirects=False).status_code == 303
    assert service.finished(session, token) is None
    client.cookies.set(COOKIE, token)  # the exit cleared it; a page that still sends it learns nothing
    done = client.get("/s/done")
    assert done.status_code == 200 and "555-0100" not in done.text
