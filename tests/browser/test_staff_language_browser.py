"""Staff read a result in their own language, whatever language the youth answered in (real Chromium).

A youth's check-in taken in Spanish is read by a worker whose pages are in English: every word on the
result page is English (no Spanish from the catalog or the instrument); after the worker switches to
Spanish, every word is Spanish (no English from the catalog or the instrument). Proper names, codes and
dates are neither, so the check compares phrases that differ between the two languages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from app.i18n import LOCALE_DIR
from instruments.loader import load
from tests.browser import LiveServer, api, check_accessibility, login, screenshot, watch_console

WORKER = "agency.admin@harbor.example.org"  # a login no other browser test uses: its language is changed here
SELF_REPORT = "tellonce-youth-self-report"
MIN_LENGTH = 12  # shorter phrases ("No", "Sí", "PDF") can stand in either language


def _pairs(value: Any) -> Iterator[tuple[str, str]]:
    """(English, Spanish) of every text mapping in an instrument definition."""
    if isinstance(value, dict):
        if isinstance(value.get("en"), str) and isinstance(value.get("es"), str):
            yield value["en"], value["es"]
        for child in value.values():
            yield from _pairs(child)
    elif isinstance(value, list | tuple):
        for child in value:
            yield from _pairs(child)


def _phrases(version: str) -> tuple[set[str], set[str]]:
    """English and Spanish phrases that differ: the interface catalog's and the instrument's."""
    with (LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    pairs = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(i, s) for i, s in zip(ids, strings, strict=False) if "%(" not in i]
    compiled = load().registry.get(SELF_REPORT, version)
    assert compiled is not None
    pairs += list(_pairs(compiled.definition.model_dump()))
    distinct = [(en, es) for en, es in pairs if en != es and min(len(en), len(es)) >= MIN_LENGTH]
    return {en for en, _ in distinct}, {es for _, es in distinct}


def _spanish_check_in(live_server: LiveServer) -> tuple[str, str]:
    """A youth's self-report taken in Spanish, completed; returns (screening id, instrument version)."""
    token = api(live_server, "POST", "/api/v1/auth/token", body={"username": WORKER, "password": DEMO_PASSWORD})
    token = token["access_token"]
    youth = {"given_name": "Noa", "family_name": "Browsercase", "birth_date": "2010-07-08", "case_number": "HB-55"}
    youth_id = api(live_server, "POST", "/api/v1/youth", token, youth)["id"]
    start = {"youth_id": youth_id, "instrument_id": SELF_REPORT, "mode": "interview", "language": "es"}
    started = api(live_server, "POST", "/api/v1/screenings", token, start)
    assert started["language"] == "es"
    answers = {
        "no_safe_place": "not_sure",
        "stayed_away": "no",
        "unsafe_at_home": "yes",
        "stay_in_return": "not_sure",
        "threatened": "yes",
        "pictures": "declined",
    }
    body = {"version": started["version"], "answers": answers}
    saved = api(live_server, "PUT", f"/api/v1/screenings/{started['id']}/answers", token, body)
    complete = {"version": saved["version"]}
    api(live_server, "POST", f"/api/v1/screenings/{started['id']}/complete", token, complete)
    return str(started["id"]), str(started["instrument_version"])


def test_a_spanish_check_in_reads_entirely_in_the_workers_language(page: Page, live_server: LiveServer) -> None:
    screening_id, version = _spanish_check_in(live_server)
    english, spanish = _phrases(version)
    errors = watch_console(page)
    login(page, live_server, WORKER)
    page.goto(live_server.at(f"/screenings/{screening_id}/result"))

    text = page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Housing and caregiving" in text and "Screening result" in text
    assert "Language the questions were asked in: Spanish" in text
    assert sorted(p for p in spanish if p in text) == [], "Spanish on an English reader's page"
    screenshot(page, "result-spanish-check-in-english-reader")

    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    try:
        text = page.locator("body").inner_text()
        assert page.evaluate("document.documentElement.lang") == "es"
        assert "Vivienda y cuidado" in text
        assert sorted(p for p in english if p in text) == [], "English on a Spanish reader's page"
        expect(page.locator("#overall-heading")).to_contain_text("Preocupación clara")
        check_accessibility(page, "a result page in Spanish")
        screenshot(page, "result-spanish-check-in-spanish-reader")
    finally:
        with page.expect_navigation():
            page.get_by_role("button", name="English").click()
    assert errors == [], errors
