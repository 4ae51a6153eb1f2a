"""Corrections in a real Chromium: amend a completed screening, read the earlier revision, discard a draft.

The pages are plain forms (no JavaScript needed); axe-core checks each one. The screening and the draft
are made here through the API, so the shared demo data stays as it was.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser import LiveServer, api, check_accessibility, login, screenshot, watch_console

SCREENER = "screener@riverbend.example.org"
PRACTITIONER = "tellonce-practitioner-indicators"


def _screenings(live_server: LiveServer) -> tuple[str, str, str]:
    """A new synthetic youth with one completed screening and one draft; returns (youth, completed, draft) ids."""
    token = api(live_server, "POST", "/api/v1/auth/token", body={"username": SCREENER, "password": DEMO_PASSWORD})
    token = token["access_token"]
    youth = {"given_name": "Robin", "family_name": "Browsercase", "birth_date": "2011-02-03", "case_number": "BR-77"}
    youth_id = api(live_server, "POST", "/api/v1/youth", token, youth)["id"]
    start = {"youth_id": youth_id, "instrument_id": PRACTITIONER, "mode": "practitioner"}
    done = api(live_server, "POST", "/api/v1/screenings", token, start)
    answers = {"rate_coercion_debt": "clear_concern", "rate_housing_unstable": "possible_concern"}
    saved = api(
        live_server, "PUT", f"/api/v1/screenings/{done['id']}/answers", token, {"version": 1, "answers": answers}
    )
    api(live_server, "POST", f"/api/v1/screenings/{done['id']}/complete", token, {"version": saved["version"]})
    draft = api(live_server, "POST", "/api/v1/screenings", token, start)
    return youth_id, done["id"], draft["id"]


def test_amend_read_the_earlier_revision_and_discard_a_draft(page: Page, live_server: LiveServer) -> None:
    youth_id, done, draft = _screenings(live_server)
    errors = watch_console(page)
    login(page, live_server, SCREENER)

    page.goto(f"/screenings/{done}/result")
    expect(page.get_by_text("Revision 1 of 1.")).to_be_visible()
    page.get_by_role("link", name="Correct the answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Correct the answers")
    check_accessibility(page, "the amend page")
    page.locator("#q-rate_coercion_debt").get_by_label("No concern").check()
    page.get_by_label("Why are the answers being corrected? (required)").fill("The debt line was rated by mistake.")
    page.get_by_role("button", name="Save the correction").click()

    page.wait_for_url(f"**/screenings/{done}/result")
    expect(page.get_by_text("Revision 2 of 2.")).to_be_visible()
    expect(page.get_by_role("cell", name="The debt line was rated by mistake.")).to_be_visible()
    check_accessibility(page, "the result page with its revisions")
    screenshot(page, "result-amended")
    page.get_by_role("link", name="Revision 1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Result: revision 1 of 2")
    expect(page.get_by_text("This is not the current result")).to_be_visible()
    check_accessibility(page, "an earlier revision")

    page.goto(f"/youth/{youth_id}")
    page.locator(f'a[href="/screenings/{draft}/discard"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discard this draft?")
    check_accessibility(page, "the discard page")
    page.get_by_label("Why is it being discarded? (required)").fill("Started twice by mistake.")
    page.get_by_role("button", name="Discard the draft").click()
    page.wait_for_url(f"**/youth/{youth_id}")
    expect(page.locator(f'a[href^="/screenings/{draft}"]')).to_have_count(0)
    assert errors == [], errors
