"""The referral summary fits the screen in a real Chromium, in English and in Spanish, on a desktop (1,280 px)
and on a phone (360 px): the page never scrolls sideways and no element reaches past the viewport's edge
[issue 11, part 2: testers saw a 1,632 px wide summary on a 1,280 px screen].

A new synthetic youth with a long name gets two completed screenings from Riverbend, made here through the
API: a practitioner rating with every line rated and a long note with no space in it, and a check-in taken
in Spanish with every question answered. The reader is a login no other browser test uses: its language is
switched here, and switched back at the end.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from instruments.compiled import RATING_CODES
from instruments.loader import load
from tests.browser import LiveServer, api, check_accessibility, login, screenshot, watch_console

READER = "agency.admin@riverbend.example.org"  # a login no other browser test uses: its language changes here
PRACTITIONER, SELF_REPORT = "tellonce-practitioner-indicators", "tellonce-youth-self-report"
YOUTH = {
    "given_name": "Maria-Fernanda Guadalupe Esperanza",
    "family_name": "Villasenor-Castellanos-Oyelaran-Montgomery-Abernathy",
    "birth_date": "2009-09-09",
    "case_number": "RB-OVERFLOW-2026-000000000000000000001",
}
NOTE = "Called back from " + "".join(f"{n:03d}QX" for n in range(60))  # 300 characters with no space to break at

# What any element may do past the viewport: nothing, except the skip link parked off-screen until focused
# and text hidden for everyone but screen readers.
OVERFLOWING = """(width) => {
  const found = [];
  for (const element of document.querySelectorAll("body *")) {
    if (element.closest(".skip-link, .visually-hidden")) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      const name = `${element.tagName.toLowerCase()}.${element.className}`;
      const text = (element.innerText || "").trim().slice(0, 60);
      found.push(`${name} [${Math.round(box.left)}, ${Math.round(box.right)}] ${text}`);
    }
  }
  return found;
}"""


def _answers(instrument_id: str) -> dict[str, str]:
    compiled = load().registry.get(instrument_id)
    assert compiled is not None
    if instrument_id == PRACTITIONER:
        return {item: RATING_CODES[n % len(RATING_CODES)] for n, item in enumerate(compiled.visibility_order)}
    return dict.fromkeys(compiled.visibility_order, "yes")  # 'yes' opens every follow-up question


@pytest.fixture(scope="module")
def screenings(live_server: LiveServer) -> list[str]:
    """Riverbend's two completed screenings of a new youth with a long name (ids)."""
    token = api(live_server, "POST", "/api/v1/auth/token", body={"username": READER, "password": DEMO_PASSWORD})
    token = token["access_token"]
    youth_id = api(live_server, "POST", "/api/v1/youth", token, YOUTH)["id"]
    done = []
    for instrument_id, mode, language in ((PRACTITIONER, "practitioner", "en"), (SELF_REPORT, "interview", "es")):
        start = {"youth_id": youth_id, "instrument_id": instrument_id, "mode": mode, "language": language}
        started = api(live_server, "POST", "/api/v1/screenings", token, start)
        body = {"version": started["version"], "answers": _answers(instrument_id), "notes": NOTE}
        saved = api(live_server, "PUT", f"/api/v1/screenings/{started['id']}/answers", token, body)
        path = f"/api/v1/screenings/{started['id']}/complete"
        api(live_server, "POST", path, token, {"version": saved["version"]})
        done.append(str(started["id"]))
    return done


def _switch_to(page: Page, language: str) -> None:
    """Press the header's language button (the reader's choice is saved with the account)."""
    if page.evaluate("document.documentElement.lang") != language:
        with page.expect_navigation():
            page.get_by_role("button", name={"en": "English", "es": "Español"}[language]).click()


def _check_fits(page: Page, width: int, where: str) -> None:
    # On a phone, window.innerWidth grows with the content: the viewport's own width is the limit too.
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width and scroll_width <= width, f"{where} scrolls sideways ({scroll_width} px)"
    assert page.evaluate(OVERFLOWING, width) == [], f"{where}: elements past the edge of the screen"


@pytest.mark.parametrize("device", ["page", "phone"])
def test_the_summary_fits_the_screen_in_english_and_spanish(
    device: str, request: pytest.FixtureRequest, live_server: LiveServer, screenings: list[str]
) -> None:
    page: Page = request.getfixturevalue(device)
    width = (page.viewport_size or {"width": 0})["width"]
    assert width in (1280, 360)
    errors = watch_console(page)
    login(page, live_server, READER)
    page.goto(live_server.at(f"/screenings/{screenings[0]}/summary"))
    try:
        for language, heading in (("en", "Referral summary"), ("es", "Resumen de derivación")):
            _switch_to(page, language)
            for screening_id in screenings:
                page.goto(live_server.at(f"/screenings/{screening_id}/summary"))
                where = f"the summary of {screening_id[:8]} in {language} at {width} px"
                expect(page.locator("h1")).to_have_text(heading)
                _check_fits(page, width, where)
                assert "Villasenor-Castellanos" in page.locator("#s-youth + dl").inner_text()
                assert NOTE[-30:] in page.locator("#s-notes + p").inner_text().replace("\n", "")
                if device == "page":
                    check_accessibility(page, where)
                screenshot(page, f"summary-{device}-{language}-{screening_id[:8]}")
    finally:
        _switch_to(page, "en")
    assert errors == [], errors
