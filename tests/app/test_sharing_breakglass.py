"""Break-glass: a supervisor's reasoned, time-limited, audited access; and undoing a wrong link.
[DESIGN §7; SECURITY.md Access 1-2]"""

from __future__ import annotations

import html
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import utcnow
from app.models_sharing import BreakGlass
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    REASON,
    REVOKE_REASON,
    add_youth,
    candidates,
    consent,
    link,
    screen,
    section,
    side,
    timeline_ids,
)


def test_a_supervisor_breaks_glass_it_expires_and_the_other_agency_sees_it(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    done = screen(client, a, add_youth(client, a, "NS-1"))
    youth_b = add_youth(client, b, "ES-1", KATE)

    short = link(client, b, youth_b, "supervisor", {"reason": "urgent", "hours": 4})
    assert short.status_code == 422  # a written reason of at least 20 characters
    made = link(client, b, youth_b, "supervisor", {"reason": REASON, "hours": 4})
    assert made.status_code == 201, made.text
    assert made.json()["break_glass_id"] and made.json()["consent_id"] is None

    supervisor = b.headers("supervisor")
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=supervisor).status_code == 200
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 404  # one user's
    sign_in(client, b.users["supervisor"])
    assert client.get(f"/screenings/{done['id']}/result").status_code == 200
    lines = client.get(f"/api/v1/youth/{youth_b}/disclosures", headers=supervisor).json()
    assert {line["break_glass_id"] for line in lines} == {made.json()["break_glass_id"]}
    assert {line["consent_id"] for line in lines} == {None}
    assert "Emergency access (break glass)" in client.get(f"/youth/{youth_b}/disclosures").text

    sign_in(client, a.users["agency_admin"])
    review = client.get("/admin/break-glass")
    assert review.status_code == 200
    text = html.unescape(review.text)
    assert REASON in text and "Test supervisor (Supervisor)" in text and "Eastside Child Welfare" in text
    assert f"<td>{len(lines)}</td>" in review.text
    sign_in(client, b.users["agency_admin"])
    assert REASON not in html.unescape(client.get("/admin/break-glass").text)  # nothing reached B's records
    sign_in(client, a.users["screener"])
    assert client.get("/admin/break-glass").status_code == 403

    glass = world.session.exec(select(BreakGlass)).one()
    glass.expires_at = utcnow() - timedelta(minutes=1)
    world.session.add(glass)
    world.session.commit()
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=supervisor).status_code == 404


def test_a_screener_cannot_break_glass(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    done = screen(client, a, add_youth(client, a, "NS-1"))
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b, "screener", {"reason": REASON, "hours": 4}).status_code == 403
    opened = client.post(f"/api/v1/youth/{youth_b}/break-glass", headers=b.api, json={"reason": REASON, "hours": 4})
    assert opened.status_code == 403
    csrf = sign_in(client, b.users["screener"])
    (handle,) = candidates(client, b, youth_b)
    page = client.post(
        f"/youth/{youth_b}/links",
        data={"csrf_token": csrf, "candidate": handle, "mode": "break_glass", "reason": REASON, "hours": "4"},
    )
    assert page.status_code == 403
    assert world.session.exec(select(BreakGlass)).all() == []
    assert client.get(f"/screenings/{done['id']}/result").status_code == 404


def test_break_glass_on_the_pages_for_a_supervisor(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    given = consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    csrf = sign_in(client, b.users["supervisor"])
    page = client.get(f"/youth/{youth_b}").text
    notice = section(page, "possible-matches")
    assert "Break glass" in notice and 'name="reason"' in notice and 'value="24"' in notice
    assert link(client, b, youth_b, "supervisor").status_code == 201  # a consent exists: no glass needed
    revoked = client.post(f"/api/v1/consents/{given['id']}/revoke", headers=a.api, json={"reason": REVOKE_REASON})
    assert revoked.status_code == 200
    ended = client.get(f"/screenings/{done['id']}/result")  # B knew of the consent: it is told that it ended
    assert ended.status_code == 403 and "Northside Youth Services stopped sharing on" in ended.text

    too_short = client.post(f"/youth/{youth_b}/break-glass", data={"csrf_token": csrf, "reason": "now"})
    assert too_short.status_code == 400 and "at least 20 characters" in too_short.text
    assert "hours" not in too_short.text.split("<main", 1)[1]  # only the field that is wrong is named
    both = client.post(f"/youth/{youth_b}/break-glass", data={"csrf_token": csrf, "reason": "now", "hours": "99"})
    assert both.status_code == 400 and "at least 20 characters" in both.text and "from 1 to 72" in both.text
    opened = client.post(
        f"/youth/{youth_b}/break-glass", data={"csrf_token": csrf, "reason": REASON}, follow_redirects=False
    )
    assert opened.status_code == 303
    glass = world.session.exec(select(BreakGlass)).one()
    assert timedelta(hours=23) < glass.expires_at - glass.started_at <= timedelta(hours=24)  # the default
    assert client.get(f"/screenings/{done['id']}/result").status_code == 200


def test_undoing_a_link_removes_access(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    made = link(client, b, youth_b).json()
    assert timeline_ids(client, b, youth_b) == [done["id"]]
    assert client.post(f"/api/v1/links/{made['id']}/undo", headers=a.api).status_code == 404  # B's link, not A's

    csrf = sign_in(client, b.users["screener"])
    assert client.get(f"/screenings/{done['id']}/result").status_code == 200
    undone = client.post(f"/links/{made['id']}/undo", data={"csrf_token": csrf}, follow_redirects=False)
    assert undone.status_code == 303 and undone.headers["location"] == f"/youth/{youth_b}#sharing"
    assert client.get(f"/screenings/{done['id']}/result").status_code == 404
    assert timeline_ids(client, b, youth_b) == []
    assert len(candidates(client, b, youth_b)) == 1  # a possible match again, to link again if it was right
    links = section(client.get(f"/youth/{youth_b}").text, "links")
    assert "Undone" in links and "Undo link" not in links
    assert client.post(f"/api/v1/links/{made['id']}/undo", headers=b.api).status_code == 404
