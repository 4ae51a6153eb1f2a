"""Issue 16: an invitation a youth can take away: the link as a QR code, a printable slip in the
screening's language with neutral wording, and a link that opens the code page in that language."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.app.conftest import World, bearer, sign_in

SELF_REPORT = "tellonce-youth-self-report"
AGENCY = "Riverbend Outreach Shelter"
# Words a slip found by someone else must never carry.
SENSITIVE = ("screening", "trafficking", "trafficked", "exploitation", "exploited", "concern", "abuse", "TellOnce")
SENSITIVE_ES = ("tamizaje", "evaluación", "trata", "explotación", "preocupación", "abuso", "TellOnce")


def issue(client: TestClient, world: World, language: str) -> tuple[str, str, str]:
    """A self-administered screening in `language` and its link page; returns the screening id, page and CSRF."""
    agency = world.agency(AGENCY)
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Ana", "family_name": "Invitetest", "birth_date": "2009-05-05", "case_number": "I-1"},
    ).json()
    screening = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth["id"], "instrument_id": SELF_REPORT, "mode": "self", "language": language},
    ).json()
    csrf = sign_in(client, screener)
    page = client.post(f"/screenings/{screening['id']}/self/link", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    return screening["id"], page.text, csrf


def shown(page: str, element: str) -> str:
    match = re.search(rf'id="{element}"[^>]*>([^<]+)<', page)
    assert match, page
    return match.group(1).strip()


def slip(client: TestClient, screening_id: str, page: str, csrf: str, agency_name: bool) -> str:
    token = re.search(r'name="link_token" value="([^"]+)"', page)
    assert token
    data = {"csrf_token": csrf, "link_token": token.group(1), "code": shown(page, "code")}
    if agency_name:
        data["agency_name"] = "true"
    response = client.post(f"/screenings/{screening_id}/self/slip", data=data)
    assert response.status_code == 200, response.text
    return response.text


def visible_text(html: str) -> str:
    """The words a reader sees: no tags, and no SVG path data."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_link_page_shows_the_link_as_an_inline_svg_qr_code_and_a_copy_button(client: TestClient, world: World) -> None:
    _id, page, _csrf = issue(client, world, "en")
    svg = re.search(r"<svg [^>]*>", page)
    assert svg and 'role="img"' in svg.group(0) and "aria-label=" in svg.group(0)
    assert 'class="qr"' in svg.group(0)
    assert "<path" in page
    assert re.search(r"/go/[\w-]+$", shown(page, "link"))  # an English link needs no language
    assert "Copy link" in page and 'aria-live="polite"' in page
    assert 'src="/static/invite.js"' in page


def test_spanish_screening_link_carries_its_language_and_opens_the_code_page_in_spanish(
    client: TestClient, world: World
) -> None:
    _id, page, _csrf = issue(client, world, "es")
    link = shown(page, "link")
    assert link.endswith("?lang=es"), link
    address = urlsplit(link)
    code_page = client.get(f"{address.path}?{address.query}")
    assert code_page.status_code == 200
    assert '<html lang="es"' in code_page.text
    assert "Tu código" in code_page.text or "tu código" in code_page.text


def test_slip_in_english_is_neutral_and_leaves_the_agency_name_off_unless_asked(
    client: TestClient, world: World
) -> None:
    screening_id, page, csrf = issue(client, world, "en")
    text = slip(client, screening_id, page, csrf, agency_name=False)
    assert '<html lang="en"' in text
    assert "A check-in for you" in text and "You can stop at any time" in text
    assert shown(page, "link") in text and shown(page, "code") in text and "<svg " in text
    words = visible_text(text)
    assert AGENCY not in words
    for word in SENSITIVE:
        assert word.lower() not in words.lower(), word
    assert AGENCY in visible_text(slip(client, screening_id, page, csrf, agency_name=True))


def test_slip_in_spanish_for_a_spanish_screening(client: TestClient, world: World) -> None:
    screening_id, page, csrf = issue(client, world, "es")
    text = slip(client, screening_id, page, csrf, agency_name=False)
    assert '<html lang="es"' in text
    assert "Un registro para ti" in text and "Puedes parar cuando quieras" in text
    assert shown(page, "link") in text and shown(page, "link").endswith("?lang=es")
    words = visible_text(text)
    assert AGENCY not in words
    for word in SENSITIVE_ES:
        assert word.lower() not in words.lower(), word


def test_slip_refuses_a_link_and_code_that_do_not_belong_together(client: TestClient, world: World) -> None:
    screening_id, page, csrf = issue(client, world, "en")
    token = re.search(r'name="link_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        f"/screenings/{screening_id}/self/slip",
        data={"csrf_token": csrf, "link_token": token.group(1), "code": "AAAA-BBBB"},
    )
    assert response.status_code == 404
    assert "A check-in for you" not in response.text
