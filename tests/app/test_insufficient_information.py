"""A screening where too little is known reads "Not enough information to conclude" on every staff
surface, never "No concern": result, review, dashboard and its filter, the youth's record, the
referral summary and its PDF, and the aggregate report. Also: the reason names the clause that fired,
a sum instrument shows its total and threshold, and skipped sections are listed."""

from __future__ import annotations

import re
from csv import DictReader
from html import unescape
from io import StringIO
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import loaded_instruments
from instruments.loader import load
from tests.app.conftest import World, bearer, sign_in

PRACTITIONER, SELF_REPORT, BRIEF = (
    "tellonce-practitioner-indicators",
    "tellonce-youth-self-report",
    "tellonce-brief-screen",
)
REGISTRY = load().registry
INSUFFICIENT_BADGE = '<span class="level level-insufficient_information">Not enough information to conclude</span>'
NO_CONCERN_BADGE = '<span class="level level-no_concern">No concern</span>'


def _everything(instrument_id: str, code: str, **overrides: str) -> dict[str, str]:
    """`code` for every item shown whatever the answers (no show_if), with `overrides`."""
    compiled = REGISTRY.get(instrument_id, "1.1.0")
    assert compiled is not None
    answers = {i: code for i in compiled.visibility_order if i not in compiled.show_if}
    return {**answers, **overrides}


def _completed(
    client: TestClient, auth: dict[str, str], instrument_id: str, mode: str, answers: dict[str, Any], **start: str
) -> tuple[str, str, dict[str, Any]]:
    """A youth and a completed screening of it through the API: (youth id, screening id, completion)."""
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Rowan", "family_name": "Synthetic", "birth_date": "2009-05-06", "case_number": "SY-0001"},
    )
    assert youth.status_code == 201, youth.text
    youth_id = youth.json()["id"]
    started = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth_id, "instrument_id": instrument_id, "mode": mode, **start},
    )
    assert started.status_code == 201, started.text
    screening = started.json()
    newest = loaded_instruments().get(instrument_id)
    assert newest is not None and screening["instrument_version"] == newest.definition.version
    saved = client.put(
        f"/api/v1/screenings/{screening['id']}/answers",
        headers=auth,
        json={"version": screening["version"], "answers": answers},
    )
    assert saved.status_code == 200, saved.text
    done = client.post(
        f"/api/v1/screenings/{screening['id']}/complete", headers=auth, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    return youth_id, screening["id"], done.json()


def _overall(html: str) -> str:
    """The overall heading of a result page or a summary."""
    match = re.search(r'<h2 id="(?:overall-heading|s-overall)">(.*?)</h2>', html, re.S)
    assert match, "the page has an overall heading"
    return match.group(1)


def test_all_unknown_practitioner_rating_is_insufficient_on_every_staff_page(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth_id, screening_id, done = _completed(
        client, auth, PRACTITIONER, "practitioner", _everything(PRACTITIONER, "not_enough_info")
    )
    assert done["overall_level"] == "insufficient_information"
    sign_in(client, screener)

    result = client.get(f"/screenings/{screening_id}/result").text
    assert INSUFFICIENT_BADGE in _overall(result) and "No concern" not in _overall(result)
    assert "This is not a &#39;no concern&#39; result." in result
    assert NO_CONCERN_BADGE not in result  # no domain reads "no concern" either
    assert result.count('<span class="level level-insufficient_information">') == 1 + 8  # overall and 8 domains
    assert "8 domains have too little information to conclude: Housing and caregiving, Prior abuse" in result
    assert "34 indicators have too little information to conclude: No safe, stable place to live;" in result
    assert "Rate the lines marked &#39;not enough information&#39; again within 30 days" in result  # next steps

    dashboard = client.get("/").text
    assert INSUFFICIENT_BADGE in dashboard and NO_CONCERN_BADGE not in dashboard
    assert screening_id in client.get("/?level=insufficient_information").text
    assert screening_id not in client.get("/?level=no_concern").text
    assert INSUFFICIENT_BADGE in client.get(f"/youth/{youth_id}").text  # the youth's timeline

    summary = client.get(f"/screenings/{screening_id}/summary").text
    assert INSUFFICIENT_BADGE in _overall(summary) and "This is not a &#39;no concern&#39; result." in summary
    assert "Skipped, or no information given: Housing and caregiving" in summary

    sign_in(client, world.user(agency, "supervisor"))
    report = client.get("/reports").text  # its own category in the chart legend (counts: tests/app/test_reports.py)
    assert "Not enough information to conclude" in report and "No concern" in report


def test_the_pdf_says_not_enough_information(client: TestClient, world: World) -> None:
    from weasyprint import HTML

    from app.crypto import get_key_ring
    from app.exports import summary
    from tests.app.test_summary import _pdf_text

    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    _, screening_id, _ = _completed(client, auth, BRIEF, "practitioner", _everything(BRIEF, "not_enough_info"))
    sign_in(client, screener)
    response = client.get(f"/screenings/{screening_id}/summary.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    built = summary.build(world.session, get_key_ring(), REGISTRY, screener, screening_id)
    text = " ".join(
        _pdf_text(HTML(string=summary.html(built, pdf=True), url_fetcher=summary._no_fetch).render()).split()
    )
    assert "Result: Not enough information to conclude" in text
    assert "This is not a 'no concern' result." in text
    assert "Questions answered 'yes': 0" in text and "Possible concern: at least 1" in text
    assert "Result: No concern" not in text


def test_all_declined_check_in_is_insufficient(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    _, screening_id, done = _completed(client, auth, SELF_REPORT, "interview", _everything(SELF_REPORT, "declined"))
    assert done["overall_level"] == "insufficient_information"
    sign_in(client, screener)
    result = client.get(f"/screenings/{screening_id}/result").text
    assert INSUFFICIENT_BADGE in _overall(result)
    assert "Skipped, or no information given: Where you live, Things from before" in result


def test_a_skipped_section_is_never_no_concern(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    personal = ("pictures", "sex_for_things", "pushed_to_others")
    answers = _everything(SELF_REPORT, "no", **dict.fromkeys(personal, "declined"))
    _, screening_id, done = _completed(client, auth, SELF_REPORT, "interview", answers)
    assert done["overall_level"] == "insufficient_information"
    sign_in(client, screener)
    for page in (f"/screenings/{screening_id}/result", f"/screenings/{screening_id}/summary"):
        html = client.get(page).text
        heading = re.search(r"<h3[^>]*>Exploitation, sexual and labor: (.*?)</h3>", html, re.S)
        assert (
            heading
            and "Not enough information to conclude" in heading.group(1)
            and "No concern" not in heading.group(1)
        )
        assert "Skipped, or no information given: Personal things" in html, page
        assert "The young person answered questions in this area" not in html

    today = done["completed_at"][:10]
    window = {"recipient": agency.id, "from": today, "to": today}
    supervisor = bearer(client, world.user(agency, "supervisor"))
    [row] = client.get("/api/v1/exports", headers=supervisor, params={**window, "format": "json"}).json()
    assert row["domains"]["exploitation"] == "insufficient_information"
    assert row["result"]["skipped_sections"] == ["personal"]
    csv = client.get("/api/v1/exports", headers=supervisor, params={**window, "format": "csv"}).text
    [cells] = list(DictReader(StringIO(csv.lstrip("\ufeff"))))
    assert cells["domain.exploitation"] == "insufficient_information" and cells["skipped_sections"] == "personal"


def test_the_reason_names_the_clause_that_fired(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    answers = _everything(
        PRACTITIONER, "no_concern", rate_housing_unstable="clear_concern", rate_coercion_threats="clear_concern"
    )
    _, screening_id, done = _completed(client, auth, PRACTITIONER, "practitioner", answers)
    assert done["overall_level"] == "clear_concern"
    sign_in(client, screener)
    result = client.get(f"/screenings/{screening_id}/result").text
    assert "2 domains are at clear concern (this rule needs at least 2): Housing and caregiving, Coercion" in result
    assert "Domains at this level: Housing and caregiving, Coercion" in result


def test_a_sum_instrument_shows_its_total_and_threshold(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    answers = _everything(BRIEF, "no", nowhere_to_sleep="yes")
    _, screening_id, done = _completed(client, auth, BRIEF, "practitioner", answers)
    assert done["overall_level"] == "possible_concern"
    sign_in(client, screener)
    result = client.get(f"/screenings/{screening_id}/result").text
    assert "Questions answered &#39;yes&#39;: <strong>1</strong>" in result
    assert "Possible concern: at least 1" in result
    assert "Questions answered &#39;yes&#39;: 1 (this rule needs at least 1)" in result  # the clause that fired


def test_the_review_page_warns_when_most_lines_carry_no_information(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Kai", "family_name": "Synthetic", "birth_date": "2010-01-02", "case_number": "SY-0002"},
    ).json()
    started = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth["id"], "instrument_id": PRACTITIONER, "mode": "practitioner"},
    ).json()
    answers = {"rate_housing_unstable": "no_concern", "rate_housing_runaway": "not_enough_info"}
    saved = client.put(
        f"/api/v1/screenings/{started['id']}/answers",
        headers=auth,
        json={"version": started["version"], "answers": answers},
    )
    assert saved.status_code == 200
    sign_in(client, screener)
    review = client.get(f"/screenings/{started['id']}/review").text
    assert "33 of 34 lines carry no information" in review
    assert "the result will most likely be 'Not enough information to conclude'" in unescape(review)


EMPTY_SCREENINGS = [
    pytest.param(PRACTITIONER, "practitioner", "not_enough_info", id="practitioner-all-not-enough-info"),
    pytest.param(SELF_REPORT, "interview", "declined", id="check-in-all-declined"),
    pytest.param(BRIEF, "practitioner", "not_enough_info", id="brief-all-not-enough-info"),
]


@pytest.mark.parametrize(("instrument_id", "mode", "code"), EMPTY_SCREENINGS)
def test_an_empty_screening_is_insufficient_on_every_surface(
    client: TestClient, world: World, instrument_id: str, mode: str, code: str
) -> None:
    from weasyprint import HTML

    from app.crypto import get_key_ring
    from app.exports import summary
    from tests.app.test_summary import _pdf_text

    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth_id, screening_id, done = _completed(client, auth, instrument_id, mode, _everything(instrument_id, code))
    assert done["overall_level"] == "insufficient_information"
    sign_in(client, screener)

    pages = {
        "result": unescape(client.get(f"/screenings/{screening_id}/result").text),
        "summary": unescape(client.get(f"/screenings/{screening_id}/summary").text),
    }
    for name, html in pages.items():
        assert INSUFFICIENT_BADGE in _overall(html) and "No concern" not in _overall(html), name
        assert NO_CONCERN_BADGE not in html, name
        assert "This is not a 'no concern' result." in html, name
    for url in ("/", f"/youth/{youth_id}", "/?level=insufficient_information"):
        listed = client.get(url).text
        assert INSUFFICIENT_BADGE in listed and NO_CONCERN_BADGE not in listed, url

    built = summary.build(world.session, get_key_ring(), REGISTRY, screener, screening_id)
    pdf = HTML(string=summary.html(built, pdf=True), url_fetcher=summary._no_fetch).render()
    text = " ".join(_pdf_text(pdf).split())
    assert "Result: Not enough information to conclude" in text and "Result: No concern" not in text

    today = done["completed_at"][:10]
    window = {"recipient": agency.id, "from": today, "to": today}
    supervisor = bearer(client, world.user(agency, "supervisor"))  # exports are run by a supervisor
    csv = client.get("/api/v1/exports", headers=supervisor, params={**window, "format": "csv"})
    assert csv.status_code == 200, csv.text
    assert ",insufficient_information," in csv.text and ",no_concern," not in csv.text
    [row] = client.get("/api/v1/exports", headers=supervisor, params={**window, "format": "json"}).json()
    assert row["overall_level"] == "insufficient_information"

    bundle = client.get("/api/v1/exports", headers=supervisor, params={**window, "format": "fhir-bundle"}).json()
    [result] = [e["resource"] for e in bundle["entry"] if e["resource"]["id"] == screening_id]  # not its total's
    assert [c["code"] for c in result["valueCodeableConcept"]["coding"]] == ["insufficient_information"]
    domain_codes = {
        c["code"] for part in result["component"] for c in part.get("valueCodeableConcept", {}).get("coding", [])
    }
    assert "no_concern" not in domain_codes and "insufficient_information" in domain_codes


def test_an_old_version_that_cannot_say_not_enough_information_is_read_with_care(
    client: TestClient, world: World
) -> None:
    """1.0.0 stays as it was for the screenings taken under it, and concludes 'no concern' when nothing is
    known; its pages say so instead of promising 'not enough information'."""
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Ari", "family_name": "Synthetic", "birth_date": "2010-02-03", "case_number": "SY-0003"},
    ).json()
    start = {
        "youth_id": youth["id"],
        "instrument_id": PRACTITIONER,
        "instrument_version": "1.0.0",
        "mode": "practitioner",
    }
    started = client.post("/api/v1/screenings", headers=auth, json=start).json()
    assert started["instrument_version"] == "1.0.0"
    body = {"version": started["version"], "answers": {"rate_housing_unstable": "not_enough_info"}}
    saved = client.put(f"/api/v1/screenings/{started['id']}/answers", headers=auth, json=body)
    sign_in(client, screener)
    review = unescape(client.get(f"/screenings/{started['id']}/review").text)
    assert "This version of the instrument cannot conclude 'not enough information'" in review
    assert "the result will most likely be 'Not enough information to conclude'" not in review
    done = client.post(
        f"/api/v1/screenings/{started['id']}/complete", headers=auth, json={"version": saved.json()["version"]}
    )
    assert done.json()["overall_level"] == "no_concern"  # 1.0.0's own rules, unchanged
    for page in (f"/screenings/{started['id']}/result", f"/screenings/{started['id']}/summary"):
        html = unescape(client.get(page).text)
        assert "Read this 'no concern' with care." in html, page


def test_a_staff_correction_is_marked_and_never_carried_as_the_youths_words(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth_id, screening_id, _done = _completed(client, auth, SELF_REPORT, "interview", _everything(SELF_REPORT, "no"))
    screening = client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()
    amend = {"version": screening["version"], "answers": {"pictures": "yes"}, "reason": "The youth told me later."}
    amended = client.post(f"/api/v1/screenings/{screening_id}/revisions", headers=auth, json=amend)
    assert amended.status_code == 201, amended.text
    sign_in(client, screener)
    summary = unescape(client.get(f"/screenings/{screening_id}/summary").text)
    assert summary.count("(corrected by staff after completion)") == 1
    assert "corrected after completion; the earlier revisions are kept" in summary

    start = {"youth_id": youth_id, "instrument_id": SELF_REPORT, "mode": "interview"}
    again = client.post("/api/v1/screenings", headers=auth, json=start).json()
    answers = client.get(f"/api/v1/screenings/{again['id']}", headers=auth).json()["answers"]
    # A repeat screening here asks every question again (carrying across agencies leaves corrections out too:
    # tests/app/test_tell_once_carry.py).
    assert answers == {}
