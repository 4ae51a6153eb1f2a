"""Follow-up due dates (issue 11, part 4): "next steps that say 'screen again within N days' set a due date
on the youth's record; the dashboard lists youth due or overdue for re-screening."

Completing a screening stores its completion day plus the soonest `screen_again` of its overall level's
next steps (the bundled practitioner rating 1.3.0: 30 days after a possible concern or too little known,
none after a clear concern); a correction that changes the level moves it. The youth's page says
"Screen again by <date>" (and "overdue since <date>") while no screening of the youth was started at the
agency after that one; the dashboard lists the agency's own youth due within 7 days or overdue, oldest
due first, in a constant number of queries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Screening
from tests.app.conftest import World
from tests.app.sharing_support import PRACTITIONER, Side, add_youth, screen, side

POSSIBLE = {"rate_coercion_debt": "possible_concern"}  # a key line possibly of concern: possible concern
CLEAR = {"rate_coercion_debt": "clear_concern"}  # a key line clearly of concern: clear concern


def stored(session: Session, screening_id: str) -> Screening:
    session.expire_all()
    row = session.get(Screening, screening_id)
    assert row is not None
    return row


# ---- the due date is stored when a screening completes, and moves with a correction ----


def test_completing_a_screening_whose_level_says_screen_again_stores_its_due_date(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-1"), POSSIBLE)
    assert done["overall_level"] == "possible_concern" and done["instrument_version"] == "1.3.0"
    row = stored(session, done["id"])
    assert row.completed_at is not None
    assert row.rescreen_due_on == row.completed_at.date() + timedelta(days=30)  # "Rate again within 30 days"
    assert row.rescreen_instrument_id == PRACTITIONER


def test_a_level_whose_next_steps_set_no_date_stores_none(client: TestClient, world: World, session: Session) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-1"), CLEAR)
    assert done["overall_level"] == "clear_concern"  # safety, a report and a referral: not a date
    row = stored(session, done["id"])
    assert (row.rescreen_due_on, row.rescreen_instrument_id) == (None, None)


def test_a_screening_under_a_version_without_screen_again_stores_none(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    body = {"youth_id": youth_id, "instrument_id": PRACTITIONER, "instrument_version": "1.2.0", "mode": "practitioner"}
    started = client.post("/api/v1/screenings", headers=a.api, json=body)
    assert started.status_code == 201, started.text
    saved = client.put(
        f"/api/v1/screenings/{started.json()['id']}/answers",
        headers=a.api,
        json={"version": started.json()["version"], "answers": POSSIBLE},
    )
    done = client.post(
        f"/api/v1/screenings/{started.json()['id']}/complete", headers=a.api, json={"version": saved.json()["version"]}
    )
    assert done.json()["overall_level"] == "possible_concern"
    assert stored(session, done.json()["id"]).rescreen_due_on is None  # its next steps say no date


def amend(client: TestClient, at: Side, screening_id: str, answers: dict[str, Any]) -> None:
    version = client.get(f"/api/v1/screenings/{screening_id}", headers=at.api).json()["version"]
    body = {"version": version, "answers": answers, "reason": "The debt line was rated for a different youth"}
    response = client.post(f"/api/v1/screenings/{screening_id}/revisions", headers=at.api, json=body)
    assert response.status_code in (200, 201), response.text


def test_a_correction_that_changes_the_level_moves_the_due_date_counted_from_completion(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-1"), CLEAR)
    assert stored(session, done["id"]).rescreen_due_on is None
    amend(client, a, done["id"], POSSIBLE)
    row = stored(session, done["id"])
    assert row.overall_level == "possible_concern" and row.completed_at is not None
    assert row.rescreen_due_on == row.completed_at.date() + timedelta(days=30)
    amend(client, a, done["id"], CLEAR)
    assert stored(session, done["id"]).rescreen_due_on is None
