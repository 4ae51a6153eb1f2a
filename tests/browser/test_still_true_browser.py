"""Tell once, in a real Chromium: the youth keeps, changes or would rather not say what they told another
program, on a phone; staff see another program's ratings as context only; a revocation empties the draft.

Riverbend's and Harbor's records of a new synthetic youth are made here through the API (the demo's own
shared story stays as it is for the other tests); the demo's Harbor rating is only read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser import LiveServer, api, check_accessibility, login, screenshot, watch_console
from tests.browser.test_youth_browser import create_link, open_with_code, path_of

SELF_REPORT = "tellonce-youth-self-report"
RIVERBEND, HARBOR = "supervisor@riverbend.example.org", "supervisor@harbor.example.org"
YOUTH = {"given_name": "Sky", "family_name": "Stilltrue", "birth_date": "2010-06-07"}
TOLD = {"hurt_by_caregiver": "yes", "saw_violence": "no", "unwanted_touch": "not_sure"}


def _token(live_server: LiveServer, email: str) -> str:
    token = api(live_server, "POST", "/api/v1/auth/token", body={"username": email, "password": DEMO_PASSWORD})
    return str(token["access_token"])


def _story(live_server: LiveServer) -> tuple[str, str, str, str]:
    """Riverbend's check-in and release to Harbor; Harbor's linked record and its self-administered check-in.
    Returns (Riverbend token, Harbor token, the consent id, Harbor's draft id)."""
    river, harbor = _token(live_server, RIVERBEND), _token(live_server, HARBOR)
    youth = api(live_server, "POST", "/api/v1/youth", river, {**YOUTH, "case_number": "RB-9901"})["id"]
    started = api(
        live_server,
        "POST",
        "/api/v1/screenings",
        river,
        {"youth_id": youth, "instrument_id": SELF_REPORT, "mode": "interview"},
    )
    saved = api(
        live_server, "PUT", f"/api/v1/screenings/{started['id']}/answers", river, {"version": 1, "answers": TOLD}
    )
    api(live_server, "POST", f"/api/v1/screenings/{started['id']}/complete", river, {"version": saved["version"]})
    harbor_agency = api(live_server, "GET", "/api/v1/me", harbor)["agency_id"]
    release = {
        "to_agency_id": harbor_agency,
        "grantor": "youth",
        "authority": "Youth's own signed release",
        "categories": ["result_summary", "item_answers"],
        "purpose": "care_coordination",
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "method": "written",
    }
    consent = api(live_server, "POST", f"/api/v1/youth/{youth}/consents", river, release)
    own = api(live_server, "POST", "/api/v1/youth", harbor, {**YOUTH, "case_number": "HC-9901"})["id"]
    (candidate,) = api(live_server, "GET", f"/api/v1/youth/{own}/candidates", harbor)
    api(live_server, "POST", f"/api/v1/youth/{own}/links", harbor, candidate)
    body = {"youth_id": own, "instrument_id": SELF_REPORT, "mode": "self"}
    draft = api(live_server, "POST", "/api/v1/screenings", harbor, body)
    return river, harbor, consent["id"], draft["id"]


def _answers(live_server: LiveServer, token: str, screening_id: str) -> dict[str, Any]:
    return dict(api(live_server, "GET", f"/api/v1/screenings/{screening_id}", token)["answers"])


def test_the_youth_keeps_changes_or_would_rather_not_say(page: Page, phone: Page, live_server: LiveServer) -> None:
    river, harbor, consent_id, draft = _story(live_server)
    assert {k: v["confirmed"] for k, v in _answers(live_server, harbor, draft).items()} == dict.fromkeys(TOLD, False)
    errors = watch_console(phone)
    login(page, live_server, HARBOR)
    link, code = create_link(page, draft)

    open_with_code(phone, link, code)
    expect(phone.get_by_text("You told Riverbend Youth Services some things before.")).to_be_visible()
    phone.get_by_role("link", name="Start").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Is this still true?")
    expect(phone.get_by_role("heading", level=2)).to_contain_text("You told Riverbend Youth Services on")
    check_accessibility(phone, "the still-true page on a phone")
    screenshot(phone, "still-true")
    phone.locator("#k_hurt_by_caregiver").get_by_label("Still true").check()
    phone.locator("#k_saw_violence").get_by_label("This changed").check()
    phone.locator("#k_unwanted_touch").get_by_label("I'd rather not say now").check()
    phone.get_by_role("button", name="Next").click()
    phone.wait_for_url(re.compile(r"/s/1$"))
    assert path_of(phone) == "/s/1"
    assert errors == [], errors

    stored = _answers(live_server, harbor, draft)
    assert stored["hurt_by_caregiver"]["confirmed"] is True and stored["hurt_by_caregiver"]["source"] == "carried"
    assert stored["unwanted_touch"]["value"] == "declined"
    assert "saw_violence" not in stored  # changed: asked again on its page, empty

    # Riverbend revokes: what the youth kept stays; nothing unconfirmed remains in Harbor's open draft.
    again = api(live_server, "POST", "/api/v1/screenings", harbor, {**_draft_body(live_server, harbor, draft)})
    assert any(not v["confirmed"] for v in _answers(live_server, harbor, again["id"]).values())
    api(live_server, "POST", f"/api/v1/consents/{consent_id}/revoke", river, {"reason": "The youth asked to stop."})
    assert all(v["confirmed"] for v in _answers(live_server, harbor, again["id"]).values())
    assert set(_answers(live_server, harbor, draft)) == {"hurt_by_caregiver", "unwanted_touch"}


def _draft_body(live_server: LiveServer, token: str, screening_id: str) -> dict[str, Any]:
    screening = api(live_server, "GET", f"/api/v1/screenings/{screening_id}", token)
    return {"youth_id": screening["youth_id"], "instrument_id": SELF_REPORT, "mode": "interview"}


def test_the_demo_rating_shows_riverbend_ratings_as_context_only(page: Page, live_server: LiveServer) -> None:
    harbor = _token(live_server, HARBOR)
    youth = api(live_server, "POST", "/api/v1/youth/search", harbor, {"case_number": "HC-2001"})
    drafts = [s for s in api(live_server, "GET", f"/api/v1/youth/{youth['id']}/timeline", harbor) if s["own"]]
    rating = next(s for s in drafts if s["instrument_id"] == "tellonce-practitioner-indicators")
    login(page, live_server, HARBOR)
    page.goto(f"/screenings/{rating['screening_id']}?page=1")
    context = page.locator(".hint.context").first
    expect(context).to_contain_text("Riverbend Youth Services staff rated")
    expect(context).to_contain_text("For context only")
    assert page.locator("input[type=radio]:checked").count() == 0  # nothing ticked for Harbor's staff
    check_accessibility(page, "a rating form with another program's ratings as context")
