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

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from app import crypto
from app.main import loaded_instruments
from app.models import Screening, User, utcnow
from app.screenings import followup
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import KATE, KATHERINE, PRACTITIONER, SELF_REPORT, Side, add_youth, screen, side, start

POSSIBLE = {"rate_coercion_debt": "possible_concern"}  # a key line possibly of concern: possible concern
CLEAR = {"rate_coercion_debt": "clear_concern"}  # a key line clearly of concern: clear concern
RILEY = {"given_name": "Riley", "family_name": "Okafor", "birth_date": "2011-07-21"}
SAM = {"given_name": "Sam", "family_name": "Delacroix", "birth_date": "2010-01-15"}


def stored(session: Session, screening_id: str) -> Screening:
    session.expire_all()
    row = session.get(Screening, screening_id)
    assert row is not None
    return row


def due_in(session: Session, screening_id: str, days: int) -> date:
    """Make a completed screening's due date fall `days` from today (negative: overdue), as if it had been
    completed earlier: the completion moves with it, so the 30-day rule still holds."""
    row = stored(session, screening_id)
    assert row.completed_at is not None and row.rescreen_due_on is not None
    shift = row.rescreen_due_on - (utcnow().date() + timedelta(days=days))
    row.completed_at -= shift
    row.started_at -= shift
    row.rescreen_due_on -= shift
    session.add(row)
    session.commit()
    return row.rescreen_due_on


def text_of(page: str) -> str:
    """What a person reads: tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def youth_page(client: TestClient, at: Side, youth_id: str) -> str:
    sign_in(client, at.users["screener"])
    page = client.get(f"/youth/{youth_id}")
    assert page.status_code == 200, page.text
    return text_of(page.text)


def due_rows(client: TestClient, at: Side) -> list[str]:
    """The rows of the dashboard's due list, as read."""
    sign_in(client, at.users["screener"])
    page = client.get("/")
    assert page.status_code == 200, page.text
    if 'id="due"' not in page.text:
        return []
    section = page.text[page.text.index('id="due"') : page.text.index("</section>", page.text.index('id="due"'))]
    return [text_of(row) for row in re.findall(r"<tr>\s*<td>.*?</tr>", section, flags=re.S)]


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


# ---- the youth's page ----


def test_the_youth_page_says_when_to_screen_again_and_when_it_is_overdue(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_id, POSSIBLE)
    due = stored(session, done["id"]).rescreen_due_on
    assert due is not None
    page = youth_page(client, a, youth_id)
    assert f"Screen again by {due.isoformat()} with Practitioner indicator rating" in page
    assert "overdue" not in page

    overdue = due_in(session, done["id"], -3)
    page = youth_page(client, a, youth_id)
    assert f"Screen again by {overdue.isoformat()}" in page and f"overdue since {overdue.isoformat()}" in page

    due_in(session, done["id"], 0)  # due today: not yet overdue
    assert "overdue" not in youth_page(client, a, youth_id)


def test_the_youth_page_reads_in_spanish(client: TestClient, world: World, session: Session) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    overdue = due_in(session, screen(client, a, youth_id, POSSIBLE)["id"], -1)
    a.users["screener"].language = "es"
    session.add(a.users["screener"])
    session.commit()
    page = youth_page(client, a, youth_id)
    assert f"Vuelva a evaluar con Calificación de indicadores por el/la profesional a más tardar el {overdue}" in page
    assert f"plazo vencido desde el {overdue.isoformat()}" in page


def test_a_screening_started_later_settles_the_date_whatever_its_instrument(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    due_in(session, screen(client, a, youth_id, POSSIBLE)["id"], -2)
    assert "Screen again by" in youth_page(client, a, youth_id) and len(due_rows(client, a)) == 1
    start(client, a, youth_id, SELF_REPORT, "interview")  # the re-screen has begun (a draft, another instrument)
    assert "Screen again by" not in youth_page(client, a, youth_id)
    assert due_rows(client, a) == []


def test_the_latest_completed_screening_decides(client: TestClient, world: World, session: Session) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    screen(client, a, youth_id, POSSIBLE)
    screen(client, a, youth_id, CLEAR)  # the re-rating found a clear concern: no date
    assert "Screen again by" not in youth_page(client, a, youth_id)
    again = screen(client, a, youth_id, POSSIBLE)  # and a later possible concern sets its own
    due = stored(session, again["id"]).rescreen_due_on
    assert due is not None and f"Screen again by {due.isoformat()}" in youth_page(client, a, youth_id)


def test_a_discarded_draft_does_not_settle_the_date(client: TestClient, world: World, session: Session) -> None:
    """Nobody screened the youth: a draft started by mistake and discarded leaves the date standing."""
    a = side(client, world, "Northside Youth Services")
    youth_id = add_youth(client, a, "NS-1")
    overdue = due_in(session, screen(client, a, youth_id, POSSIBLE)["id"], -2)
    draft = start(client, a, youth_id, PRACTITIONER, "practitioner")
    body = {"version": draft["version"], "reason": "Started for the wrong youth by mistake"}
    discarded = client.post(f"/api/v1/screenings/{draft['id']}/discard", headers=a.api, json=body)
    assert discarded.status_code == 200, discarded.text
    assert f"overdue since {overdue.isoformat()}" in youth_page(client, a, youth_id)


def test_the_same_person_s_record_at_another_agency_neither_sets_nor_settles_a_date_here(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Harbor House", "shelter")
    ours = add_youth(client, a, "NS-1")
    theirs = add_youth(client, b, "HH-1", KATE)  # the same person, Harbor's own record
    due_in(session, screen(client, b, theirs, POSSIBLE)["id"], -5)
    assert "Screen again by" not in youth_page(client, a, ours)
    assert due_rows(client, a) == []
    mine = due_in(session, screen(client, a, ours, POSSIBLE)["id"], 2)
    start(client, b, theirs, PRACTITIONER, "practitioner")  # Harbor screens its youth again
    assert f"Screen again by {mine.isoformat()}" in youth_page(client, a, ours)
    assert followup.due_for_youth(session, loaded_instruments(), a.users["screener"], theirs) is None


def _screening_elsewhere(session: Session, youth_id: str, at: Side, *, due: date | None, done: bool) -> None:
    """A screening of `youth_id` by another agency, written directly: records are per agency today, so no
    route makes one, but the rule must not depend on that (only the agency's own screenings count)."""
    now, compiled = utcnow(), loaded_instruments().get(PRACTITIONER, "1.3.0")
    assert compiled is not None
    row = Screening(
        youth_id=youth_id,
        agency_id=at.agency.id,
        instrument_id=PRACTITIONER,
        instrument_version="1.3.0",
        content_hash=compiled.content_hash,
        mode="practitioner",
        language="en",
        started_by=at.users["screener"].id,
        status="completed" if done else "in_progress",
        completed_at=now if done else None,
        overall_level="possible_concern" if done else None,
        rescreen_due_on=due,
        rescreen_instrument_id=PRACTITIONER if due else None,
    )
    session.add(row)
    session.commit()


def test_only_the_agency_s_own_screenings_of_a_youth_set_or_settle_its_date(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Harbor House", "shelter")
    ours = add_youth(client, a, "NS-1")
    _screening_elsewhere(session, ours, b, due=utcnow().date() - timedelta(days=3), done=True)
    assert "Screen again by" not in youth_page(client, a, ours) and due_rows(client, a) == []

    mine = due_in(session, screen(client, a, ours, POSSIBLE)["id"], -1)
    _screening_elsewhere(session, ours, b, due=None, done=False)  # started after ours, by the other agency
    assert f"overdue since {mine.isoformat()}" in youth_page(client, a, ours)
    assert [r.split(" (")[0] for r in due_rows(client, a)] == ["Katherine Nowak"]


# ---- the dashboard ----


def test_the_dashboard_lists_youth_due_within_a_week_or_overdue_oldest_first(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Harbor House", "shelter")
    people = {"NS-1": KATHERINE, "NS-2": RILEY, "NS-3": SAM, "NS-4": KATE}
    ids = {case: add_youth(client, a, case, who) for case, who in people.items()}
    overdue = due_in(session, screen(client, a, ids["NS-1"], POSSIBLE)["id"], -10)
    soon = due_in(session, screen(client, a, ids["NS-2"], POSSIBLE)["id"], 7)  # the last day of the week ahead
    due_in(session, screen(client, a, ids["NS-3"], POSSIBLE)["id"], 8)  # not yet: past the week ahead
    screen(client, a, ids["NS-4"], CLEAR)  # no date at all
    elsewhere = add_youth(client, b, "HH-1", SAM)
    due_in(session, screen(client, b, elsewhere, POSSIBLE)["id"], -1)  # Harbor's youth: not Northside's list

    rows = due_rows(client, a)
    assert rows == [
        f"Katherine Nowak (NS-1) {overdue.isoformat()} overdue Practitioner indicator rating",
        f"Riley Okafor (NS-2) {soon.isoformat()} Practitioner indicator rating",
    ]
    page = client.get("/").text
    assert f'href="/youth/{ids["NS-1"]}"' in page and f'href="/youth/{ids["NS-2"]}"' in page
    assert page.index('id="due"') < page.index('class="filters"')  # near the top, before the recent screenings
    assert "Sam Delacroix" not in page[page.index('id="due"') : page.index("</section>", page.index('id="due"'))]
    assert [r.split(" (")[0] for r in due_rows(client, b)] == ["Sam Delacroix"]  # Harbor sees its own


def test_nothing_due_lists_nothing(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    screen(client, a, add_youth(client, a, "NS-1"), POSSIBLE)  # due in 30 days
    sign_in(client, a.users["screener"])
    page = client.get("/")
    assert page.status_code == 200 and 'id="due"' not in page.text and "Due for screening again" not in page.text


@contextmanager
def counting(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _overdue_youth(client: TestClient, session: Session, at: Side, first: int, last: int) -> None:
    for n in range(first, last):
        youth_id = add_youth(client, at, f"NS-{n:03d}", {**RILEY, "family_name": f"Example{n}"})
        due_in(session, screen(client, at, youth_id, POSSIBLE)["id"], -n)


def test_the_due_list_costs_the_same_queries_whatever_the_number_of_youth(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    user: User = a.users["screener"]
    keys, registry = crypto.get_key_ring(), loaded_instruments()

    def costs(count: int) -> tuple[int, int]:
        session.refresh(user)  # loaded now, not inside the count (the arranging expired it)
        with counting(session) as direct:
            listed = followup.due_list(session, keys, registry, user)
        assert len(listed.due) == count and all(d.youth is not None for d in listed.due)
        sign_in(client, user)
        with counting(session) as page:
            assert client.get("/").status_code == 200
        due_queries = [s for s in page if "later_screening" in s]  # the alias of the "started after it" test
        assert len(due_rows(client, a)) == count
        return len(direct), len(due_queries)

    _overdue_youth(client, session, a, 1, 3)
    few = costs(2)
    _overdue_youth(client, session, a, 3, 9)
    assert costs(8) == few == (1, 1)


def test_the_list_is_cut_short_and_says_so(client: TestClient, world: World, session: Session) -> None:
    a = side(client, world, "Northside Youth Services")
    _overdue_youth(client, session, a, 1, 4)
    listed = followup.due_list(session, crypto.get_key_ring(), loaded_instruments(), a.users["screener"], limit=2)
    assert [d.youth.family_name for d in listed.due if d.youth] == ["Example3", "Example2"]  # oldest due first
    assert listed.more is True


def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_screenings(
    client: TestClient, world: World, session: Session
) -> None:
    """Recent screenings list each youth from the one query that brings the screenings (issue 14: no query per
    row); the page then names every youth it lists."""
    a = side(client, world, "Northside Youth Services")
    sign_in(client, a.users["screener"])
    costs = []
    for first, last in ((0, 2), (2, 14)):
        for n in range(first, last):
            youth_id = add_youth(client, a, f"NS-{n:03d}", {**RILEY, "family_name": f"Example{n}"})
            screen(client, a, youth_id, POSSIBLE)
        with counting(session) as statements:
            page = client.get("/")
        assert page.status_code == 200
        assert all(f"Example{n}" in page.text for n in range(last))
        costs.append(len(statements))
    assert costs[0] == costs[1], costs
