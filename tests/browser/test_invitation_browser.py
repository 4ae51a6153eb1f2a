"""Issue 16, done when: "A browser test scans the QR code's content (decode the SVG/PNG with a library) and
gets the link". The staff page's QR code is screenshot as a PNG and decoded with zxing-cpp; the decoded
link, followed on a phone, opens the code page in the screening's language (Spanish here)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.browser import LiveServer
from tests.browser.test_youth_browser import enter_code, guard_network, open_self_access, path_of, start_self_screening


def decoded_qr(qr: Locator) -> str:
    """What a phone camera reads from the QR code on screen."""
    image = Image.open(io.BytesIO(qr.screenshot(type="png")))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{len(found)} codes read from the QR code's screenshot"
    return found[0].text


def test_the_qr_code_reads_as_the_link_and_opens_the_code_page_in_spanish(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server, language="es")
    open_self_access(staff, screening_id)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Create a link and code").click()
    link, code = staff.locator("#link").inner_text().strip(), staff.locator("#code").inner_text().strip()
    assert link.startswith(live_server.url + "/go/") and link.endswith("?lang=es"), link

    qr = staff.get_by_role("img", name="QR code that opens the private link shown on this page")
    expect(qr).to_be_visible()
    assert decoded_qr(qr) == link

    # With JavaScript the link can be copied, and the page says so where a screen reader hears it.
    staff.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    staff.get_by_role("button", name="Copy link").click()
    expect(staff.get_by_role("status")).to_have_text("Copied")
    assert staff.evaluate("navigator.clipboard.readText()") == link

    # The printable slip opens in its own tab, in Spanish, and its QR code reads as the same link.
    with staff.context.expect_page() as opened:
        staff.get_by_role("button", name="Open the printable slip").click()
    slip = opened.value
    slip.wait_for_load_state()
    assert slip.evaluate("document.documentElement.lang") == "es"
    expect(slip.get_by_role("heading", level=1)).to_have_text("Un registro para ti")
    assert decoded_qr(slip.locator("svg.qr")) == link
    expect(slip.locator("body")).not_to_contain_text("Riverbend")  # no agency name unless asked

    # The youth follows what the camera read: the code page opens in Spanish, and the code opens the check-in.
    youth.goto(link)
    assert youth.evaluate("document.documentElement.lang") == "es"
    expect(youth.get_by_role("heading", level=1)).to_have_text("Escribe tu código")
    enter_code(youth, code)
    assert path_of(youth) == "/s/0", youth.url
    assert youth.evaluate("document.documentElement.lang") == "es"


def test_without_javascript_the_link_is_text_to_select_and_no_copy_button_shows(
    no_js_page: Page, live_server: LiveServer
) -> None:
    staff = no_js_page
    screening_id = start_self_screening(staff, live_server)
    open_self_access(staff, screening_id)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Create a link and code").click()
    expect(staff.locator("#link")).to_contain_text("/go/")
    expect(staff.get_by_role("button", name="Copy link")).to_have_count(0)
    expect(staff.get_by_role("img", name="QR code that opens the private link shown on this page")).to_be_visible()
