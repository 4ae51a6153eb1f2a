"""Issue 16, what an outside tester found, in a real Chromium: the link and code on the printed slip still
work after "Guardar y terminar después" and lead straight back to the page; a Spanish hand-off stays in
Spanish after the code is hidden (and on Back and reload); reloading the staff invitation page creates no
second link; and the code on that page is large enough to read aloud."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Browser, Page, expect

from tests.browser import PHONE, LiveServer, check_accessibility
from tests.browser.test_youth_browser import (
    ES,
    NO_SAFE_PLACE,
    click_and_wait,
    enter_code,
    guard_network,
    open_self_access,
    path_of,
    start_self_screening,
)


def font_size(page: Page, selector: str) -> float:
    return float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))


def test_the_slip_still_works_after_a_spanish_pause_and_a_reload_makes_no_second_link(
    page: Page, phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server, language="es")
    open_self_access(staff, screening_id)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Create a link and code").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Give these to the youth")
    link, code = staff.locator("#link").inner_text().strip(), staff.locator("#code").inner_text().strip()
    # The code to read aloud is large: bigger than the link next to it, as on the slip.
    assert font_size(staff, "#code") >= 1.5 * font_size(staff, "#link") >= 16, (
        font_size(staff, "#code"),
        font_size(staff, "#link"),
    )
    with staff.context.expect_page() as opened:
        staff.get_by_role("button", name="Open the printable slip").click()
    slip = opened.value
    slip.wait_for_load_state()
    expect(slip.locator("main")).to_contain_text("Puedes parar cuando quieras y volver más tarde")
    assert slip.locator("#code").inner_text().strip() == code
    slip.close()

    staff.reload()  # sends the form again: no second link
    assert path_of(staff) == f"/screenings/{screening_id}/self", staff.url
    expect(staff.get_by_role("status")).to_contain_text("already created, so no new one was made")
    rows = staff.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Active")
    check_accessibility(staff, "the check-in page after a reload of the link page")

    youth.goto(link)
    expect(youth.get_by_role("heading", level=1)).to_have_text("Escribe tu código")
    enter_code(youth, code)
    click_and_wait(youth, youth.get_by_role("link", name=ES.start, exact=True))
    click_and_wait(youth, youth.get_by_role("link", name=ES.go_on, exact=True))
    youth.locator("fieldset#q_no_safe_place").get_by_label("No", exact=True).check()
    click_and_wait(youth, youth.get_by_role("button", name="Guardar y terminar después"))
    expect(youth.get_by_role("heading", level=1)).to_have_text("Tus respuestas están guardadas")
    expect(youth.locator("main")).to_contain_text("abre el mismo enlace otra vez y escribe el mismo código")
    assert youth.locator("#link").inner_text().strip() == link
    check_accessibility(youth, "the Spanish paused page")

    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True, locale="es-US"
    )
    try:
        guard_network(context)
        later = context.new_page()
        later.goto(link)  # the slip's link and code, as the tester did
        enter_code(later, code)
        expect(later.get_by_role("alert")).to_have_count(0)  # not "Ese código no funciona"
        assert path_of(later) == "/s/1", later.url  # straight to the page where the youth stopped
        assert later.evaluate("document.documentElement.lang") == "es"
        expect(later.get_by_role("status")).to_contain_text("Aquí es donde te quedaste")
        expect(later.locator("fieldset#q_no_safe_place legend")).to_have_text(NO_SAFE_PLACE["es"])
        expect(later.locator("fieldset#q_no_safe_place").get_by_label("No", exact=True)).to_be_checked()
    finally:
        context.close()


def test_a_spanish_hand_off_stays_in_spanish_after_the_code_is_hidden(page: Page, live_server: LiveServer) -> None:
    device = page
    screening_id = start_self_screening(device, live_server, language="es")
    device.goto(f"/screenings/{screening_id}/self")
    click_and_wait(device, device.get_by_role("button", name="Hand this device to the youth"))
    click_and_wait(device, device.get_by_role("link", name=ES.start, exact=True))
    click_and_wait(device, device.get_by_role("link", name=ES.go_on, exact=True))
    click_and_wait(device, device.get_by_role("button", name="Guardar y terminar después"))
    code = device.locator("p.code").inner_text().strip()
    assert len(code.replace("-", "")) == 8, code  # a hand-off never had a link: a new link and code, once
    click_and_wait(device, device.get_by_role("link", name="Ya lo tengo, ocultar el código"))
    expect(device.get_by_text("Por favor devuelve este dispositivo a la persona que te lo dio.")).to_be_visible()
    assert device.evaluate("document.documentElement.lang") == "es"

    device.go_back()  # to the questions' page, whose session has ended
    device.wait_for_load_state()
    url = urlparse(device.url)
    assert (url.path, parse_qs(url.query)) == ("/go", {"ended": ["1"], "lang": ["es"]}), device.url
    assert device.evaluate("document.documentElement.lang") == "es"
    expect(device.get_by_text("Esta página se cerró para mantener tus respuestas en privado.")).to_be_visible()
    expect(device.get_by_text("This page was closed", exact=False)).to_have_count(0)
    assert code not in device.content()
    device.reload()
    assert device.evaluate("document.documentElement.lang") == "es"
    expect(device.get_by_role("link", name=ES.leave)).to_be_visible()
