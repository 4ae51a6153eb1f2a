"""The youth's check-in in Spanish, chosen on the welcome page, in a real Chromium on a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser import LiveServer
from tests.browser.test_youth_browser import (
    ES,
    PERSONAL_PAGE,
    assert_no_judgement,
    create_link,
    guard_network,
    open_with_code,
    path_of,
    result_facts,
    start_self_screening,
    walk_to_done,
)

SPANISH_ANSWERS = {
    "no_safe_place": "No",
    "stayed_away": "Prefiero no responder",
    "unsafe_at_home": "No estoy seguro/a",
    "hurt_no_doctor": "No",
    "older_partner": "No",
    "cant_leave": "No",
}


def test_spanish_check_in_chosen_on_the_welcome_page(page: Page, phone: Page, live_server: LiveServer) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    screening_id = start_self_screening(staff, live_server, language="en")
    link, code = create_link(staff, screening_id)
    open_with_code(youth, link, code)
    expect(youth.get_by_role("link", name="Leave now")).to_be_visible()

    with youth.expect_navigation():
        youth.locator("form.lang-form").get_by_role("button", name="Español").click()
    assert path_of(youth) == "/s/0"
    assert youth.evaluate("document.documentElement.lang") == "es"
    expect(youth.get_by_role("link", name="Salir ahora")).to_be_visible()
    expect(youth.get_by_role("link", name="Leave now")).to_have_count(0)
    expect(youth.get_by_role("heading", level=1)).not_to_have_text("Welcome")
    expect(youth.locator("main")).to_contain_text("No borra tu historial del navegador.")

    seen_pages: list[str] = []

    def on_page(tab: Page, kind: str, number: int) -> None:
        main = tab.locator("main").inner_text()
        seen_pages.append(kind)
        assert "Leave now" not in tab.locator("body").inner_text()
        if kind == "questions":
            assert "Prefiero no responder" in main and ("Siguiente" in main or "Terminar" in main), main
            assert "¿" in main, f"page {number} has no question in Spanish:\n{main}"
            assert "Prefer not to answer" not in main and "Next" not in main

    walk_to_done(youth, ES, SPANISH_ANSWERS, skip=(PERSONAL_PAGE,), on_page=on_page)
    assert seen_pages.count("questions") >= 8, seen_pages
    expect(youth.get_by_role("heading", level=1)).to_have_text("Gracias")
    expect(youth.locator("main")).to_contain_text("Línea 988")
    assert youth.evaluate("document.documentElement.lang") == "es"
    assert_no_judgement(youth)

    # The youth answered in Spanish; the staff member reads English, so the result reads in English.
    staff.goto(f"/screenings/{screening_id}/result")
    expect(staff.get_by_text("Language the questions were asked in: Spanish")).to_be_visible()
    expect(staff.locator("#d-housing")).to_contain_text("Housing and caregiving")
    expect(staff.locator("#d-housing")).to_contain_text("Do you feel unsafe with anyone you live with? → Not sure")
    expect(staff.locator("#d-housing")).not_to_contain_text("Vivienda y cuidado")
    assert result_facts(staff)["Prefer not to answer"] == "4"
