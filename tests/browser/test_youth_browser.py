"""The youth's self-administered check-in in a real Chromium: a screener starts it, a youth answers it on a phone.

The helpers here (starting a screening, a link and code, walking the youth's pages, the neutral site the
quick exit opens) are shared by the other tests/browser/test_youth_*.py files.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser import LiveServer, login, watch_console

SCREENER = "screener@riverbend.example.org"
SELF_REPORT = "tellonce-youth-self-report"
YOUTH_COOKIE = "tellonce_y"
NEUTRAL_TITLE = "Weather"
NEUTRAL_HTML = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Weather</title></head>"
    "<body><h1>Weather</h1><p>Sunny, 21 degrees.</p></body></html>"
)
NOT_NEUTRAL = re.compile(r"traffick|exploit|sex|abuse", re.IGNORECASE)
# What the youth must never see about themselves on the last page.
JUDGEMENT_WORDS = ("concern", "score", "risk", "flag")

# Questions of tellonce-youth-self-report used below, in English and Spanish.
NO_SAFE_PLACE = {
    "en": "In the past year, were there nights when you did not have a safe place to sleep?",
    "es": "En el último año, ¿hubo noches en que no tenías un lugar seguro para dormir?",
}


# ---- the network: only the live server, and a stand-in for the quick exit's neutral site ----


def guard_network(context: BrowserContext) -> None:
    """Serve the quick-exit site (https://www.google.com/) as a tiny "Weather" page; refuse any other host."""

    def handle(route: Route) -> None:
        if urlparse(route.request.url).hostname == "www.google.com":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_HTML)
        else:
            route.abort()

    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), handle)


# ---- the screener's side ----


_FRESH = itertools.count(1)


def start_self_screening(staff: Page, live_server: LiveServer, *, case: str | None = None, language: str = "en") -> str:
    """Sign in as the demo screener, open a youth, start a self-administered check-in.

    Without a case number, a new synthetic youth is added first: the tests share one server, and a youth
    who already finished a check-in would have their answers carried forward (and not be asked again).
    """
    login(staff, live_server, SCREENER)
    if case is None:
        case = f"BT-{next(_FRESH):04d}-{os.getpid()}"
        staff.goto("/youth/new")
        staff.fill("#given_name", "Robin")
        staff.fill("#family_name", f"Browsertest{case[3:7]}")
        staff.fill("#birth_date", "2010-02-03")
        staff.fill("#case_number", case)
        with staff.expect_navigation():
            staff.get_by_role("button", name="Add youth").click()
    staff.goto(f"/youth?case_number={case}")
    assert re.search(r"/youth/[^/?]+$", staff.url), f"the case number search did not open the record: {staff.url}"
    staff.locator(f'input[name="instrument"][value^="{SELF_REPORT}|"][value$="|self"]').check()
    staff.locator("#language").select_option(language)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Start screening").click()
    match = re.search(r"/screenings/([^/?#]+)/self$", staff.url)
    assert match, f"starting the screening went to {staff.url}"
    return match.group(1)


def open_self_access(staff: Page, screening_id: str) -> None:
    """The screening's "Self-administered check-in" page (where starting a self-administered screening lands)."""
    staff.goto(f"/screenings/{screening_id}/self")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Self-administered check-in")


def create_link(staff: Page, screening_id: str) -> tuple[str, str]:
    """Press "Create a link and code"; returns the private link and the code shown once. The link's address is
    the one the page was served from: the live server's port, with no public address configured (issue 16: links
    once pointed at 127.0.0.1:8000 whatever port the server ran on)."""
    open_self_access(staff, screening_id)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Create a link and code").click()
    link, code = staff.locator("#link").inner_text().strip(), staff.locator("#code").inner_text().strip()
    served = staff.evaluate("location.origin")
    assert re.fullmatch(re.escape(served) + r"/go/[\w-]+", link) and not served.endswith(":8000"), (link, served)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    return link, code


# ---- the youth's side ----


@dataclass(frozen=True)
class Words:
    """The youth pages' buttons and links in one language."""

    leave: str
    start: str
    go_on: str
    skip: str
    next: str
    back: str
    finish: str
    decline: str
    thanks: str


EN = Words(
    leave="Leave now",
    start="Start",
    go_on="Continue",
    skip="Skip this part",
    next="Next",
    back="Back",
    finish="Finish",
    decline="Prefer not to answer",
    thanks="Thank you",
)
ES = Words(
    leave="Salir ahora",
    start="Empezar",
    go_on="Continuar",
    skip="Saltar esta parte",
    next="Siguiente",
    back="Atrás",
    finish="Terminar",
    decline="Prefiero no responder",
    thanks="Gracias",
)


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def assert_neutral(page: Page) -> None:
    """Nothing in the youth page's title or address names what the check-in is about."""
    title = page.title()
    assert not NOT_NEUTRAL.search(title), f"the title {title!r} of {page.url} is not neutral"
    assert not NOT_NEUTRAL.search(page.url), f"the address {page.url} is not neutral"


def click_and_wait(page: Page, target: Any) -> None:
    """Click a link or submit button and wait for the page it leads to (after any redirects)."""
    with page.expect_navigation():
        target.click()
    assert_neutral(page)


def enter_code(youth: Page, code: str) -> None:
    """Type the code on the code page and press Continue (in whichever language the page is)."""
    assert_neutral(youth)
    youth.locator("#code").fill(code)
    click_and_wait(youth, youth.locator('form[action="/go"] [type="submit"]'))


def open_with_code(youth: Page, link: str, code: str) -> None:
    """Open the private link, type the code; lands on the welcome page."""
    youth.goto(link)
    expect(youth.get_by_role("heading", level=1)).to_have_text("Enter your code")
    enter_code(youth, code)
    assert path_of(youth) == "/s/0", f"the code did not open the check-in: {youth.url}"


def session_token(context: BrowserContext) -> str:
    """The youth's session cookie (HttpOnly, so read from the context)."""
    tokens = [c["value"] for c in context.cookies() if c["name"] == YOUTH_COOKIE]
    assert tokens, "the youth has no session cookie"
    return tokens[0]


def ended_reason(live_server: LiveServer, token: str, *, wait: float = 0.0) -> str | None:
    """Why the youth session with this cookie ended (None while open), from the server's database.

    Waits up to `wait` seconds for it to end (the script's quick exit sends its beacon in the background).
    """
    session_id = hashlib.sha256(token.encode()).hexdigest()
    deadline = time.monotonic() + wait
    while True:
        database = sqlite3.connect(live_server.data_dir / "tellonce.sqlite3")
        try:
            row = database.execute("SELECT ended_reason FROM youth_session WHERE id = ?", (session_id,)).fetchone()
        finally:
            database.close()
        assert row is not None, "no youth session has this cookie"
        if row[0] is not None or time.monotonic() >= deadline:
            return str(row[0]) if row[0] is not None else None
        time.sleep(0.1)


def is_notice(youth: Page) -> bool:
    """A notice page before a sensitive section (it offers to skip the section)."""
    return youth.locator('button[value="skip_section"]').count() > 0


def answer(youth: Page, answers: Mapping[str, str]) -> list[str]:
    """Choose an option (by its label) for each of these questions shown on the page; returns the ones answered."""
    done = []
    for item_id, label in answers.items():
        group = youth.locator(f"fieldset#q_{item_id}")
        if group.count():
            group.get_by_label(label, exact=True).check()
            done.append(item_id)
    return done


PageHook = Callable[[Page, str, int], None]


def walk_to_done(
    youth: Page,
    words: Words,
    answers: Mapping[str, str],
    *,
    skip: tuple[int, ...] = (),
    on_page: PageHook | None = None,
) -> list[str]:
    """From the welcome page to the end: read each notice, answer what is given, skip the sections asked.

    `on_page(youth, kind, number)` runs on every page before leaving it ("welcome", "notice" or "questions").
    Returns the ids of the questions answered, in order.
    """
    answered: list[str] = []
    assert path_of(youth) == "/s/0"
    if on_page:
        on_page(youth, "welcome", 0)
    click_and_wait(youth, youth.locator("a#start"))  # "Start", or on a resume "Continue where you stopped"
    for _ in range(40):
        path = path_of(youth)
        if path == "/s/done":
            return answered
        number = int(path.rsplit("/", 1)[-1])
        expect(youth.get_by_role("link", name=words.leave)).to_be_visible()
        if is_notice(youth):
            if on_page:
                on_page(youth, "notice", number)
            chosen = words.skip if number in skip else words.go_on
            click_and_wait(youth, youth.get_by_role("button" if number in skip else "link", name=chosen, exact=True))
        else:
            expect(
                youth.get_by_text("You can skip any question.").or_(
                    youth.get_by_text("Puedes saltar cualquier pregunta.")
                )
            ).to_be_visible()
            answered += [i for i in answer(youth, answers) if i not in answered]
            if on_page:
                on_page(youth, "questions", number)
            click_and_wait(youth, youth.locator('button[name="action"][value="next"]'))
    raise AssertionError(f"the check-in did not end (still at {youth.url})")


def assert_no_judgement(youth: Page) -> None:
    """The last page gives thanks and support, whatever the answers: no score, level, flag or label."""
    text = youth.locator("body").inner_text().lower()
    for word in JUDGEMENT_WORDS:
        assert word not in text, f"the youth's last page says {word!r}:\n{text}"


def result_facts(staff: Page) -> dict[str, str]:
    """The result page's "How complete the answers are" list, as {label: value}."""
    facts = staff.locator('section[aria-labelledby="completeness-heading"] dl')
    terms, values = facts.locator("dt").all_inner_texts(), facts.locator("dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


# ---- the whole check-in in English (Spanish: test_youth_spanish.py) ----

ENGLISH_ANSWERS = {
    "no_safe_place": "Yes",
    "stayed_away": "Prefer not to answer",
    "unsafe_at_home": "No",
    "stay_in_return": "No",
    "hurt_no_doctor": "No",
    "older_partner": "Not sure",
    "owes_money": "No",
    "not_paid": "No",
    "cant_leave": "No",
    "afraid_to_answer": "No",
}
PERSONAL_PAGE = 8  # "Personal things": sex and sexual pictures, behind a notice; skipped below


def test_english_check_in_on_a_phone_from_link_to_explained_result(
    page: Page, phone: Page, live_server: LiveServer
) -> None:
    staff, youth = page, phone
    guard_network(youth.context)
    errors = watch_console(youth)
    screening_id = start_self_screening(staff, live_server, language="en")
    link, code = create_link(staff, screening_id)

    youth.goto(link)
    assert_neutral(youth)
    expect(youth.locator("body")).not_to_contain_text(NO_SAFE_PLACE["en"])  # the link alone shows nothing
    enter_code(youth, code.lower().replace("-", " "))  # as a youth might type it
    assert path_of(youth) == "/s/0"
    welcome = youth.locator("main").inner_text()
    for promise in (
        "You can skip any question.",
        "Who will see your answers",
        "The staff at this program who work with you.",
        "There is one exception: if you tell us that someone is hurting you",  # the limits of confidentiality
        "It does not erase your browser history.",
    ):
        assert promise in welcome, f"the welcome page does not say {promise!r}"
    assert youth.evaluate("document.documentElement.scrollWidth") <= 360, "the welcome page scrolls sideways"

    follow_ups: list[bool] = []

    def on_page(tab: Page, kind: str, number: int) -> None:
        if kind == "questions" and number == 1:
            follow_ups.append(tab.locator("fieldset#q_stay_in_return").count() > 0)
        if kind == "notice" and number == PERSONAL_PAGE:
            expect(tab.get_by_role("button", name="Skip this part")).to_be_visible()

    answered = walk_to_done(youth, EN, ENGLISH_ANSWERS, skip=(PERSONAL_PAGE,), on_page=on_page)
    assert "stay_in_return" in answered, "the follow-up opened by 'Yes' on the first page was never asked"
    assert follow_ups == [False, True], follow_ups
    expect(youth.get_by_role("heading", level=1)).to_have_text("Thank you")
    done = youth.locator("main").inner_text()
    assert "Riverbend drop-in center" in done and "988" in done and "1-888-373-7888" in done, done
    assert_no_judgement(youth)
    assert errors == [], errors

    staff.goto(f"/screenings/{screening_id}")  # the screening's own page sends a completed one to its result
    staff.wait_for_url(f"**/screenings/{screening_id}/result")
    # One area (housing) at clear concern, one (relationships) at possible concern: possible concern overall.
    expect(staff.locator("#overall-heading")).to_have_text("Overall: Possible concern")
    housing = staff.locator("#d-housing")
    expect(housing.get_by_role("heading", level=3)).to_have_text("Housing and caregiving: Clear concern")
    expect(housing).to_contain_text("At least one answer in this area points clearly to one of its indicators.")
    expect(housing).to_contain_text(f"Evidence: {NO_SAFE_PLACE['en']} → Yes")
    facts = result_facts(staff)
    # Declined: "stayed away" by choice, and the 3 questions shown in the skipped "Personal things" page.
    assert facts["Prefer not to answer"] == "4", facts
    given = [i for i in answered if ENGLISH_ANSWERS[i] != EN.decline]
    assert facts["Answered"] == f"{len(given)} of 34", (facts, answered)
    expect(staff.get_by_text("Language the questions were asked in: English")).to_be_visible()
