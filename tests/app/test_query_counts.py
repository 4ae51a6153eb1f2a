"""Pages read in a constant number of queries whatever the number of rows [issue 14: "a list that issues one
query per row is a bug"]. Each test counts the statements a page runs at a few rows and at many."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.app.conftest import World, sign_in
from tests.app.sharing_support import add_youth, screen, side
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
