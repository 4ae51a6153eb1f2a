"""The form layer's last gaps (issue 15 audit, items 2, 3, 4, 9), as a person filling in each page notices them:
a very long number is refused in words instead of an error page, a refused answer is named on its question
(not blamed on the notes or the reason), the FHIR import page reads a threshold as every form reads a number
and puts its error on that field, and the admin forms name every wrong field."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import AuditEvent, Role
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import add_youth, screen, side
from tests.app.test_fhir_import_shapes import nine_items

TOO_LONG = "x" * 20_001
IMPORT_PAGE = "/admin/instruments/fhir-import"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, name
    return html.unescape(match.group(1))


def test_a_refused_answer_is_named_on_its_question_not_on_the_notes(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    started = client.post(
        "/api/v1/screenings",
        headers=a.api,
        json={
            "youth_id": add_youth(client, a, "NS-0001"),
            "instrument_id": "tellonce-practitioner-indicators",
            "mode": "practitioner",
        },
    )
    assert started.status_code == 201, started.text
    screening_id = started.json()["id"]
    csrf = sign_in(client, a.users["screener"])
    page = client.get(f"/screenings/{screening_id}?page=1")
    item = re.findall(r'name="answer\.([a-z_]+)"', page.text)[0]
    form = {"csrf_token": csrf, "version": _hidden(page.text, "version"), f"answer.{item}": TOO_LONG}
    refused = client.post(f"/screenings/{screening_id}?page=1", data=form, follow_redirects=False)
    assert refused.status_code == 400
    shown = _text(refused.text)
    assert "This answer is too long: shorten it, or leave it out." in shown
    assert "notes are too long" not in shown


def test_a_refused_correction_is_named_on_its_question_not_on_the_reason(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-0002"))
    csrf = sign_in(client, a.users["supervisor"])
    page = client.get(f"/screenings/{done['id']}/amend")
    form = {
        "csrf_token": csrf,
        "version": _hidden(page.text, "version"),
        "shown": _hidden(page.text, "shown"),
        "reason": "The youth corrected an answer.",
        "answer.rate_coercion_debt": TOO_LONG,
    }
    refused = client.post(f"/screenings/{done['id']}/amend", data=form, follow_redirects=False)
    assert refused.status_code == 400
    shown = _text(refused.text)
    assert "This answer is too long: shorten it, or leave it out." in shown
    assert "reason is too long" not in shown


def test_the_import_page_reads_thresholds_as_every_form_reads_numbers(
    client: TestClient, world: World, session: Session
) -> None:
    csrf = sign_in(client, world.user(world.agency(), Role.system_admin))
    upload = {"file": ("nine.json", json.dumps(nine_items()), "application/fhir+json")}
    fields = {"csrf_token": csrf, "instrument_id": "nine-check", "action": "check"}
    for typed in ("1e3", "1_000", "\u0661\u0662", "1" * 5000):
        refused = client.post(IMPORT_PAGE, data=fields | {"possible_concern": typed}, files=upload)
        assert refused.status_code == 422, typed
        assert 'id="possible_concern-error">Enter a number, for example 12.' in refused.text  # on the field
        assert 'id="clear_concern-error"' not in refused.text
    far = client.post(IMPORT_PAGE, data=fields | {"clear_concern": "2,000,000,000"}, files=upload)
    assert far.status_code == 422 and 'id="clear_concern-error">A threshold must be a number from' in far.text
    grouped = client.post(IMPORT_PAGE, data=fields | {"possible_concern": "1,000"}, files=upload)
    assert grouped.status_code == 422 and "above the highest possible sum" in grouped.text  # read as 1000
    assert 'class="field-error"' not in grouped.text
    loads = client.post(IMPORT_PAGE, data=fields | {"possible_concern": "10"}, files=upload)
    assert loads.status_code == 200 and "The instrument file loads" in loads.text
    audited = session.exec(
        select(AuditEvent).where(AuditEvent.action == "instrument.import_fhir").order_by(col(AuditEvent.seq))
    ).all()
    assert len(audited) == 2  # the refused forms imported nothing, so audited nothing
    assert [e.object_id for e in audited] == ["nine-check", "nine-check"]


def test_an_admin_form_names_every_wrong_field(client: TestClient, world: World) -> None:
    agency = world.agency()
    csrf = sign_in(client, world.user(agency, Role.agency_admin))
    form = {"csrf_token": csrf, "agency_id": agency.id, "role": "screener", "password": "a long and plain passphrase"}
    refused = client.post("/admin/users", data=form | {"email": "", "display_name": ""})
    assert refused.status_code == 400
    shown = _text(refused.text)
    assert "Email: Fill in this field." in shown and "Name: Fill in this field." in shown
    wrong_language = client.post("/account/language", data={"csrf_token": csrf, "language": "fr", "next": "/"})
    assert wrong_language.status_code == 400 and "Choose English or Spanish." in wrong_language.text
