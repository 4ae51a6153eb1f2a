"""Quick exit in a real Chromium: by the "Leave now" button, by Escape three times, on a hand-off, without JavaScript.

The exit goes to the neutral site (settings.quick_exit_url, https://www.google.com/), which the tests serve
as a small "Weather" page: the browser never goes out to the network.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser import LiveServer, check_accessibility, watch_console
from tests.browser.test_youth_browser import (
    EN,
    NEUTRAL_TITLE,
    NO_SAFE_PLACE,
    YOUTH_COOKIE,
    answer,
    assert_neutral,
    assert_no_judgement,
    click_and_wait,
    create_link,
    ended_reason,
    enter_code,
    guard_network,
    open_self_access,
    open_with_code,
    path_of,
    session_token,
    start_self_screening,
    walk_to_done,
)

NEUTRAL_URL = "https://www.google.com/"
PAST_QUESTION = "Has an adult who took care of you ever hit you, hurt you"


def to_second_page_of_questions(youth: Page) -> None:
    """Welcome → notice → first questions (answered) → notice → second questions."""
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    answer(youth, {"no_safe_place": "No", "stayed_away": "No"})
    click_and_wait(youth, youth.locator('button[name="action"][value="next"]'))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    expect(youth.get_by_text(PAST_QUESTION)).to_be_visible()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get_with_old_cookie(live_server: LiveServer, path: str, token: str) -> tuple[int, str]:
    """GET a youth page with a cookie the browser no longer has: (status, Location)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())  # never via a proxy
    opener.addheaders = [("Cookie", f"{YOUTH_COOKIE}={token}")]
    try:
        with opener.open(live_server.at(path), timeout=10) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def assert_left(youth: Page, live_server: LiveServer, token: str) -> None:
    """On the neutral site; Back does not bring the questions back; the session is over on the server."""
    youth.wait_for_url(NEUTRAL_URL)
    expect(youth.get_by_role("heading", level=1)).to_have_text(NEUTRAL_TITLE)
    assert youth.title() == NEUTRAL_TITLE
    youth.go_back()
    youth.wait_for_load_state()
    assert youth.url == NEUTRAL_URL or path_of(youth) == "/go", f"Back went to {youth.url}"
    expect(youth.get_by_text(PAST_QUESTION)).to_have_count(0)
    expect(youth.get_by_text(NO_SAFE_PLACE["en"])).to_have_count(0)
    expect(youth.locator("fieldset")).to_have_count(0)
    assert ended_reason(live_server, token, wait=10) == "exit"
    assert get_with_old_cookie(live_server, "/s/2?seen=1", token) == (303, "/go?ended=1")


def test_leave_now_button_ends_the_session_and_back_does_not_return(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    errors = watch_console(youth)
    link, code = create_link(staff, start_self_screening(staff, live_server))
    open_with_code(youth, link, code)
    to_second_page_of_questions(youth)
    token = session_token(youth.context)

    youth.get_by_role("link", name=EN.leave).click()
    assert_left(youth, live_server, token)
    assert errors == [], errors


def test_escape_three_times_ends_the_session_and_back_does_not_return(
    page: Page, youth_desktop: Page, live_server: LiveServer
) -> None:
    staff, youth = page, youth_desktop
    link, code = create_link(staff, start_self_screening(staff, live_server))
    open_with_code(youth, link, code)
    to_second_page_of_questions(youth)
    token = session_token(youth.context)

    youth.keyboard.press("Escape")
    youth.keyboard.press("Escape")
    assert path_of(youth) == "/s/2", "two presses of Escape already left"
    youth.keyboard.press("Escape")
    assert_left(youth, live_server, token)


def test_quick_exit_on_a_handed_over_device_leaves_the_staff_pages_asking_for_a_password(
    page: Page, live_server: LiveServer
) -> None:
    device = page
    guard_network(device.context)
    screening_id = start_self_screening(device, live_server)
    open_self_access(device, screening_id)
    click_and_wait(device, device.get_by_role("button", name="Hand this device to the youth"))
    assert path_of(device) == "/s/0"
    expect(device.get_by_role("button", name="Sign out")).to_have_count(0)  # no staff header on youth pages
    to_second_page_of_questions(device)
    token = session_token(device.context)

    device.get_by_role("link", name=EN.leave).click()
    assert_left(device, live_server, token)
    # The exit's Clear-Site-Data clears every cookie of the site, the staff session's too: sign in again.
    for staff_page in ("/youth", f"/screenings/{screening_id}/self", "/"):
        device.goto(staff_page)
        assert path_of(device) == "/login", f"{staff_page} after the youth left: {device.url}"
        expect(device.get_by_label("Password")).to_be_visible()
        expect(device.get_by_text("Jordan")).to_have_count(0)


def test_taking_a_handed_over_device_back_needs_the_password_and_ends_the_youth_session(
    page: Page, live_server: LiveServer
) -> None:
    device = page
    guard_network(device.context)
    screening_id = start_self_screening(device, live_server)
    open_self_access(device, screening_id)
    click_and_wait(device, device.get_by_role("button", name="Hand this device to the youth"))
    click_and_wait(device, device.get_by_role("link", name=EN.start, exact=True))
    token = session_token(device.context)

    device.goto("/youth")  # the staff member takes the device back
    assert path_of(device) == "/unlock", device.url
    expect(device.get_by_role("heading", level=1)).to_have_text("Staff only")
    check_accessibility(device, "the unlock page")
    device.get_by_label("Password").fill(DEMO_PASSWORD)
    click_and_wait(device, device.get_by_role("button", name="Unlock"))
    assert path_of(device) == f"/screenings/{screening_id}/self", device.url
    expect(device.locator("tbody tr").first).to_contain_text("Revoked")
    assert ended_reason(live_server, token) == "revoked"
    device.goto("/s/1?seen=1")
    assert path_of(device) == "/go", "the youth's pages stayed open after the staff member unlocked"


def test_the_whole_check_in_and_leave_now_work_without_javascript(
    page: Page, no_js_page: Page, live_server: LiveServer
) -> None:
    staff, youth = page, no_js_page
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server)
    link, code = create_link(staff, screening_id)
    open_with_code(youth, link, code)

    # Forward, back and forward again: the answers stay.
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    answer(youth, {"no_safe_place": "No", "stayed_away": "No", "unsafe_at_home": "No"})
    click_and_wait(youth, youth.get_by_role("button", name=EN.next, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    answer(youth, {"hurt_by_caregiver": "No"})
    click_and_wait(youth, youth.get_by_role("button", name=EN.back, exact=True))
    assert path_of(youth) == "/s/1"
    expect(youth.locator("fieldset#q_no_safe_place").get_by_label("No", exact=True)).to_be_checked()
    click_and_wait(youth, youth.get_by_role("button", name=EN.next, exact=True))
    if youth.locator('button[value="skip_section"]').count():  # the section's notice, shown again
        click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    expect(youth.locator("fieldset#q_hurt_by_caregiver").get_by_label("No", exact=True)).to_be_checked()

    # "Leave now" is a plain link: GET /exit ends the session and redirects to the neutral site.
    token = session_token(youth.context)
    youth.get_by_role("link", name=EN.leave).click()
    youth.wait_for_url(NEUTRAL_URL)
    expect(youth.get_by_role("heading", level=1)).to_have_text(NEUTRAL_TITLE)
    assert ended_reason(live_server, token) == "exit"
    assert YOUTH_COOKIE not in {c["name"] for c in youth.context.cookies()}
    youth.goto("/s/2?seen=1")
    assert urlparse(youth.url).path == "/go", "the questions opened again after Leave now"

    # The code still works (leaving is not losing the answers), back on the page the youth left: finish.
    youth.goto(link)
    enter_code(youth, code)
    assert path_of(youth) == "/s/2", youth.url
    expect(youth.locator("fieldset#q_hurt_by_caregiver").get_by_label("No", exact=True)).to_be_checked()
    youth.goto("/s/0")
    walk_to_done(youth, EN, {"no_safe_place": "No", "hurt_no_doctor": "No", "cant_leave": "No"})
    expect(youth.get_by_role("heading", level=1)).to_have_text(EN.thanks)
    assert_no_judgement(youth)
    assert_neutral(youth)
    check_accessibility(youth, "the last page without JavaScript")

    staff.goto(f"/screenings/{screening_id}/result")
    expect(staff.locator("#overall-heading")).to_contain_text("Overall:")
    answered = staff.locator('section[aria-labelledby="completeness-heading"] dd').first
    expect(answered).to_have_text("6 of 34")
