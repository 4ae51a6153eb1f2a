"""Getting into a youth check-in in a real Chromium: save and finish later, wrong and revoked codes, slow guessing.

Wrong codes count against one limit per address (20 in 15 minutes from 127.0.0.1, for the whole test run):
these tests use 7 wrong tries in all, test_youth_accessibility.py one more.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Browser, Page, expect

from tests.browser import PHONE, LiveServer, check_accessibility, screenshot
from tests.browser.test_youth_browser import (
    EN,
    NO_SAFE_PLACE,
    YOUTH_COOKIE,
    assert_neutral,
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
)

DOES_NOT_WORK = "That code does not work. Check it and try again, or ask the person who gave it to you."
TOO_MANY = "Too many tries. Please wait a few minutes and try again."


def to_first_questions(youth: Page) -> None:
    """From the welcome page to the first page of questions (past the first section's notice)."""
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    expect(youth.locator("fieldset#q_no_safe_place legend")).to_have_text(NO_SAFE_PLACE["en"])


def test_save_and_finish_later_keeps_the_link_and_code_and_resumes_where_the_youth_stopped(
    page: Page, phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server)
    link, code = create_link(staff, screening_id)
    open_with_code(youth, link, code)
    to_first_questions(youth)
    youth.locator("fieldset#q_no_safe_place").get_by_label("No", exact=True).check()
    youth.locator("fieldset#q_stayed_away").get_by_label("Not sure", exact=True).check()
    youth.locator("fieldset#q_unsafe_at_home").get_by_label(EN.decline, exact=True).check()

    click_and_wait(youth, youth.get_by_role("button", name="Save and finish later"))
    expect(youth.get_by_role("heading", level=1)).to_have_text("Your answers are saved")
    expect(youth.locator("main")).to_contain_text("open the same link again and type the same code you were given")
    assert youth.locator("#link").inner_text().strip() == link  # the same link, shown again
    expect(youth.locator(".code")).to_have_count(0)  # and never the code
    assert code not in youth.content()
    assert YOUTH_COOKIE not in {c["name"] for c in youth.context.cookies()}, "pausing left the session cookie"
    youth.goto("/s/1?seen=1")
    assert path_of(youth) == "/go", "a paused session still opens the questions"

    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US"
    )
    try:
        guard_network(context)
        later = context.new_page()
        later.goto(link)
        assert_neutral(later)
        enter_code(later, code)  # the link and code the youth was given still work
        # Resuming opens the page where the youth stopped (here the first page of questions, notice read).
        assert path_of(later) == "/s/1", later.url
        expect(later.get_by_role("status")).to_contain_text("This is where you stopped")
        expect(later.get_by_role("link", name=EN.leave)).to_be_visible()
        expect(later.get_by_role("button", name="Save and finish later")).to_be_visible()
        group = later.locator("fieldset#q_no_safe_place")
        expect(group.get_by_label("No", exact=True)).to_be_checked()
        expect(group.get_by_label("Yes", exact=True)).not_to_be_checked()
        expect(later.locator("fieldset#q_stayed_away").get_by_label("Not sure", exact=True)).to_be_checked()
        expect(later.locator("fieldset#q_unsafe_at_home").get_by_label(EN.decline, exact=True)).to_be_checked()
        # "Not sure" about staying away opened the follow-up, which is there now, unanswered.
        expect(later.locator("fieldset#q_stay_in_return input:checked")).to_have_count(0)
        expect(later.locator("fieldset#q_stay_in_return")).to_be_visible()
    finally:
        context.close()


def test_a_revoked_code_is_refused_and_the_open_session_ends_on_its_next_request(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server)
    link, code = create_link(staff, screening_id)
    open_with_code(youth, link, code)
    token = session_token(youth.context)
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))  # the first section's notice

    open_self_access(staff, screening_id)
    rows = staff.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Active")
    with staff.expect_navigation():
        rows.first.get_by_role("button", name="Revoke").click()
    expect(staff.locator("tbody tr").first).to_contain_text("Revoked")

    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    url = urlparse(youth.url)
    assert (url.path, parse_qs(url.query)) == ("/go", {"ended": ["1"]}), youth.url
    expect(youth.get_by_text("This page was closed to keep your answers private.")).to_be_visible()
    expect(youth.get_by_text(NO_SAFE_PLACE["en"])).to_have_count(0)
    assert ended_reason(live_server, token) == "revoked"

    youth.goto(link)
    enter_code(youth, code)
    assert path_of(youth).startswith("/go"), youth.url
    expect(youth.get_by_role("alert")).to_contain_text(DOES_NOT_WORK)


def test_wrong_codes_get_a_plain_answer_and_repeated_guessing_on_a_link_is_slowed_down(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server)
    link, code = create_link(staff, screening_id)
    youth.goto(link)

    for attempt in range(5):
        enter_code(youth, "ABCD-2345" if attempt == 0 else f"WXYZ-{attempt + 2}{attempt + 2}{attempt + 2}{attempt + 2}")
        alert = youth.get_by_role("alert")
        expect(alert).to_contain_text("There is a problem")
        expect(alert).to_contain_text(DOES_NOT_WORK)
        expect(youth.locator("#code")).to_be_visible()
        if attempt == 0:
            check_accessibility(youth, "the code page with a wrong code")
            screenshot(youth, "youth-code-wrong-360")

    enter_code(youth, code)  # the right code, but after 5 wrong ones on this link
    assert path_of(youth) == "/go", "the right code got in straight after 5 wrong tries"
    expect(youth.get_by_role("alert")).to_contain_text(TOO_MANY)
    check_accessibility(youth, "the code page after too many tries")
    screenshot(youth, "youth-code-too-many-360")
