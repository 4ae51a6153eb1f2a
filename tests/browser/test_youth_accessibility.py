"""Every youth page with axe-core (WCAG 2.1 A/AA), at 360 and 1280 wide, by keyboard, with neutral titles.

Screenshots: test-artifacts/screenshots/youth-<page>-360.png and -1280.png.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser import DESKTOP, PHONE, LiveServer, check_accessibility, login, screenshot, watch_console
from tests.browser.test_youth_browser import (
    EN,
    ENGLISH_ANSWERS,
    NOT_NEUTRAL,
    PERSONAL_PAGE,
    SCREENER,
    assert_neutral,
    assert_no_judgement,
    click_and_wait,
    create_link,
    enter_code,
    guard_network,
    path_of,
    start_self_screening,
    walk_to_done,
)

PRACTITIONER = "tellonce-practitioner-indicators"


def audit(youth: Page, name: str) -> None:
    """axe on the page as it is; screenshots at 360 and 1280 wide; no sideways scrolling on the phone."""
    assert_neutral(youth)
    label = f"the youth's {name} page"
    youth.evaluate("window.scrollTo(0, 0)")  # full-page shots of a scrolled page put the sticky exit bar mid-page
    check_accessibility(youth, label)
    width = youth.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{label} scrolls sideways at 360 wide ({width}px)"
    shot = screenshot(youth, f"youth-{name}-360")
    assert shot.stat().st_size > 5_000, f"{shot} looks empty"
    youth.set_viewport_size(DESKTOP)
    check_accessibility(youth, f"{label} (1280 wide)")
    screenshot(youth, f"youth-{name}-1280")
    youth.set_viewport_size(PHONE)


def tab_from_the_top(youth: Page) -> dict[str, str]:
    """Load the page afresh, press Tab once: what has focus, and how it shows."""
    youth.goto(youth.url)
    youth.keyboard.press("Tab")
    focused: dict[str, str] = youth.evaluate(
        """() => {
          const el = document.activeElement, style = getComputedStyle(el);
          return {id: el.id, text: el.textContent.trim(), visible: String(el.matches(':focus-visible')),
                  outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, outlineColor: style.outlineColor};
        }"""
    )
    return focused


def assert_leave_now_first(youth: Page, words_leave: str = EN.leave) -> None:
    focused = tab_from_the_top(youth)
    assert focused["id"] == "quick-exit" and focused["text"] == words_leave, f"Tab first reached {focused}"
    assert focused["visible"] == "true", focused
    assert focused["outlineStyle"] != "none" and focused["outlineWidth"] not in ("0px", ""), focused
    expect(youth.locator("#quick-exit")).to_be_in_viewport()


def test_every_youth_page_passes_axe_fits_a_phone_and_has_a_neutral_title(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    errors = watch_console(youth)
    screening_id = start_self_screening(staff, live_server)
    link, code = create_link(staff, screening_id)

    youth.goto(link)
    audit(youth, "code")
    assert_leave_now_first(youth)
    enter_code(youth, "HJKM-NPQR")  # one wrong try (see test_youth_access.py for the limits)
    expect(youth.get_by_role("alert")).to_be_visible()
    audit(youth, "code-error")
    youth.goto("/go?ended=1")
    audit(youth, "code-ended")
    youth.goto(link)
    enter_code(youth, code)
    assert path_of(youth) == "/s/0"
    audit(youth, "welcome")
    assert_leave_now_first(youth)

    # Two pages in, save and finish later; then come back with the new code.
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    youth.locator("fieldset#q_no_safe_place").get_by_label("Yes", exact=True).check()
    click_and_wait(youth, youth.locator('button[name="action"][value="next"]'))
    expect(youth.get_by_role("status")).to_have_text("Your answer opened one more question on this page.")
    assert youth.url.endswith("#more"), youth.url
    note, bar = youth.locator("#more").bounding_box(), youth.locator(".exit-bar").bounding_box()
    assert note and bar and note["y"] >= bar["y"] + bar["height"], f"the exit bar hides the new question: {note} {bar}"
    expect(youth.locator("#more + fieldset")).to_be_in_viewport()
    audit(youth, "follow-up")
    click_and_wait(youth, youth.get_by_role("button", name="Save and finish later"))
    audit(youth, "paused")
    youth.goto(youth.locator("#link").inner_text().strip())  # the same link and code as before the pause
    enter_code(youth, code)
    assert path_of(youth) == "/s/1", youth.url  # back on the page where the youth stopped
    audit(youth, "resumed")
    youth.goto("/s/0")

    audited: set[str] = set()
    titles: set[str] = set()

    def on_page(tab: Page, kind: str, number: int) -> None:
        titles.add(tab.title())
        name = {"welcome": "welcome", "notice": "notice", "questions": "questions"}[kind]
        if number == PERSONAL_PAGE:
            name += "-personal"
        if name not in audited:
            audited.add(name)
            if kind == "questions":
                assert_leave_now_first(tab)
            audit(tab, name if kind != "welcome" else "welcome-again")
        else:
            check_accessibility(tab, f"the youth's page {number} ({kind})")

    walk_to_done(youth, EN, ENGLISH_ANSWERS, on_page=on_page)
    assert {"notice", "questions", "notice-personal", "questions-personal"} <= audited, audited
    audit(youth, "done")
    assert_no_judgement(youth)
    titles.add(youth.title())
    assert titles == {"Check-in"}, titles
    assert not any(NOT_NEUTRAL.search(t) for t in titles)
    expected = "the server responded with a status of 400 (Bad Request) (" + live_server.at("/go)")  # the wrong try
    assert [e for e in errors if not e.endswith(expected)] == [], errors

    # The practitioner side: the result of this check-in, and a practitioner form.
    staff.goto(f"/screenings/{screening_id}/result")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Screening result")
    check_accessibility(staff, "the result of a self-administered check-in")
    screenshot(staff, "youth-result-practitioner-1280")
    staff.goto(f"/screenings/{screening_id}/self")
    check_accessibility(staff, "the self-administered check-in page after the youth finished")


def test_the_practitioner_pages_that_start_and_hand_over_a_check_in_pass_axe(
    page: Page, live_server: LiveServer
) -> None:
    login(page, live_server, SCREENER)
    page.goto("/youth?case_number=RB-1003")
    check_accessibility(page, "the youth record with the start form")
    page.locator(f'input[name="instrument"][value^="{PRACTITIONER}|"][value$="|practitioner"]').check()
    with page.expect_navigation():
        page.get_by_role("button", name="Start screening").click()
    assert "/screenings/" in page.url and "page=1" in page.url, page.url
    check_accessibility(page, "the practitioner screening form")
    screenshot(page, "practitioner-screening-form-1280")

    screening_id = start_self_screening(page, live_server)
    check_accessibility(page, "the self-administered check-in page")
    screenshot(page, "youth-self-access-1280")
    create_link(page, screening_id)
    check_accessibility(page, "the link and code slip")
    screenshot(page, "youth-link-and-code-1280")


def test_a_follow_up_opens_on_the_same_page_in_view_below_the_exit_bar(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    link, code = create_link(staff, start_self_screening(staff, live_server))
    youth.goto(link)
    enter_code(youth, code)
    click_and_wait(youth, youth.get_by_role("link", name=EN.start, exact=True))
    while youth.locator("fieldset#q_owes_money").count() == 0:  # on to "Money", answering nothing
        if youth.locator('button[value="skip_section"]').count():
            click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
        else:
            click_and_wait(youth, youth.locator('button[name="action"][value="next"]'))
    expect(youth.locator("fieldset#q_work_to_pay")).to_have_count(0)
    youth.locator("fieldset#q_owes_money").get_by_label("Yes", exact=True).check()
    click_and_wait(youth, youth.locator('button[name="action"][value="next"]'))

    assert youth.url.endswith("/s/6?seen=1&more=1#more"), youth.url
    note, bar = youth.locator("#more").bounding_box(), youth.locator(".exit-bar").bounding_box()
    assert note and bar and note["y"] >= bar["y"] + bar["height"], f"the exit bar hides the new question: {note} {bar}"
    expect(youth.locator("#more + fieldset")).to_have_id("q_work_to_pay")
    expect(youth.locator("#more + fieldset legend")).to_be_in_viewport()
    screenshot(youth, "youth-follow-up-middle-360")
