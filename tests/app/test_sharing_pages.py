"""Victim-service records stay unproposed; the printable release form and account; the youth says what is still true.
[DESIGN §6-7; SECURITY.md Access 5]"""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    REASON,
    REVOKE_REASON,
    SELF_REPORT,
    add_youth,
    candidates,
    consent,
    link,
    screen,
    section,
    side,
)


def test_victim_service_records_are_not_proposed_unless_it_consented(client: TestClient, world: World) -> None:
    shelter = side(client, world, "Harbor Safe Shelter", "victim_service")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_v = add_youth(client, shelter, "HS-1")
    screen(client, shelter, youth_v)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert candidates(client, b, youth_b) == []
    sign_in(client, b.users["screener"])
    assert 'id="possible-matches"' not in client.get(f"/youth/{youth_b}").text

    consent(client, shelter, youth_v, b, categories=("result_summary",))
    assert len(candidates(client, b, youth_b)) == 1
    assert 'id="possible-matches"' in client.get(f"/youth/{youth_b}").text
    assert link(client, b, youth_b).status_code == 201


def test_the_printable_release_form_in_english_and_spanish(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    sign_in(client, a.users["screener"])
    english = client.get(f"/youth/{youth_a}/consent-form?lang=en&to={b.agency.id}")
    assert english.status_code == 200
    text = html.unescape(english.text)
    assert '<html lang="en">' in text and "<title>Permission to share information</title>" in text
    assert "Northside Youth Services" in text and "Eastside Child Welfare" in text
    for words in (
        "Your answers to the questions",
        "You must write an end date.",
        "You can change your mind whenever you want.",
        "If you say no, the services you get will not change.",
        "Parent or guardian (if needed)",
    ):
        assert words in text
    assert text.count('class="signature-line"') >= 6 and "/static/print.css" in text
    assert 'class="site-header"' not in text and "Katherine" not in text  # blank, and nothing to navigate

    spanish = html.unescape(client.get(f"/youth/{youth_a}/consent-form?lang=es").text)
    assert '<html lang="es">' in spanish and "<title>Permiso para compartir información</title>" in spanish
    assert "Si dices que no, los servicios que recibes no van a cambiar." in spanish
    printed = spanish.split('<main id="main">')[1]
    assert "Northside Youth Services" in printed and "Eastside Child Welfare" not in printed  # left blank
    assert "Your answers" not in spanish
    assert "trafficking" not in (text + spanish).lower()
    sign_in(client, b.users["screener"])
    assert client.get(f"/youth/{youth_a}/consent-form?lang=en").status_code == 404


def test_the_account_prints_without_navigation(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_a = add_youth(client, a, "NS-1")
    sign_in(client, a.users["screener"])
    account = client.get(f"/youth/{youth_a}/disclosures")
    assert account.status_code == 200
    assert "<title>Account of disclosures · TellOnce</title>" in account.text
    assert "No other program has seen these records." in account.text
    css = client.get("/static/print.css").text
    assert re.search(r"@media print \{[^}]*\.site-header[^}]*\.no-print[^}]*display: none", css)
    assert client.get(f"/api/v1/youth/{youth_a}/disclosures", headers=a.api).json() == []


def _issue_code(client: TestClient, csrf: str, screening_id: str) -> tuple[str, str]:
    page = client.post(f"/screenings/{screening_id}/self/link", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    link_token = re.search(r'id="link">[^<]*/go/([^<]+)<', page.text)
    code = re.search(r'id="code" class="code">([A-Z0-9-]+)<', page.text)
    assert link_token and code
    return link_token.group(1), code.group(1)


PAST_ANSWERS = {"hurt_by_caregiver": "yes", "saw_violence": "no", "unwanted_touch": "not_sure"}  # past events


def test_the_youth_says_whether_what_they_told_another_program_is_still_true(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    told = screen(client, a, youth_a, PAST_ANSWERS, instrument=SELF_REPORT, mode="interview")
    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    started = client.post(
        "/api/v1/screenings",
        headers=b.api,
        json={"youth_id": youth_b, "instrument_id": SELF_REPORT, "mode": "self", "language": "es"},
    ).json()
    assert {k: (v["source"], v["confirmed"]) for k, v in started["answers"].items()} == dict.fromkeys(
        PAST_ANSWERS, ("carried", False)
    )

    link_token, code = _issue_code(client, sign_in(client, b.users["screener"]), started["id"])
    client.cookies.clear()
    opened = client.post("/go", data={"code": code, "link_token": link_token})
    assert opened.status_code == 200, opened.text
    welcome = html.unescape(opened.text)
    assert "Le contaste algunas cosas a Northside Youth Services." in welcome  # the program named, in Spanish
    assert 'href="/s/told"' in welcome
    page = html.unescape(client.get("/s/told").text)
    day = told["completed_at"][:10]
    assert f"Le contaste a Northside Youth Services el {day}" in page
    assert page.count('value="keep"') == page.count('value="change"') == page.count('value="skip"') == 3
    assert "nivel" not in page.lower() and "concern" not in page.lower()  # never a score or label

    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "action": "next"}
    form |= {"k_hurt_by_caregiver": "keep", "k_saw_violence": "change", "k_unwanted_touch": "skip"}
    went = client.post("/s/told", data=form, follow_redirects=False)
    assert went.status_code == 303
    stored = client.get(f"/api/v1/screenings/{started['id']}", headers=b.api).json()["answers"]
    assert stored["hurt_by_caregiver"] == {**stored["hurt_by_caregiver"], "source": "carried", "confirmed": True}
    assert stored["unwanted_touch"]["value"] == "declined"  # "I'd rather not say now"
    assert "saw_violence" not in stored  # "This changed": asked again, empty
    assert went.headers["location"] == "/s/1"  # on to the questions nobody answered yet
    past = client.get("/s/2?seen=1").text  # the page of past events: what changed is asked again, empty
    assert 'name="q_saw_violence"' in past and not re.search(r'name="q_saw_violence" value="\w+"\s+checked', past)
    assert re.search(r'name="q_hurt_by_caregiver" value="yes"\s+checked', past)  # kept, shown as kept


def test_a_youth_with_nothing_carried_starts_at_the_first_page(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_a = add_youth(client, a, "NS-1")
    started = client.post(
        "/api/v1/screenings", headers=a.api, json={"youth_id": youth_a, "instrument_id": SELF_REPORT, "mode": "self"}
    ).json()
    link_token, code = _issue_code(client, sign_in(client, a.users["screener"]), started["id"])
    client.cookies.clear()
    welcome = client.post("/go", data={"code": code, "link_token": link_token}).text
    assert 'href="/s/1"' in welcome and "You told" not in welcome


def test_a_repeat_check_in_at_the_same_program_asks_every_question_again(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_a = add_youth(client, a, "NS-1")
    screen(client, a, youth_a, PAST_ANSWERS, instrument=SELF_REPORT, mode="self")
    again = client.post(
        "/api/v1/screenings", headers=a.api, json={"youth_id": youth_a, "instrument_id": SELF_REPORT, "mode": "self"}
    ).json()
    assert again["answers"] == {}
    link_token, code = _issue_code(client, sign_in(client, a.users["screener"]), again["id"])
    client.cookies.clear()
    welcome = html.unescape(client.post("/go", data={"code": code, "link_token": link_token}).text)
    assert 'href="/s/1"' in welcome and "You told" not in welcome and "some things before" not in welcome
    past = client.get("/s/2?seen=1").text  # the page of past events, asked again with nothing chosen
    assert 'name="q_hurt_by_caregiver"' in past and " checked" not in past


def test_the_account_names_what_allowed_each_view_in_words_not_ids(client: TestClient, world: World) -> None:
    """[issue 16 probe] The account is printed for the youth or a guardian: it says whose consent and from when, or
    when emergency access began, never an internal id they cannot check against their papers."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    c = side(client, world, "Westside Shelter", "shelter")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    given = consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    youth_c = add_youth(client, c, "WS-1", KATE)
    glass = link(client, c, youth_c, "supervisor", {"reason": REASON, "hours": 4})
    assert glass.status_code == 201, glass.text
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 200
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=c.headers("supervisor")).status_code == 200
    sign_in(client, a.users["screener"])
    account = html.unescape(client.get(f"/youth/{youth_a}/disclosures").text)
    row = account.split("Eastside Child Welfare", 1)[1].split("</tr>", 1)[0]
    assert "Consent: The youth" in row and f"from {given['starts_at'][:10]}" in row
    row = account.split("Westside Shelter", 1)[1].split("</tr>", 1)[0]
    assert "Emergency access (break glass)" in row and "begun 20" in row
    assert given["id"] not in account and glass.json()["break_glass_id"] not in account
    # each line names which screening was seen: the instrument and the day it was completed
    assert f"Practitioner indicator rating, {done['completed_at'][:10]}" in account


def test_a_linked_record_says_what_is_shared_now_not_only_the_consent_it_was_linked_under(
    client: TestClient, world: World
) -> None:
    """[issue 16 probe] With two releases, revoking the one a link was made under left the row reading "Revoked"
    beside "Active", while the other release still shared everything; after both, it still read "Active"."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    screen(client, a, youth_a)
    first = consent(client, a, youth_a, b)
    second = client.post(
        f"/api/v1/youth/{youth_a}/consents",
        headers=a.api,
        json={
            **{k: first[k] for k in ("to_agency_id", "grantor", "authority", "method", "ends_at")},
            "categories": ["result_summary"],
            "purpose": "referral",
        },
    )
    assert second.status_code == 201, second.text
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    sign_in(client, b.users["screener"])

    def state() -> str:
        page = html.unescape(client.get(f"/youth/{youth_b}").text)
        cell = page.split('data-label="State">', 1)[1].split("</td>", 1)[0]
        return " ".join(re.sub(r"<[^>]+>", " ", cell).split())

    assert state() == "Linked Shared now for: Care coordination, Referral"
    for made, left in (
        (first, "Linked Shared now for: Referral"),
        (second.json(), "Linked Nothing is shared now: no consent in force"),
    ):
        revoked = client.post(
            f"/api/v1/consents/{made['id']}/revoke", headers=a.headers("agency_admin"), json={"reason": REVOKE_REASON}
        )
        assert revoked.status_code == 200, revoked.text
        assert state() == left


def test_a_partner_sees_another_programs_screenings_once_completed_never_its_drafts(
    client: TestClient, world: World
) -> None:
    """[issue 16 probe] A partner's list showed the other program's "Check-in - In progress" rows: nothing to share,
    and it told the partner the youth was being screened there right now."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    draft = client.post(
        "/api/v1/screenings",
        headers=a.api,
        json={"youth_id": youth_a, "instrument_id": SELF_REPORT, "mode": "interview"},
    )
    assert draft.status_code == 201, draft.text
    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    theirs = {e["screening_id"] for e in client.get(f"/api/v1/youth/{youth_b}/timeline", headers=b.api).json()}
    assert done["id"] in theirs and draft.json()["id"] not in theirs
    ours = {e["screening_id"] for e in client.get(f"/api/v1/youth/{youth_a}/timeline", headers=a.api).json()}
    assert {done["id"], draft.json()["id"]} <= ours  # the program's own drafts stay on its own list
    sign_in(client, b.users["screener"])
    assert "In progress" not in section(client.get(f"/youth/{youth_b}").text, "timeline")
