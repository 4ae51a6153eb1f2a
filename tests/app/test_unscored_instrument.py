"""An unscored instrument in the app (issue 12 §1: forms without weights are "imported as unscored
instruments -- they still validate, collect, carry and export").

A form with no scoring rules is offered to staff, collected by a practitioner through the pages and by a
youth through the portal, completes, and reads "Not scored" -- never "No concern" -- wherever a result is
shown; its answers carry into another agency's screening; exports give its overall level as not_scored;
the aggregate and performance reports say it has no levels instead of breaking or charting "not scored".
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import levels
from app.models import Screening
from instruments.loader import BUNDLED_DIR, Registry, load
from instruments.model import NOT_SCORED
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import Side, add_youth, consent, link, side, start
from tests.app.test_portal import issue_link, youth_csrf
from tests.instruments.unscored_form import UNSCORED

FORM = "unscored-check"
CHOICE = f"{FORM}|1.0.0|practitioner"
TITLE = "Daily life form"
NOT_SCORED_WORDS = "Not scored"
REASON = "This form has no scoring rules, so no level is concluded"


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white text on a #rrggbb background."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_not_scored_has_its_words_a_readable_colour_and_comes_after_every_conclusion() -> None:
    assert levels.label(NOT_SCORED, "en") == "Not scored"
    assert levels.label(NOT_SCORED, "es") == "Sin puntuación"
    assert levels.ORDER[-1] == NOT_SCORED  # after "no concern": never read as a kind of it
    assert contrast_with_white(levels.COLOURS[NOT_SCORED]) >= 4.5
    assert levels.COLOURS[NOT_SCORED] not in {levels.COLOURS[c] for c in levels.ORDER[:-1]}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("unscored")
    (folder / "unscored-check.yaml").write_text(UNSCORED, encoding="utf-8")
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


@pytest.fixture
def app_client(client: TestClient, registry: Registry) -> TestClient:
    client.app.state.registry = registry  # type: ignore[attr-defined]
    return client


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    return html.unescape(response.text)


def says_not_scored(page: str) -> None:
    """The page shows the level "Not scored" and no level that reads as a conclusion."""
    assert "level-not_scored" in page and NOT_SCORED_WORDS in page
    for concluded in ("no_concern", "possible_concern", "clear_concern", "insufficient_information"):
        assert f"level-{concluded}" not in page, concluded


def save_page(client: TestClient, csrf: str, screening_id: str, page: int, answers: dict[str, Any]) -> None:
    form = client.get(f"/screenings/{screening_id}?page={page}").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version, "the form carries the screening version"
    data: dict[str, Any] = {f"answer.{k}": v for k, v in answers.items()}
    data |= {"csrf_token": csrf, "version": version.group(1), "action": "next"}
    saved = client.post(f"/screenings/{screening_id}?page={page}", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]


def practitioner_screening(client: TestClient, at: Side, youth_id: str) -> str:
    """A practitioner fills the form through the pages and completes it; returns the screening id."""
    csrf = sign_in(client, at.users["screener"])
    record = page_text(client.get(f"/youth/{youth_id}"))
    assert CHOICE in record and TITLE in record  # offered to staff
    started = client.post(
        f"/youth/{youth_id}/screenings", data={"csrf_token": csrf, "instrument": CHOICE, "language": "en"}
    )
    screening_id = str(started.url).split("/screenings/")[1].split("?")[0]
    first = page_text(started)
    assert 'name="answer.lives_with"' in first
    empty = page_text(client.get(f"/screenings/{screening_id}/review"))  # nothing answered yet
    assert "completing it concludes no level" in empty and "'No concern'" not in empty
    save_page(client, csrf, screening_id, 1, {"lives_with": "family"})
    assert 'name="answer.pets"' in client.get(f"/screenings/{screening_id}?page=1").text  # its show_if now holds
    save_page(client, csrf, screening_id, 1, {"lives_with": "family", "pets": "yes"})
    days = {"activities": ["school", "music"], "sleep_hours": "8", "favourite_place": "the river"}
    save_page(client, csrf, screening_id, 2, days | {"last_checkup": "2024-03-01"})
    review = client.get(f"/screenings/{screening_id}/review").text
    version = re.search(r'name="version" value="(\d+)"', review)
    assert version
    done = client.post(f"/screenings/{screening_id}/complete", data={"csrf_token": csrf, "version": version.group(1)})
    assert done.status_code == 200 and str(done.url).endswith("/result"), done.text[:500]
    return screening_id


def test_a_practitioner_collects_an_unscored_form_and_every_page_reads_not_scored(
    app_client: TestClient, world: World
) -> None:
    client = app_client
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-77")
    screening_id = practitioner_screening(client, a, youth)

    result = page_text(client.get(f"/screenings/{screening_id}/result"))
    says_not_scored(result)
    assert REASON in result
    assert "the river" in result and "Music" in result  # the answers, to be read: there is no level to read
    assert "This instrument lists no next steps" not in result  # none are due: nothing was concluded

    says_not_scored(page_text(client.get(f"/youth/{youth}")))
    world.session.expire_all()
    stored = world.session.get(Screening, screening_id)
    assert stored is not None and stored.overall_level == NOT_SCORED
    assert stored.rescreen_due_on is None  # no next step, so no date to screen again
    dashboard = page_text(client.get("/", params={"level": NOT_SCORED}))
    says_not_scored(dashboard.split("</select>")[-1])  # the list under the filters
    summary = page_text(client.get(f"/screenings/{screening_id}/summary"))
    says_not_scored(summary)
    assert REASON in summary
    assert client.get(f"/screenings/{screening_id}/summary.pdf").status_code == 200

    api = client.get(f"/api/v1/screenings/{screening_id}/result", headers=a.api).json()
    assert api["overall"] == NOT_SCORED and api["domains"] == [] and api["total"] is None
    assert api["completeness"]["answered"] == 6
    timeline = client.get(f"/api/v1/youth/{youth}/timeline", headers=a.api).json()
    assert [e["overall_level"] for e in timeline] == [NOT_SCORED]

    # A correction after completion scores it again: still not scored, and each revision reads so.
    current = client.get(f"/api/v1/screenings/{screening_id}", headers=a.api).json()
    body = {"version": current["version"], "answers": {"sleep_hours": 6}, "reason": "Misheard the hours."}
    assert client.post(f"/api/v1/screenings/{screening_id}/revisions", headers=a.api, json=body).status_code == 201
    for number in (1, 2):
        says_not_scored(page_text(client.get(f"/screenings/{screening_id}/revisions/{number}")))
    assert "By domain" not in page_text(client.get(f"/screenings/{screening_id}/revisions/2"))

    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    consent(client, a, youth, b)
    day = api["completed_at"][:10] if "completed_at" in api else timeline[0]["completed_at"][:10]
    exported = {"recipient": b.agency.id, "from": day, "to": day, "categories": "result_summary,item_answers"}
    as_csv = client.get("/api/v1/exports", params=exported | {"format": "csv"}, headers=a.headers("supervisor"))
    assert as_csv.status_code == 200, as_csv.text[:500]
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert [r["overall_level"] for r in rows] == [NOT_SCORED]
    assert (rows[0][f"{FORM}.activities"], rows[0][f"{FORM}.favourite_place"]) == ("school;music", "the river")
    assert rows[0]["total"] == ""
    as_json = client.get("/api/v1/exports", params=exported | {"format": "json"}, headers=a.headers("supervisor"))
    assert as_json.status_code == 200, as_json.text[:500]
    assert [r["overall_level"] for r in _json_rows(as_json.text)] == [NOT_SCORED]
    codebook = client.get("/api/v1/exports/codebook", params=exported, headers=a.headers("supervisor"))
    assert codebook.status_code == 200, codebook.text[:500]
    assert "not_scored=Not scored: the instrument has no scoring rules" in codebook.text

    # Reports: an unscored form has no levels to count or evaluate, and they say so rather than count it as
    # "not enough information" or chart "not scored".
    supervisor = a.headers("supervisor")
    sign_in(client, a.users["supervisor"])
    report = page_text(client.get("/reports", params={"instrument_id": FORM}))
    assert "No completed screenings match." in report and "without scoring rules" in report and TITLE in report
    every = page_text(client.get("/reports"))
    assert TITLE not in every.split("without scoring rules")[0].split("</form>")[-1]  # in no chart or row
    assert "level-not_scored" not in every and "Not scored" not in every
    assert client.get("/reports.csv", params={"instrument_id": FORM}).text.count("\r\n") == 1  # the header only
    as_report = client.get("/api/v1/reports/aggregate", params={"instrument_id": FORM}, headers=supervisor)
    assert as_report.status_code == 200 and as_report.json()["rows"] == []
    assert as_report.json()["not_counted"]["instruments"] == [FORM]
    assert client.get("/reports.json").json()["not_counted"]["instruments"] == [FORM]

    performance = client.get("/reports/performance", params={"instrument": f"{FORM}|1.0.0"})
    assert performance.status_code == 400  # a filter it cannot measure, said plainly at the field
    assert "This instrument has no scoring rules" in html.unescape(performance.text)
    default = page_text(client.get("/reports/performance"))
    assert f"{FORM}|1.0.0" not in default and "Instruments without scoring rules are not listed" in default
    refused = client.get("/api/v1/reports/performance", params={"instrument": f"{FORM}|1.0.0"}, headers=supervisor)
    assert refused.status_code == 400 and "no scoring rules" in refused.text


def _json_rows(body: str) -> list[dict[str, Any]]:
    data = json.loads(body)
    return list(data["rows"] if isinstance(data, dict) else data)


def test_a_youth_answers_it_and_the_answers_carry_to_another_agency(app_client: TestClient, world: World) -> None:
    client = app_client
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-78")
    own = start(client, a, youth_a, FORM, "self")
    csrf = sign_in(client, a.users["screener"])
    token_link, code = issue_link(client, own["id"], csrf)
    client.cookies.clear()
    client.get(f"/go/{token_link}")
    opened = client.post("/go", data={"code": code, "link_token": token_link})
    token = youth_csrf(page_text(opened))
    pages = {
        1: {"q_lives_with": "family", "q_pets": "no"},
        2: {"q_activities": ["sport"], "q_sleep_hours": "7", "q_favourite_place": "the park"},
    }
    page = 1
    while True:
        response = client.post(
            f"/s/{page}", data={"csrf_token": token, "action": "next", **pages.get(page, {})}, follow_redirects=False
        )
        assert response.status_code == 303, response.text[:500]
        target = response.headers["location"]
        if target == "/s/done":
            break
        page = int(target.split("/")[-1].split("?")[0].split("#")[0])
    done = page_text(client.get("/s/done"))
    assert "Thank you" in done and NOT_SCORED_WORDS not in done
    result = client.get(f"/api/v1/screenings/{own['id']}/result", headers=a.api).json()
    assert result["overall"] == NOT_SCORED

    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-78")
    assert link(client, b, youth_b).status_code == 201
    second = start(client, b, youth_b, FORM, "practitioner")
    carried = {k: v["value"] for k, v in second["answers"].items()}
    assert carried == {"lives_with": "family", "pets": "no", "activities": ["sport"], "favourite_place": "the park"}
    assert all(v["source"] == "carried" for v in second["answers"].values())  # sleep_hours never carries
