"""The brief check-in filled in by staff about a young person [issue 16: it asked staff in the second person and
offered the youth's "Skip this section"]: the practitioner mode reads the instrument's staff wording on the
form, the review, the result and the summary sent to a partner; asked aloud (interview) it reads as the youth
hears it and keeps the skip."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import World, sign_in
from tests.app.sharing_support import add_youth, form_pages, screen, side, start

BRIEF = "tellonce-brief-screen"
YOUTH_WORDS = "In the past year, have you had nights with no safe place to sleep?"
STAFF_WORDS = "In the past year, has the young person had nights with no safe place to sleep?"
STAFF_NOTICE = "Answer from what the young person told you or what you saw."
YOUTH_NOTICE = "You can skip any question."
ES_STAFF_WORDS = "¿Otra persona se queda con el dinero que gana la persona joven?"


def _page(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_the_practitioner_mode_asks_staff_about_the_young_person_and_offers_no_skip(
    client: TestClient, world: World
) -> None:
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    screening = start(client, at, youth, instrument=BRIEF, mode="practitioner")
    assert screening["instrument_version"] == "1.4.0"
    sign_in(client, at.users["screener"])
    form = _page(client, f"/screenings/{screening['id']}?page=1")
    assert STAFF_WORDS in form and STAFF_NOTICE in form
    assert YOUTH_WORDS not in form and YOUTH_NOTICE not in form
    assert "Skip this section" not in form
    assert "Not enough information" in form  # what staff choose when they do not know


def test_asked_aloud_it_reads_as_the_young_person_hears_it_and_keeps_the_skip(client: TestClient, world: World) -> None:
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    screening = start(client, at, youth, instrument=BRIEF, mode="interview")
    sign_in(client, at.users["screener"])
    form = _page(client, f"/screenings/{screening['id']}?page=1")
    assert YOUTH_WORDS in form and YOUTH_NOTICE in form and "Skip this section" in form
    assert STAFF_WORDS not in form and STAFF_NOTICE not in form


def test_the_review_result_and_partner_summary_quote_the_question_as_staff_answered_it(
    client: TestClient, world: World
) -> None:
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    draft = start(client, at, youth, instrument=BRIEF, mode="practitioner")
    sign_in(client, at.users["screener"])
    saved = client.put(
        f"/api/v1/screenings/{draft['id']}/answers",
        headers=at.api,
        json={"version": draft["version"], "answers": {"nowhere_to_sleep": "yes", "debt_work": "no"}},
    )
    assert saved.status_code == 200, saved.text
    review = _page(client, f"/screenings/{draft['id']}/review")
    assert STAFF_WORDS in review and YOUTH_WORDS not in review
    done = screen(client, at, youth, {"nowhere_to_sleep": "yes"}, instrument=BRIEF, mode="practitioner")
    result = _page(client, f"/screenings/{done['id']}")
    assert STAFF_WORDS in result and YOUTH_WORDS not in result  # the evidence for the housing concern
    summary = _page(client, f"/screenings/{done['id']}/summary")
    assert STAFF_WORDS in summary and YOUTH_WORDS not in summary


@pytest.mark.parametrize("mode", ["practitioner", "interview"])
def test_a_spanish_screening_reads_the_spanish_of_its_mode(client: TestClient, world: World, mode: str) -> None:
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    body = {"youth_id": youth, "instrument_id": BRIEF, "mode": mode, "language": "es"}
    started = client.post("/api/v1/screenings", headers=at.api, json=body)
    assert started.status_code == 201, started.text
    sign_in(client, at.users["screener"])
    pages = html.unescape(form_pages(client, started.json()["id"]))
    youth_words = "¿Otra persona se queda con el dinero que ganas?"
    assert (ES_STAFF_WORDS in pages) == (mode == "practitioner")
    assert (youth_words in pages) == (mode == "interview")


def test_staff_record_that_the_young_person_declined_in_the_third_person(client: TestClient, world: World) -> None:
    """[issue 16 probe] "Prefer not to answer" is the young person's own choice; staff filling the form in about
    them choose, and then read, that they preferred not to answer."""
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    sign_in(client, at.users["screener"])
    practitioner = start(client, at, youth, instrument=BRIEF, mode="practitioner")
    form = _page(client, f"/screenings/{practitioner['id']}?page=1")
    assert "They preferred not to answer" in form and "Prefer not to answer" not in form
    interview = start(client, at, youth, instrument=BRIEF, mode="interview")
    assert "Prefer not to answer" in _page(client, f"/screenings/{interview['id']}?page=1")
    saved = client.put(
        f"/api/v1/screenings/{practitioner['id']}/answers",
        headers=at.api,
        json={"version": practitioner["version"], "answers": {"debt_work": "declined"}},
    )
    assert saved.status_code == 200, saved.text
    review = _page(client, f"/screenings/{practitioner['id']}/review")
    assert "They preferred not to answer" in review and "Prefer not to answer" not in review
    spanish = client.post(
        "/api/v1/screenings",
        headers=at.api,
        json={"youth_id": youth, "instrument_id": BRIEF, "mode": "practitioner", "language": "es"},
    )
    assert "Prefirió no responder" in _page(client, f"/screenings/{spanish.json()['id']}?page=1")


def test_a_questions_help_comes_before_its_choices_as_on_the_youths_pages(client: TestClient, world: World) -> None:
    """[issue 16 probe] Read aloud in an interview, a hint after the choices seemed to belong to the next question."""
    at = side(client, world, "Northside Youth Services")
    youth = add_youth(client, at, "NS-1")
    sign_in(client, at.users["screener"])
    screening = start(client, at, youth)  # the check-in, asked aloud
    page = _page(client, f"/screenings/{screening['id']}?page=1")
    question = page.split('id="q-stayed_away"', 1)[1].split("</fieldset>", 1)[0]
    assert question.index("Home can also mean a foster home or a group home.") < question.index('class="choices"')
