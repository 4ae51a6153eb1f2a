"""Staff find their own agency's youth by name or part of a case number, never another agency's (issue 10, 4).

The search runs on keyed blind indexes scoped to the agency's link (app.records.search): the page and the
API list the same youth, a query too short to search by is refused, records from before search existed
are found once the backfill ran, and a list costs the same number of queries whatever its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, delete, select
from typer.testing import CliRunner

from app import crypto
from app.cli import cli
from app.models import Agency, AuditEvent, User, Youth, YouthLink, YouthSearchKey
from app.records import service as records
from app.records.schemas import YouthCreate, YouthSearch
from tests.app.accounts_support import dump_table
from tests.app.conftest import World, bearer, sign_in

# Synthetic people only.
PEOPLE = [
    ("José", "Álvarez-Núñez", "RB-1001"),
    ("Avery", "Lindquist", "RB-1002"),
    ("Jordan", "Avila", "HB-2001"),
    ("Sam", "O'Brien", "7"),
]


def _add(session: Session, user: User, given: str, family: str, case: str) -> Youth:
    data = YouthCreate(given_name=given, family_name=family, birth_date=date(2010, 4, 2), case_number=case)
    youth = records.create(session, crypto.get_key_ring(), user, data)
    session.commit()
    return youth


def _people(session: Session, world: World, agency: Agency | None = None) -> tuple[User, dict[str, str]]:
    user = world.user(agency or world.agency())
    return user, {given: _add(session, user, given, family, case).id for given, family, case in PEOPLE}


def _api(client: TestClient, headers: dict[str, str], q: str) -> list[str]:
    response = client.post("/api/v1/youth/find", headers=headers, json={"q": q})
    assert response.status_code == 200, (q, response.text)
    return [y["given_name"] for y in response.json()["youth"]]


def _page(client: TestClient, csrf: str, q: str) -> str:
    response = client.post("/youth/find", data={"csrf_token": csrf, "q": q})
    assert response.status_code == 200, (q, response.text)
    return response.text


def _listed(html: str) -> list[str]:
    return re.findall(r'<a href="/youth/([0-9a-f]{32})">', html)


def test_finds_by_name_prefix_accents_case_and_part_of_the_case_number(
    client: TestClient, session: Session, world: World
) -> None:
    user, _ids = _people(session, world)
    auth = bearer(client, user)
    expected = {
        "jose": ["José"],  # given name, without its accent
        "JOSÉ": ["José"],  # upper case, with it
        "alvarez": ["José"],  # one part of a double family name
        "Núñez": ["José"],
        "Álvarez-Núñez": ["José"],
        "alvareznunez": ["José"],  # a hyphenated name written solid
        "lindquist": ["Avery"],  # family name
        "Ave": ["Avery"],  # the start of a name
        "av": ["Jordan", "Avery"],  # Avila and Avery: by family name
        "obrien": ["Sam"],
        "O'Brien": ["Sam"],
        "1001": ["José"],  # part of a case number
        "RB-10": ["José", "Avery"],  # with punctuation
        "rb10": ["José", "Avery"],  # without
        "RB 1001": ["José"],  # a space where the hyphen was
        "rb-1002": ["Avery"],
        "zed": [],
        "9999": [],
    }
    found = {q: _api(client, auth, q) for q in expected}
    assert found == expected


def test_every_word_must_match(client: TestClient, session: Session, world: World) -> None:
    user, _ids = _people(session, world)
    auth = bearer(client, user)
    assert _api(client, auth, "jordan avila") == ["Jordan"]
    assert _api(client, auth, "avila jordan") == ["Jordan"]
    assert _api(client, auth, "av lind") == ["Avery"]
    assert _api(client, auth, "avery 1002") == ["Avery"]
    assert _api(client, auth, "avery 1001") == []
    assert _api(client, auth, "avery avila") == []
    assert _api(client, auth, "Avery x") == ["Avery"]  # a one-letter word is too short to search by: left out


def test_never_another_agencys_youth_even_with_the_same_name_and_case_number(
    client: TestClient, session: Session, world: World
) -> None:
    north_user, north = _people(session, world, world.agency("North Youth Services"))
    south_user, south = _people(session, world, world.agency("South Shelter", "shelter"))
    for user, own in ((north_user, north), (south_user, south)):
        auth = bearer(client, user)
        for q in ("Avery", "lindquist", "RB-1002", "1002", "av lind"):
            found = client.post("/api/v1/youth/find", headers=auth, json={"q": q}).json()["youth"]
            assert [y["id"] for y in found] == [own["Avery"]], (user.email, q)
    keys_of = {
        agency_id: set(
            session.exec(
                select(YouthSearchKey.key)
                .join(YouthLink, col(YouthLink.id) == col(YouthSearchKey.link_id))
                .where(YouthLink.agency_id == agency_id)
            ).all()
        )
        for agency_id in (north_user.agency_id, south_user.agency_id)
    }
    assert all(keys_of.values()) and not keys_of[north_user.agency_id] & keys_of[south_user.agency_id]


def test_a_linked_record_of_another_agency_is_not_found_through_its_identifiers(
    client: TestClient, session: Session, world: World
) -> None:
    north, south = world.agency("North Youth Services"), world.agency("South Shelter", "shelter")
    theirs = _add(session, world.user(north), "Avery", "Lindquist", "N-4471")
    mine = _add(session, world.user(south), "Sam", "Example", "S-12")
    mine.person_id = theirs.person_id  # one person, linked (as a consented link does)
    session.add(mine)
    session.commit()
    auth = bearer(client, world.user(south, "supervisor"))
    for q in ("Avery", "Lindquist", "N-4471", "4471"):
        assert _api(client, auth, q) == [], q
    assert _api(client, auth, "sam") == ["Sam"]


def test_the_page_lists_matches_keeps_the_query_and_says_when_nothing_matches(
    client: TestClient, session: Session, world: World
) -> None:
    user, ids = _people(session, world)
    csrf = sign_in(client, user)
    listing = client.get("/youth").text
    assert 'action="/youth/find"' in listing and 'method="post"' in listing and 'for="q"' in listing
    html = _page(client, csrf, "rb-10")
    assert _listed(html) == [ids["José"], ids["Avery"]] and 'value="rb-10"' in html
    assert ids["Jordan"] not in html and "Show all youth" in html
    missing = _page(client, csrf, "<b>Zed</b>")
    assert "No youth match “&lt;b&gt;Zed&lt;/b&gt;”." in missing and "<b>Zed" not in missing
    assert _listed(missing) == [] and "No youth have been added yet." not in missing


def test_a_long_list_asks_to_refine_the_search(
    client: TestClient, session: Session, world: World, monkeypatch: Any
) -> None:
    user, _ids = _people(session, world)
    found = records.search(session, crypto.get_key_ring(), user, YouthSearch(q="rb1"), limit=1)
    assert len(found.youth) == 1 and found.more
    assert not records.search(session, crypto.get_key_ring(), user, YouthSearch(q="rb1"), limit=2).more
    session.commit()  # the searches' audit events
    monkeypatch.setattr(records, "SEARCH_LIMIT", 1)
    csrf = sign_in(client, user)
    assert "refine your search" in _page(client, csrf, "rb1")
    assert "refine your search" not in _page(client, csrf, "jose")
    assert client.post("/api/v1/youth/find", headers=bearer(client, user), json={"q": "rb1"}).json()["more"] is True


def test_a_query_with_no_word_to_search_by_is_refused(client: TestClient, session: Session, world: World) -> None:
    user, _ids = _people(session, world)
    auth = bearer(client, user)
    for q in ("a", " - ", "", "J K", "7"):
        response = client.post("/api/v1/youth/find", headers=auth, json={"q": q})
        assert response.status_code == 400, q
        body = response.json()
        assert body["error"] == "invalid_input" and body["detail"] == {"field": "q"}
        assert "at least two letters" in body["message"]
    csrf = sign_in(client, user)
    page = client.post("/youth/find", data={"csrf_token": csrf, "q": "a"})
    assert page.status_code == 400
    assert "Type at least two letters of a name, or three characters of a case number." in page.text
    assert 'aria-invalid="true"' in page.text and 'value="a"' in page.text and _listed(page.text) == []
    spanish = client.post("/youth/find", data={"csrf_token": csrf, "q": "x" * 201})
    assert spanish.status_code == 400 and "Search with fewer words." in spanish.text


def test_a_search_is_audited_without_its_words(client: TestClient, session: Session, world: World) -> None:
    user, _ids = _people(session, world)
    assert _api(client, bearer(client, user), "lindquist avery") == ["Avery"]
    event_ = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "youth.search")
    ).one()
    assert event_.actor_id == user.id and event_.agency_id == user.agency_id
    assert event_.detail == {"words": 2, "results": 1, "more": False}
    audit = dump_table(session, "audit_event").casefold()
    assert "lindquist" not in audit and "avery" not in audit


def test_records_from_before_search_are_found_after_the_backfill(
    client: TestClient, session: Session, world: World
) -> None:
    user, _ids = _people(session, world)
    session.exec(delete(YouthSearchKey))  # as if created before migration 0007
    session.commit()
    auth = bearer(client, user)
    assert _api(client, auth, "lindquist") == []
    first = CliRunner().invoke(cli, ["reindex-search"])
    assert first.exit_code == 0 and "added for 4 youth" in first.output, first.output
    assert _api(client, auth, "lindquist") == ["Avery"] and _api(client, auth, "2001") == ["Jordan"]
    again = CliRunner().invoke(cli, ["reindex-search"])
    assert again.exit_code == 0 and "added for 0 youth" in again.output, again.output
    assert _api(client, auth, "lindquist") == ["Avery"]


@contextmanager
def _counting(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_list_costs_the_same_queries_whatever_its_length(client: TestClient, session: Session, world: World) -> None:
    user = world.user(world.agency())
    for n in range(2):
        _add(session, user, "Robin", f"Example{n}", f"EX-{n:03d}")
    csrf = sign_in(client, user)

    def costs() -> tuple[int, int, int]:
        with _counting(session) as found:
            assert len(_listed(_page(client, csrf, "robin"))) == count
        with _counting(session) as listed:
            assert len(_listed(client.get("/youth").text)) == count
        with _counting(session) as api:
            assert len(_api(client, bearer(client, user), "robin")) == count
        return len(found), len(listed), len(api)

    count = 2
    few = costs()
    for n in range(2, 8):
        _add(session, user, "Robin", f"Example{n}", f"EX-{n:03d}")
    count = 8
    assert costs() == few
