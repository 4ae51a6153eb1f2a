"""Denied cross-agency reads leave a trace an admin can see, while the answer stays "not found" (SECURITY.md 1).

An outside probe sent 6,000 requests for other agencies' records and left nothing in the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import httpx2 as httpx  # the test client's HTTP library
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from app import access, audit, crypto, db
from app.accounts import sessions
from app.errors import NotFound
from app.main import loaded_instruments
from app.models import Agency, AuditEvent, User
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import ScreeningCreate
from app.settings import get_settings
from tests.app.conftest import World

MISSING_ID = "0" * 32


@dataclass
class Scene:
    north: Agency
    east: Agency
    screener: User  # North's
    north_youth: str
    north_screening: str
    prober: User
    prober_api: dict[str, str]
    prober_web: str


def _scene(session: Session, world: World) -> Scene:
    north, east = world.agency("North"), world.agency("East")
    screener, prober = world.user(north, "screener"), world.user(east, "screener")
    keys, settings = crypto.get_key_ring(), get_settings()
    data = YouthCreate(given_name="Avery", family_name="Canarylast", birth_date=date(2010, 4, 2), case_number="N-1")
    youth = records.create(session, keys, screener, data)
    started = ScreeningCreate(youth_id=youth.id, instrument_id="tellonce-practitioner-indicators", mode="practitioner")  # type: ignore[arg-type]
    screening = screenings.start(session, keys, loaded_instruments(), screener, started)
    api = {"Authorization": f"Bearer {sessions.start(session, prober, 'api', settings)}"}
    web = sessions.start(session, prober, "web", settings)
    session.commit()
    return Scene(north, east, screener, youth.id, screening.id, prober, api, web)


def _denials(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == audit.DENIED)))


def _same(denied: httpx.Response, missing: httpx.Response, target: str) -> None:
    """Byte for byte the answer about an id that does not exist (a page repeats the id it was asked for)."""
    assert denied.status_code == missing.status_code == 404
    assert denied.content.replace(target.encode(), MISSING_ID.encode()) == missing.content
    assert denied.headers.items() == missing.headers.items()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v1/youth/{youth}", "youth"),  # readable_youth
        ("/api/v1/screenings/{screening}", "screening"),  # writable_screening
        ("/screenings/{screening}/result", "screening"),  # decide, behind the "consent ended" explanation
    ],
)
def test_a_denied_read_is_audited_once_and_answers_like_a_missing_id(
    client: TestClient, session: Session, world: World, path: str, kind: str
) -> None:
    scene = _scene(session, world)
    client.cookies.set("tellonce_session", scene.prober_web)
    target = scene.north_youth if kind == "youth" else scene.north_screening
    before = {e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))}

    denied = client.get(path.format(youth=target, screening=target), headers=scene.prober_api)
    missing = client.get(path.format(youth=MISSING_ID, screening=MISSING_ID), headers=scene.prober_api)

    _same(denied, missing, target)
    events = _denials(session)
    assert [(e.object_type, e.object_id, e.outcome) for e in events] == [
        (kind, target, "denied"),
        (kind, MISSING_ID, "missing"),
    ]
    first = events[0]
    assert (first.actor_id, first.agency_id, first.chain) == (scene.prober.id, scene.prober.agency_id, first.agency_id)
    assert first.detail == {} and "Avery" not in json.dumps(first.model_dump(mode="json"))
    assert {e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))} == before | {
        audit.DENIED
    }  # nothing else kept
    assert audit.verify(session) is None


def test_what_a_prober_types_in_place_of_an_id_is_not_stored(
    client: TestClient, session: Session, world: World
) -> None:
    scene = _scene(session, world)
    response = client.get("/api/v1/youth/Avery%20Canarylast%20born%202010", headers=scene.prober_api)
    assert response.status_code == 404
    (denial,) = _denials(session)
    assert (denial.object_id, denial.outcome) == (None, "missing")


def test_a_rolled_back_request_keeps_only_its_denied_read(session: Session, world: World) -> None:
    """The request's session: its work (and that work's audit) rolls back with the 404; the denial stays."""
    scene = _scene(session, world)
    request = db.get_session()
    request_db = next(request)
    audit.record(request_db, "test.work_undone", actor_id=scene.prober.id, agency_id=scene.prober.agency_id)
    with pytest.raises(NotFound) as raised:
        access.readable_youth(request_db, scene.prober, scene.north_youth)
    with pytest.raises(NotFound):
        request.throw(raised.value)
    assert [e.outcome for e in _denials(session)] == ["denied"]
    assert (
        session.exec(
            select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "test.work_undone")
        ).all()
        == []
    )
    assert audit.verify(session) is None


def test_a_question_about_access_is_not_a_denied_read(session: Session, world: World) -> None:
    scene = _scene(session, world)
    assert not access.may_read(session, scene.prober, scene.north_screening, access.Category.result_summary)
    session.commit()
    assert _denials(session) == []


# The admins' page ---------------------------------------------------------------------------------------


def _page(client: TestClient, session: Session, user: User) -> str:
    client.cookies.set("tellonce_session", sessions.start(session, user, "web", get_settings()))
    session.commit()
    response = client.get("/admin/denials")
    assert response.status_code == 200, response.text
    return response.text


def test_the_denials_page_flags_a_prober_to_the_right_admins(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELLONCE_DENIAL_ALERT_PER_DAY", "3")
    get_settings.cache_clear()
    scene = _scene(session, world)
    north_user = scene.screener
    for target in (scene.north_youth, MISSING_ID, scene.north_youth, "1" * 32):  # 4 denials, 3 distinct objects
        assert client.get(f"/api/v1/youth/{target}", headers=scene.prober_api).status_code == 404
    neighbour = {"Authorization": f"Bearer {sessions.start(session, north_user, 'api', get_settings())}"}
    session.commit()
    assert client.get(f"/api/v1/youth/{MISSING_ID}", headers=neighbour).status_code == 404  # 1: below the level

    system_admin = world.user(scene.north, "system_admin", "root@example.org")
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        everyone = _page(client, session, system_admin)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sum("audit_event" in s for s in statements) == 1  # one query for the whole page
    prober_row = everyone[everyone.index(scene.prober.email) :].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in prober_row.split("<td>")[1:6]] == ["East", "4", "3", "4", "3"]
    assert "Above the alert level" in prober_row
    assert everyone.index(scene.prober.email) < everyone.index(north_user.email)  # most denials first
    assert everyone.count("Above the alert level") == 1

    north_admin = world.user(scene.north, "agency_admin")
    own_only = _page(client, session, north_admin)
    assert north_user.email in own_only and scene.prober.email not in own_only

    east_admin = world.user(scene.east, "agency_admin")
    east_admin.language = "es"
    session.add(east_admin)
    session.commit()
    spanish = _page(client, session, east_admin)
    assert scene.prober.email in spanish and north_user.email not in spanish
    assert "Lecturas denegadas" in spanish and "Por encima del nivel de alerta" in spanish
    get_settings.cache_clear()


def test_only_admins_see_denial_rates(client: TestClient, session: Session, world: World) -> None:
    screener = world.user(world.agency(), "screener")
    client.cookies.set("tellonce_session", sessions.start(session, screener, "web", get_settings()))
    session.commit()
    assert client.get("/admin/denials").status_code == 403
