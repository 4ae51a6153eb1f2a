"""Long lists come a page at a time, newest first, by keyset [issue 14]: following "Older" shows every row
once, in order, even when rows share a time; the filters stay on; a page costs the same queries whatever
page it is; a broken page link is refused with a message that says what to do."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import paging
from app.main import loaded_instruments
from app.models import Screening, utcnow
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import PRACTITIONER, add_youth, screen, side
from tests.app.test_followup import counting
from tests.app.test_referrals import move, parties, refer, release  # noqa: F401  (parties is a fixture)

PAGE = paging.PAGE_SIZE


def _older(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found[1]) if found else None


def _walk(client: TestClient, url: str, ids: re.Pattern[str]) -> tuple[list[list[str]], list[str]]:
    """Every page of a list from its first: the ids on each, and each page's HTML."""
    pages, texts = [], []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        texts.append(response.text)
        pages.append(ids.findall(response.text))
        next_url = _older(response.text)
        assert len(pages) < 10, "the pages never end"
    return pages, texts


def _drafts(session: Session, youth_id: str, at: Any, count: int, *, same_time_every: int) -> list[str]:
    """`count` started screenings written directly, `same_time_every` of them sharing each start time;
    returned newest first as the dashboard orders them (time, then id)."""
    now, compiled = utcnow(), loaded_instruments().get(PRACTITIONER, "1.3.0")
    assert compiled is not None
    rows = [
        Screening(
            youth_id=youth_id,
            agency_id=at.agency.id,
            instrument_id=PRACTITIONER,
            instrument_version="1.3.0",
            content_hash=compiled.content_hash,
            mode="practitioner",
            language="en",
            started_by=at.users["screener"].id,
            started_at=now - timedelta(minutes=n // same_time_every),
        )
        for n in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return [s.id for s in sorted(rows, key=lambda s: (s.started_at, s.id), reverse=True)]


def test_the_dashboard_pages_through_every_screening_once_in_order(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-1")
    expected = _drafts(session, youth, a, PAGE + 7, same_time_every=4)  # runs of four share a start time
    sign_in(client, a.users["supervisor"])
    pages, texts = _walk(client, "/?status=in_progress", re.compile(r'href="/screenings/(\w+)\?page=1"'))
    assert [len(p) for p in pages] == [PAGE, 7]
    assert [s for p in pages for s in p] == expected  # none skipped, none twice, newest first
    assert "status=in_progress" in (_older(texts[0]) or "")  # the filter stays on
    assert "Back to the newest" in texts[1] and "Back to the newest" not in texts[0]
    # A screening started while someone reads appears at the top of the first page, not again further down.
    fresh = screen(client, a, youth)["id"]
    first = client.get("/").text
    assert re.findall(r'href="/screenings/(\w+)/result"', first)[:1] == [fresh]


def test_a_later_page_costs_the_same_queries_as_the_first(client: TestClient, world: World, session: Session) -> None:
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-1")
    _drafts(session, youth, a, 2 * PAGE + 3, same_time_every=1)
    sign_in(client, a.users["supervisor"])
    costs, url = [], "/"
    for _ in range(3):
        with counting(session) as statements:
            page = client.get(url)
        assert page.status_code == 200
        costs.append(len(statements))
        url = _older(page.text) or ""
    assert url == "" and len(set(costs)) == 1, costs


def test_the_youth_list_pages_through_every_youth_of_the_agency(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Shelter", "shelter")
    added = [add_youth(client, a, f"NS-{n:03d}", {**_person(n)}) for n in range(PAGE + 3)]
    add_youth(client, b, "ES-1")  # another agency's youth is never listed
    sign_in(client, a.users["screener"])
    pages, _texts = _walk(client, "/youth", re.compile(r'<td><a href="/youth/(\w+)">'))
    assert [len(p) for p in pages] == [PAGE, 3]
    assert [y for p in pages for y in p] == added[::-1]


def _person(n: int) -> dict[str, str]:
    return {"given_name": f"Robin{n}", "family_name": "Example", "birth_date": "2011-05-05"}


def test_the_referrals_api_gives_the_next_page_until_the_last(
    client: TestClient,
    world: World,
    parties: Any,  # noqa: F811  (the fixture, imported above)
) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    sent = []
    for _ in range(PAGE + 2):  # one open referral per partner at a time: cancel, then send anew
        sent.append(refer(client, a, youth, b, [done]).json()["id"])
        assert move(client, a, sent[-1], "cancelled", reason="Sent again with a new reason.").status_code == 200
    seen: list[str] = []
    after: str | None = ""
    while after is not None:
        response = client.get("/api/v1/referrals", params={"box": "inbox", "after": after}, headers=b.api)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        assert body["counts"]["cancelled"] == PAGE + 2  # the counts cover every page
        after = body["next"]
    assert seen == sent[::-1]


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BROKEN = [
    "not-a-cursor",
    "%%%",
    "A" * 20,
    _token("0001-01-01T00:00:00+05:00|abc"),  # a moment before year 1 in UTC
    _token("9999-12-31T23:59:59-05:00|abc"),  # after year 9999 in UTC
    _token("2026-01-01T00:00:00+00:00|a\x00b"),  # a NUL in the id (PostgreSQL refuses it in text)
    _token("2026-01-01T00:00:00|abc"),  # no time zone
]


@pytest.mark.parametrize("token", BROKEN)
def test_a_broken_page_link_is_refused_and_says_what_to_do(client: TestClient, world: World, token: str) -> None:
    """A hand-edited or truncated link: a 400 that says so, with a way to the list's first page (its filters
    kept), never a server error."""
    a = side(client, world, "Northside Youth Services")
    sign_in(client, a.users["supervisor"])
    for path in ("/", "/youth", "/referrals?box=sent&status=accepted"):
        url = f"{path}{'&' if '?' in path else '?'}{urlencode({'after': token})}"
        page = client.get(url)
        assert page.status_code == 400, url
        assert "Start again from the first page" in page.text
        first = re.search(r'<a href="([^"]*)">Go to the first page of this list</a>', page.text)
        assert first is not None and html.unescape(first[1]) == path, page.text
    api = client.get("/api/v1/referrals", params={"after": token}, headers=a.api)
    assert api.status_code == 400, api.text
    assert api.json()["detail"] == {"field": "after"} and "first page" in api.json()["message"]


def test_a_youth_page_past_the_end_says_so_and_offers_the_first(client: TestClient, world: World) -> None:
    """An "Older" link kept from before the agency's records changed may lead past the last youth: the page says
    there are no more (not that none were ever added) and links back to the newest."""
    a = side(client, world, "Northside Youth Services")
    add_youth(client, a, "NS-1")
    sign_in(client, a.users["screener"])
    page = client.get("/youth", params={"after": _token("2000-01-01T00:00:00+00:00|x")})
    assert page.status_code == 200
    assert "No more youth." in page.text and "No youth have been added yet." not in page.text
    assert 'href="/youth">Back to the newest' in page.text


def test_a_case_number_not_found_is_said_once_not_carried_into_the_list_s_pages(
    client: TestClient, world: World
) -> None:
    a = side(client, world, "Northside Youth Services")
    for n in range(PAGE + 1):
        add_youth(client, a, f"NS-{n:03d}", _person(n))
    sign_in(client, a.users["screener"])
    page = client.get("/youth", params={"case_number": "NOPE-1"})
    assert "NOPE-1" in page.text  # said here, once
    older = _older(page.text)
    assert older is not None and "NOPE" not in older and "case_number" not in older
