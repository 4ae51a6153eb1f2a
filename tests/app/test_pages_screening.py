"""The practitioner screening pages: start, fill page by page, conflicts, review, completion and result."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app.conftest import World, bearer, sign_in

PRACTITIONER = "tellonce-practitioner-indicators|1.0.0|practitioner"
SELF_REPORT_INTERVIEW = "tellonce-youth-self-report|1.0.0|interview"


def add_youth(client: TestClient, csrf: str, case_number: str = "NS-0001", **fields: str) -> str:
    """Add a youth through the form; returns its id."""
    data = {"given_name": "Avery", "family_name": "Testcase", "birth_date": "2010-04-02", "case_number": case_number}
    response = client.post("/youth", data={**data, **fields, "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def start(client: TestClient, csrf: str, youth_id: str, choice: str = PRACTITIONER, language: str = "en") -> str:
    """Start a screening from the youth page; returns its id."""
    response = client.post(
        f"/youth/{youth_id}/screenings",
        data={"csrf_token": csrf, "instrument": choice, "language": language},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.endswith("?page=1")
    return location.split("/screenings/")[1].split("?")[0]


def version_on(html: str) -> int:
    """The screening version a form page carries."""
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "the form carries the screening version"
    return int(match.group(1))


def save_page(
    client: TestClient,
    csrf: str,
    screening_id: str,
    page: int,
    answers: dict[str, str | list[str]],
    *,
    action: str = "next",
    version: int | None = None,
    notes: str | None = None,
) -> object:
    """Post one page of the form (reading its version from the page unless given)."""
    if version is None:
        version = version_on(client.get(f"/screenings/{screening_id}?page={page}").text)
    data: dict[str, object] = {f"answer.{k}": v for k, v in answers.items()}
    data.update({"csrf_token": csrf, "version": str(version), "action": action})
    if notes is not None:
        data["notes"] = notes
    return client.post(f"/screenings/{screening_id}?page={page}", data=data, follow_redirects=False)


def checked(html: str, item_id: str, code: str) -> bool:
    """Whether a radio button or check box of an item is selected on a page."""
    pattern = rf'id="q-{item_id}-{code}" name="answer\.{item_id}" value="{code}" checked'
    return re.search(pattern, html) is not None


def _fill_practitioner(client: TestClient, csrf: str, screening_id: str) -> None:
    """Rate a few lines across the eight pages, ending on the review page."""
    ratings = {
        1: {"rate_housing_unstable": "possible_concern", "rate_housing_exchange": "clear_concern"},
        2: {"rate_trauma_sexual_abuse": "not_enough_info"},
        7: {"rate_coercion_debt": "clear_concern", "rate_coercion_threats": "no_concern"},
    }
    for page in range(1, 9):
        response = save_page(
            client, csrf, screening_id, page, ratings.get(page, {}), notes="Seen at intake." if page == 8 else None
        )
        assert response.status_code == 303, response.text
        expected = f"/screenings/{screening_id}/review" if page == 8 else f"/screenings/{screening_id}?page={page + 1}"
        assert response.headers["location"] == expected


def test_practitioner_fills_the_form_and_reads_the_explained_result(client: TestClient, world: World) -> None:
    agency = world.agency()
    agency.resources = {"en": ["Riverbend drop-in center: 555-0100"], "es": ["Centro Riverbend: 555-0100"]}
    world.session.add(agency)
    world.session.commit()
    csrf = sign_in(client, world.user(agency))
    youth_id = add_youth(client, csrf)
    assert "Avery Testcase" in client.get(f"/youth/{youth_id}").text
    screening_id = start(client, csrf, youth_id)

    first = client.get(f"/screenings/{screening_id}?page=1")
    assert first.status_code == 200
    assert "Section 1 of 8" in first.text and "Housing and caregiving" in first.text
    assert "<legend" in first.text and "The youth has no safe, stable place to live." in first.text
    assert "Moves often, stays with friends" in first.text  # the rater guidance beside the line
    for label in ("No concern", "Possible concern", "Clear concern", "Not enough information"):
        assert label in first.text
    assert "Save and continue" in first.text and "Save and leave" in first.text

    _fill_practitioner(client, csrf, screening_id)
    back = save_page(client, csrf, screening_id, 2, {"rate_trauma_sexual_abuse": "not_enough_info"}, action="back")
    assert back.headers["location"] == f"/screenings/{screening_id}?page=1"
    assert checked(client.get(f"/screenings/{screening_id}?page=1").text, "rate_housing_exchange", "clear_concern")

    review = client.get(f"/screenings/{screening_id}/review")
    assert review.status_code == 200
    assert "The youth gets a place to stay in exchange for sex, work or other favors." in review.text
    assert f'href="/screenings/{screening_id}?page=1#q-rate_housing_exchange"' in review.text
    assert "Seen at intake." in review.text
    done = client.post(
        f"/screenings/{screening_id}/complete",
        data={"csrf_token": csrf, "version": str(version_on(review.text))},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/screenings/{screening_id}/result"

    result = client.get(f"/screenings/{screening_id}/result")
    assert result.status_code == 200
    text = result.text
    assert "Overall" in text and '<span class="level level-clear_concern">Clear concern</span>' in text
    assert "A key indicator (one serious enough on its own) was rated clear concern" in text
    assert "At least one indicator in this domain was rated clear concern." in text  # a domain's rule explained
    assert "The youth gets a place to stay in exchange for sex, work or other favors." in text  # evidence: item
    assert "(key indicator)" in text
    assert "Check that the youth is safe right now." in text  # next steps for clear concern
    assert "Not validated." in text and "It has NOT been validated" in text
    assert "Resources from your agency" in text and "Riverbend drop-in center: 555-0100" in text
    assert "not a diagnosis" in text and "rules nothing out" in text
    assert "Answered</dt><dd>4 of" in text.replace("\n", "")
    # a completed screening shows its result instead of the form, and refuses changes
    assert client.get(f"/screenings/{screening_id}", follow_redirects=False).headers["location"].endswith("/result")
    late = save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "no_concern"}, version=99)
    assert late.status_code == 303 and late.headers["location"].endswith("/result")


def test_a_recommended_instrument_links_to_its_start(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    youth_id = add_youth(client, csrf)
    screening_id = start(client, csrf, youth_id)
    save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "possible_concern"})
    save_page(client, csrf, screening_id, 2, {"rate_trauma_physical_abuse": "possible_concern"})
    review = client.get(f"/screenings/{screening_id}/review").text
    client.post(f"/screenings/{screening_id}/complete", data={"csrf_token": csrf, "version": str(version_on(review))})
    result = client.get(f"/screenings/{screening_id}/result").text
    assert "Possible concern" in result and "two or more domains reached possible concern" in result
    link = f'href="/youth/{youth_id}?instrument=tellonce-youth-self-report#start"'
    assert link in result
    assert "Resources from your agency" not in result  # the agency configured none
    youth_page = client.get(f"/youth/{youth_id}?instrument=tellonce-youth-self-report").text
    assert re.search(r'value="tellonce-youth-self-report\|1\.3\.0\|self" checked', youth_page)


def test_a_stale_version_shows_the_conflict_and_loses_nothing(client: TestClient, world: World) -> None:
    screener = world.user(world.agency())
    csrf = sign_in(client, screener)
    screening_id = start(client, csrf, add_youth(client, csrf))
    opened = version_on(client.get(f"/screenings/{screening_id}?page=1").text)
    first = save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "possible_concern"}, version=opened)
    assert first.status_code == 303

    stale = save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "clear_concern"}, version=opened)
    assert stale.status_code == 409
    assert "Someone else saved first" in stale.text
    row = re.search(
        r"<tr><td[^>]*>The youth has no safe, stable place to live\.</td><td>(.*?)</td><td>(.*?)</td>", stale.text
    )
    assert row and row.groups() == ("Possible concern", "Clear concern")
    assert "Reload the page with the saved answers" in stale.text
    stored = client.get(f"/api/v1/screenings/{screening_id}", headers=bearer(client, screener)).json()
    assert stored["answers"]["rate_housing_unstable"]["value"] == "possible_concern"
    assert stored["version"] == opened + 1

    # choosing to save over the stored answers is explicit, from the conflict page's own form
    resend = re.search(r'<form method="post" action="(/screenings/[^"]+)" class="stack">(.*?)</form>', stale.text, re.S)
    assert resend
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', resend.group(2)))
    assert fields["answer.rate_housing_unstable"] == "clear_concern" and fields["version"] == str(opened + 1)
    again = client.post(resend.group(1).replace("&amp;", "&"), data=fields, follow_redirects=False)
    assert again.status_code == 303
    assert checked(client.get(f"/screenings/{screening_id}?page=1").text, "rate_housing_unstable", "clear_concern")


def test_forms_without_a_valid_csrf_token_are_refused(client: TestClient, world: World) -> None:
    screener = world.user(world.agency())
    csrf = sign_in(client, screener)
    screening_id = start(client, csrf, add_youth(client, csrf))
    version = version_on(client.get(f"/screenings/{screening_id}?page=1").text)
    for token in (None, "forged-token"):
        data = {"answer.rate_housing_unstable": "clear_concern", "version": str(version), "action": "next"}
        if token:
            data["csrf_token"] = token
        refused = client.post(f"/screenings/{screening_id}?page=1", data=data, follow_redirects=False)
        assert refused.status_code == 403
        youth_data = {"given_name": "Sky", "family_name": "Other", "birth_date": "2011-01-01", "case_number": "X-9"}
        assert client.post("/youth", data={**youth_data, **({"csrf_token": token} if token else {})}).status_code == 403
    stored = client.get(f"/api/v1/screenings/{screening_id}", headers=bearer(client, screener)).json()
    assert stored["answers"] == {} and stored["version"] == version
    assert "Sky Other" not in client.get("/youth").text


def test_invalid_answers_show_an_error_summary_and_change_nothing(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    screening_id = start(client, csrf, add_youth(client, csrf))
    bad = save_page(
        client, csrf, screening_id, 1, {"rate_housing_unstable": "clear_concern", "rate_housing_runaway": "maybe"}
    )
    assert bad.status_code == 400
    assert "There is a problem" in bad.text and 'href="#q-rate_housing_runaway"' in bad.text
    assert checked(bad.text, "rate_housing_unstable", "clear_concern")  # what was entered is kept on the page
    assert not checked(client.get(f"/screenings/{screening_id}?page=1").text, "rate_housing_unstable", "clear_concern")


def test_youth_self_report_offers_prefer_not_to_answer_and_reveals_follow_ups(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    screening_id = start(client, csrf, add_youth(client, csrf), SELF_REPORT_INTERVIEW)
    follow_up = "did anyone want sexual things, or work without pay, in return for letting you stay?"
    page = client.get(f"/screenings/{screening_id}?page=1").text
    assert "Prefer not to answer" in page and "Not enough information" in page
    assert "You can skip any question." in page  # the section's notice
    assert follow_up not in page
    opened = save_page(client, csrf, screening_id, 1, {"no_safe_place": "yes", "unsafe_at_home": "declined"})
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/screenings/{screening_id}?page=1&more=1#q-stay_in_return"
    page = client.get(f"/screenings/{screening_id}?page=1&more=1").text
    assert follow_up in page and "opened a follow-up question" in page
    assert checked(page, "unsafe_at_home", "declined")
    onward = save_page(client, csrf, screening_id, 1, {"no_safe_place": "yes", "stay_in_return": "no"})
    assert onward.headers["location"] == f"/screenings/{screening_id}?page=2"
    spanish = start(client, csrf, add_youth(client, csrf, case_number="NS-0002"), SELF_REPORT_INTERVIEW, "es")
    assert "Prefiero no responder" in (es := client.get(f"/screenings/{spanish}?page=1").text)
    assert "¿hubo noches en que no tenías un lugar seguro para dormir?" in es
