"""The reports' one flow (app.reports.service), as the API, the page, the CSV and the JSON reach it: the same
role check before anything else, the same filters, and one audit event per report given, naming its format."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import AuditEvent
from tests.app.conftest import World, bearer, sign_in

BAD = "date_from=2026-13&instrument_id=nothing"


def formats_audited(session: Session) -> list[str]:
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "report.aggregate").order_by(col(AuditEvent.seq))
    )
    return [event.detail["format"] for event in events]


def test_every_way_in_audits_the_report_it_gives_once(client: TestClient, world: World, session: Session) -> None:
    supervisor = world.user(world.agency(), "supervisor")
    api = bearer(client, supervisor)
    assert client.get("/api/v1/reports/aggregate?date_from=2026-01", headers=api).status_code == 200
    sign_in(client, supervisor)
    for path in ("/reports", "/reports.csv", "/reports.json"):
        assert client.get(path + "?date_from=2026-01").status_code == 200, path
    assert formats_audited(session) == ["api", "html", "csv", "json"]
    event = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "report.aggregate")
    ).first()
    assert event is not None and event.detail["date_from"] == "2026-01" and event.actor_id == supervisor.id


def test_invalid_filters_are_refused_by_the_files_and_the_api_and_shown_by_the_page(
    client: TestClient, world: World, session: Session
) -> None:
    supervisor = world.user(world.agency(), "supervisor")
    answered = client.get(f"/api/v1/reports/aggregate?{BAD}", headers=bearer(client, supervisor))
    assert answered.status_code == 400
    assert set(answered.json()["detail"]) == {"date_from", "instrument_id"}
    sign_in(client, supervisor)
    for path in ("/reports.csv", "/reports.json"):
        assert client.get(f"{path}?{BAD}").status_code == 400, path
    page = client.get(f"/reports?{BAD}")
    assert page.status_code == 400 and "Enter a month, for example 2026-01." in page.text
    assert formats_audited(session) == ["html"]  # only the page gave a report (of the valid filters)


def test_a_screener_is_refused_before_the_filters_are_read(client: TestClient, world: World, session: Session) -> None:
    screener = world.user(world.agency(), "screener")
    assert client.get(f"/api/v1/reports/aggregate?{BAD}", headers=bearer(client, screener)).status_code == 403
    sign_in(client, screener)
    for path in ("/reports", "/reports.csv", "/reports.json"):
        assert client.get(f"{path}?{BAD}").status_code == 403, path
    assert formats_audited(session) == []
