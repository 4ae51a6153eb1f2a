"""The result page in a real Chromium: a rating where nothing is known reads "Not enough information to
conclude", in its own colour and with its reason, never "No concern"; the page passes axe."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from instruments.loader import load
from tests.browser import LiveServer, api, check_accessibility, login, screenshot, watch_console

SCREENER = "screener@riverbend.example.org"
PRACTITIONER = "tellonce-practitioner-indicators"


def _all_unknown_rating(live_server: LiveServer) -> str:
    """A new synthetic youth whose practitioner rating has every line 'not enough information'."""
    token = api(live_server, "POST", "/api/v1/auth/token", body={"username": SCREENER, "password": DEMO_PASSWORD})
    token = token["access_token"]
    youth = {"given_name": "Sky", "family_name": "Browsercase", "birth_date": "2011-03-04", "case_number": "BR-91"}
    youth_id = api(live_server, "POST", "/api/v1/youth", token, youth)["id"]
    start = {"youth_id": youth_id, "instrument_id": PRACTITIONER, "mode": "practitioner"}
    started = api(live_server, "POST", "/api/v1/screenings", token, start)
    compiled = load().registry.get(PRACTITIONER, started["instrument_version"])
    assert compiled is not None
    answers = dict.fromkeys(compiled.visibility_order, "not_enough_info")
    body = {"version": started["version"], "answers": answers}
    saved = api(live_server, "PUT", f"/api/v1/screenings/{started['id']}/answers", token, body)
    done = api(
        live_server, "POST", f"/api/v1/screenings/{started['id']}/complete", token, {"version": saved["version"]}
    )
    assert done["overall_level"] == "insufficient_information"
    return str(started["id"])


def test_the_result_of_an_all_unknown_rating_says_not_enough_information(page: Page, live_server: LiveServer) -> None:
    screening_id = _all_unknown_rating(live_server)
    errors = watch_console(page)
    login(page, live_server, SCREENER)
    page.goto(live_server.at(f"/screenings/{screening_id}/result"))
    overall = page.locator("#overall-heading")
    expect(overall).to_contain_text("Not enough information to conclude")
    expect(overall).not_to_contain_text("No concern")
    badge = overall.locator(".level")
    colour = badge.evaluate("element => getComputedStyle(element).backgroundColor")
    assert colour == "rgb(63, 61, 143)", colour  # its own colour, not the green of "no concern"
    expect(page.get_by_text("This is not a 'no concern' result.", exact=True)).to_be_visible()
    expect(page.get_by_text("8 domains have too little information to conclude")).to_be_visible()
    expect(page.locator(".level-no_concern")).to_have_count(0)
    check_accessibility(page, "the result page of an all-unknown rating")
    screenshot(page, "result-insufficient-information")
    assert errors == [], errors


def test_a_youth_record_with_screenings_fits_a_phone(phone: Page, live_server: LiveServer) -> None:
    """Tables scroll inside their box; nothing (not even a visually hidden heading) widens the page."""
    login(phone, live_server, SCREENER)
    phone.goto(live_server.at("/youth"))
    phone.locator("tr:has-text('RB-1001') a[href^='/youth/']").first.click()
    expect(phone.get_by_role("heading", name="Screenings", exact=True)).to_be_visible()
    width = (phone.viewport_size or {"width": 360})["width"]  # on a phone, innerWidth grows with the content
    assert phone.evaluate("document.documentElement.scrollWidth") <= width, "the youth record scrolls sideways"
