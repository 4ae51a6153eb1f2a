"""Issue 16, youth pages in Chromium: Tab order matches what is drawn, the progress line stays visible when
scrolled, the Esc hint shows only with a keyboard and JavaScript, and a hand-off ends with "please give the
device back" without the code left on the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import DESKTOP, LiveServer, check_accessibility, screenshot
from tests.browser.test_youth_browser import (
    EN,
    click_and_wait,
    create_link,
    open_with_code,
    path_of,
    start_self_screening,
    walk_to_done,
)


def to_questions(youth: Page) -> None:
    """From the welcome page to the first page of questions, past its notice."""
    click_and_wait(youth, youth.locator("a#start"))
    click_and_wait(youth, youth.get_by_role("link", name=EN.go_on, exact=True))
    expect(youth.locator("#progress-label")).to_have_text("Page 1 / 9")


def tab_order(youth: Page) -> list[str]:
    """Press Tab from the top of the page until focus leaves the page; the names of what got focus, in order."""
    youth.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    names: list[str] = []
    for _ in range(80):
        youth.keyboard.press("Tab")
        name = youth.evaluate(
            """() => { const el = document.activeElement;
              if (!el || el === document.body) return '';
              if (el.tagName === 'BUTTON') return el.value;
              if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') return 'field ' + el.name;
              return el.textContent.trim(); }"""
        )
        if not name or name in names:
            break
        names.append(name)
    return names


def test_focus_order_matches_visual_order(page: Page, youth_desktop: Page, live_server: LiveServer) -> None:
    staff, youth = page, youth_desktop
    open_with_code(youth, *create_link(staff, start_self_screening(staff, live_server)))
    to_questions(youth)
    order = tab_order(youth)
    assert order[0] == EN.leave, order
    assert "back" in order and "next" in order, order
    assert order.index("back") < order.index("next"), f"Tab reaches Next before Back: {order}"
    back, forward = (
        youth.locator('button[value="back"]').bounding_box(),
        youth.locator(".actions button[value='next']").bounding_box(),
    )
    assert back and forward and (back["y"], back["x"]) < (forward["y"], forward["x"]), "Back is not drawn first"
    # Enter in the form still goes forward, not back.
    youth.locator("fieldset#q_no_safe_place").get_by_label("No", exact=True).focus()
    with youth.expect_navigation():
        youth.keyboard.press("Enter")
    assert path_of(youth) == "/s/2", youth.url


@pytest.mark.parametrize("size", [DESKTOP, {"width": 360, "height": 640}], ids=["1280", "360"])
def test_the_progress_line_stays_visible_when_scrolled(
    page: Page, youth_desktop: Page, live_server: LiveServer, size: dict[str, int]
) -> None:
    staff, youth = page, youth_desktop
    youth.set_viewport_size(size)
    open_with_code(youth, *create_link(staff, start_self_screening(staff, live_server)))
    to_questions(youth)
    youth.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert youth.evaluate("window.scrollY") > 0, "the page is too short to scroll"
    on_top = youth.evaluate(
        """() => {
          const label = document.getElementById('progress-label'), box = label.getBoundingClientRect();
          const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
          return hit === label || label.contains(hit);
        }"""
    )
    assert on_top, "something covers the progress line after scrolling"
    expect(youth.locator("#progress-label")).to_be_in_viewport()
    screenshot(youth, f"youth-progress-scrolled-{size['width']}")


def test_the_esc_hint_shows_only_with_a_keyboard_and_javascript(
    page: Page, youth_desktop: Page, phone: Page, no_js_page: Page, live_server: LiveServer
) -> None:
    staff = page
    for youth, shown in ((youth_desktop, True), (phone, False), (no_js_page, False)):
        open_with_code(youth, *create_link(staff, start_self_screening(staff, live_server)))
        expect(youth.get_by_role("link", name=EN.leave)).to_be_visible()
        hint = youth.get_by_text("or press Esc three times")
        if shown:
            expect(hint).to_be_visible()
            expect(youth.get_by_text("On a keyboard, you can also press the Esc key three times.")).to_be_visible()
        else:
            expect(hint).to_be_hidden()
            expect(youth.get_by_text("On a keyboard, you can also press the Esc key three times.")).to_be_hidden()


def test_a_hand_off_ends_with_please_give_the_device_back(page: Page, live_server: LiveServer) -> None:
    device = page
    screening_id = start_self_screening(device, live_server)
    device.goto(f"/screenings/{screening_id}/self")
    click_and_wait(device, device.get_by_role("button", name="Hand this device to the youth"))
    walk_to_done(device, EN, {"no_safe_place": "No"})
    expect(device.get_by_role("heading", level=1)).to_have_text(EN.thanks)
    expect(device.locator('a[href="tel:+18883737888"]')).to_be_visible()
    expect(device.locator('a[href="sms:233733"]')).to_be_visible()
    click_and_wait(device, device.get_by_role("link", name="I'm ready to give it back"))
    expect(device.get_by_text("Please give this device back to the person who gave it to you.")).to_be_visible()
    check_accessibility(device, "the hand-back page")
    screenshot(device, "youth-handback-1280")


def test_a_paused_hand_off_hides_the_code_after_it_is_shown_once(page: Page, live_server: LiveServer) -> None:
    device = page
    screening_id = start_self_screening(device, live_server)
    device.goto(f"/screenings/{screening_id}/self")
    click_and_wait(device, device.get_by_role("button", name="Hand this device to the youth"))
    to_questions(device)
    click_and_wait(device, device.get_by_role("button", name="Save and finish later"))
    code = device.locator("p.code").inner_text().strip()
    assert len(code.replace("-", "")) == 8, code
    click_and_wait(device, device.get_by_role("link", name="I have it, hide the code"))
    expect(device.get_by_text("Please give this device back to the person who gave it to you.")).to_be_visible()
    device.go_back()  # Back does not bring the code back: the code page was replaced, not stacked
    assert code not in device.content()
