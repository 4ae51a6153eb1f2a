"""Pages read in a constant number of queries whatever the number of rows [issue 14: "a list that issues one
query per row is a bug"]. Each test counts the statements a page runs at a few rows and at many."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from app import access
from app.errors import NotFound
from app.models import YouthLink, utcnow
from app.models_sharing import Consent
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    KATHERINE,
    REVOKE_REASON,
    Side,
    add_youth,
    candidates,
    consent,
    ledger,
    link,
    screen,
    section,
    side,
    timeline_ids,
)
from tests.app.test_followup import POSSIBLE, RILEY, counting


def test_a_youth_record_costs_the_same_queries_whatever_its_screenings_and_possible_matches(
    client: TestClient, world: World, session: Session
) -> None:
    """Many records that may be the same youth (each offered as a possible match) and many screenings of the
    youth: the record page's queries stay the same (it once asked for each candidate's agencies one by one)."""
    a = side(client, world, "Northside Youth Services")
    sign_in(client, a.users["supervisor"])
    first = add_youth(client, a, "NS-000", RILEY)
    costs = []
    for start, end in ((1, 3), (3, 13)):
        for n in range(start, end):
            add_youth(client, a, f"NS-{n:03d}", RILEY)  # the same name and birth date: a possible match
            screen(client, a, first, POSSIBLE)
        with counting(session) as statements:
            page = client.get(f"/youth/{first}")
        assert page.status_code == 200
        costs.append(len(statements))
    assert page.text.count("/result") >= 12  # every screening listed
    assert costs[0] == costs[1], costs


def test_another_agency_s_shared_screenings_cost_the_same_queries_whatever_their_number(
    client: TestClient, world: World, session: Session
) -> None:
    """Each shared screening shown is written in the disclosure ledger; the entries of one page go to the database
    together (they were once flushed one by one, a statement per row)."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Shelter", "shelter")
    mine = add_youth(client, a, "NS-1", KATHERINE)
    theirs = add_youth(client, b, "ES-1", KATHERINE)
    consent(client, b, theirs, a)
    assert link(client, a, mine).status_code == 201
    sign_in(client, a.users["supervisor"])
    costs: dict[str, list[int]] = {"page": [], "timeline": []}
    for shared in (1, 7):
        while len(timeline_ids(client, a, mine)) < shared:
            screen(client, b, theirs)
        for name, url, headers in (
            ("page", f"/youth/{mine}", {}),
            ("timeline", f"/api/v1/youth/{mine}/timeline", a.api),
        ):
            with counting(session) as statements:
                assert client.get(url, headers=headers).status_code == 200
            costs[name].append(len(statements))
    assert len(ledger(world, a.agency.id)) >= 2 * (1 + 7)  # every view of every shared screening is in the ledger
    assert all(few == many for few, many in costs.values()), costs


def test_a_record_asked_for_by_every_section_of_a_page_is_decided_once_until_something_is_written(
    client: TestClient, world: World, session: Session
) -> None:
    """The sections of a youth's page each ask the one gate for the record: one query answers them all, and any
    write in between (which may change who may read what) makes the gate decide again."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Shelter", "shelter")
    youth_id = add_youth(client, a, "NS-1", KATHERINE)
    user = a.users["screener"]
    with counting(session) as statements:
        first = access.readable_youth(session, user, youth_id)
        assert access.readable_youth(session, user, youth_id) is first
    assert len(statements) == 1
    links = update(YouthLink).where(col(YouthLink.youth_id) == youth_id)
    session.exec(links.values(agency_id=b.agency.id))  # the record moves to another agency, by a bulk statement
    with pytest.raises(NotFound):
        access.readable_youth(session, user, youth_id)
    session.exec(links.values(agency_id=a.agency.id))
    assert access.readable_youth(session, user, youth_id) is first
    own = session.exec(select(YouthLink).where(YouthLink.youth_id == youth_id)).one()
    session.refresh(own)
    own.agency_id = b.agency.id  # and again, by a change to the loaded row
    session.flush()
    with pytest.raises(NotFound):
        access.readable_youth(session, user, youth_id)
    session.rollback()


def test_a_list_s_access_clause_built_once_still_reads_the_time_of_each_request(
    client: TestClient, world: World, session: Session
) -> None:
    """The clause that decides which screenings a user's lists show is built once and reused; a consent that ends
    between two requests (after the clause was built) stops showing at the very next one."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Shelter", "shelter")
    mine = add_youth(client, a, "NS-1", KATHERINE)
    theirs = add_youth(client, b, "ES-1", KATHERINE)
    released = consent(client, b, theirs, a)
    assert link(client, a, mine).status_code == 201
    shared = screen(client, b, theirs)["id"]
    assert shared in timeline_ids(client, a, mine)  # the clause is built here, at this moment
    row = session.get(Consent, released["id"])
    assert row is not None
    row.ends_at = utcnow()  # the release ends after that moment, before the next request
    session.commit()
    assert shared not in timeline_ids(client, a, mine)


def test_a_record_linked_at_many_programs_costs_the_same_queries_whatever_their_number(
    client: TestClient, world: World, session: Session
) -> None:
    """A youth known at many programs: a link this agency made and links others made to its record, consents
    given, received and revoked, victim-service providers. The record page reads them all in the same number of
    queries at three programs as at nine (it once asked for each link's consent, members and programs one by one,
    and loaded every agency three times)."""
    hub = side(client, world, "Northside Youth Services")
    first = side(client, world, "First Program")
    mine = add_youth(client, hub, "NS-1", KATHERINE)
    consent(client, first, add_youth(client, first, "FP-1", KATE), hub, categories=("result_summary",))
    assert link(client, hub, mine).status_code == 201  # the one link this agency makes
    costs = []
    for round_, letter in enumerate("ABC", start=1):
        giver = side(client, world, f"{letter} Giver Program")  # links to the hub's record, releases to it
        consent(client, hub, mine, giver, categories=("result_summary",))
        theirs = add_youth(client, giver, f"GV-{round_}", KATHERINE)
        _link_to(client, giver, theirs)
        consent(client, giver, theirs, hub, categories=("result_summary",))
        screen(client, giver, theirs)
        taker = side(client, world, f"{letter} Taker Program")  # links to the hub's record, releases nothing
        consent(client, hub, mine, taker, categories=("result_summary",))
        _link_to(client, taker, add_youth(client, taker, f"TK-{round_}", KATE))
        shelter = side(client, world, f"{letter} Safe Shelter", "victim_service")  # released to the hub, revoked
        consent(client, hub, mine, shelter, categories=("result_summary",))
        sheltered = add_youth(client, shelter, f"SH-{round_}", KATHERINE)
        _link_to(client, shelter, sheltered)
        revoked = consent(client, shelter, sheltered, hub, categories=("notes",))
        revoking = client.post(
            f"/api/v1/consents/{revoked['id']}/revoke", headers=shelter.api, json={"reason": REVOKE_REASON}
        )
        assert revoking.status_code == 200, revoking.text
        sign_in(client, hub.users["supervisor"])
        with counting(session) as statements:
            page = client.get(f"/youth/{mine}")
        assert page.status_code == 200
        costs.append(len(statements))
        links_shown = section(page.text, "links")
        assert "FP-1" in links_shown
        for seen in "ABC"[:round_]:
            assert f"{seen} Giver Program" in links_shown and f"{seen} Taker Program" in links_shown
            assert f"{seen} Safe Shelter" in links_shown  # named: it gave the hub a consent (now revoked)
        assert all(f"GV-{n}" in links_shown for n in range(1, round_ + 1))  # each giver's case number shows
        assert not any(f"{kind}-{n}" in links_shown for kind in ("TK", "SH") for n in range(1, round_ + 1))
    assert costs[0] == costs[2], costs


def _link_to(client: TestClient, at: Side, youth_id: str) -> None:
    """Link a record to the person among its possible matches that `at` may link to (a possible match it holds
    no consent for is refused)."""
    for handle in candidates(client, at, youth_id):
        made = client.post(f"/api/v1/youth/{youth_id}/links", headers=at.api, json={"candidate": handle})
        if made.status_code == 201:
            return
    raise AssertionError(f"no possible match of {youth_id} could be linked")
