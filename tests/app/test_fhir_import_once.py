"""A partner's response is imported once per agency, whole or not at all, each on its own (issue 12 review):
an id-less response is told apart by its content, not by its place in the file; a response already imported is
not imported again onto another youth; one response that fails to save loses no other; and the page's import
is not audited as a second preview."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Answer, AuditEvent, Screening, User, Youth
from app.models_sharing import YouthIdentifier
from app.screenings import service as screening_service
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer, sign_in
from tests.app.test_fhir_import_pages import _sealed
from tests.app.test_fhir_import_subjects import PARTNER_SYSTEM, _agencies, _index, _response

SOURCE = "https://north.example.org/fhir"
API = "/api/v1/fhir-import?preview=false"


def _bundle(*responses: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in responses]}


def _about(session: Session, sender: User, importer: User, youth: Youth, name: str | None, authored: str) -> Any:
    """North's screening as a response about the importer's `youth` (by its pseudonym), from SOURCE, authored
    then; named `name` (its id and identifier), or with neither."""
    pseudonym = support.pseudonym_for(session, youth, importer.agency_id)
    response = _response(session, sender, name or "x", {"reference": f"Patient/{pseudonym}"})
    if name is None:
        response.pop("id")
        response.pop("identifier")
    return response | {"meta": {"source": SOURCE}, "authored": authored}


def _outcomes(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return [r for s in answer.json()["subjects"] for r in s["responses"]]


def _screenings(session: Session, agency_id: str) -> list[Screening]:
    session.expire_all()
    return list(session.exec(select(Screening).where(Screening.agency_id == agency_id)))


def test_two_partners_files_with_an_id_less_response_at_the_same_place_are_both_imported(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, _record = _agencies(world, session)
    youth = support.youth(session, importer, "S-1")
    auth = bearer(client, importer)
    first = _bundle(_about(session, sender, importer, youth, None, "2025-01-10T09:00:00Z"))
    second = _bundle(
        _about(session, sender, importer, youth, None, "2025-02-20T09:00:00Z")
    )  # another response, no id either

    [one] = _outcomes(client.post(API, headers=auth, json=first))
    assert one["screening_id"] and one["reference"] == "entry 0"
    [two] = _outcomes(client.post(API, headers=auth, json=second))
    assert two["problems"] == [] and two["screening_id"] not in (None, one["screening_id"])  # not "already imported"
    assert len(_screenings(session, importer.agency_id)) == 2

    # An exact copy of an id-less response is the same response: never imported twice.
    [again] = _outcomes(client.post(API, headers=auth, json=copy.deepcopy(first)))
    assert again["screening_id"] is None
    assert [(p["code"], one["screening_id"] in p["message"]) for p in again["problems"]] == [("already_imported", True)]
    assert len(_screenings(session, importer.agency_id)) == 2


def test_a_response_moved_to_another_youth_by_its_identifier_is_not_imported_again(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, _record = _agencies(world, session)
    first_youth, second_youth = (support.youth(session, importer, case) for case in ("S-1", "S-2"))
    row = YouthIdentifier(
        agency_id=importer.agency_id,
        youth_id=first_youth.id,
        system=PARTNER_SYSTEM,
        value_index=_index(importer.agency_id, "C-9"),
        recorded_by=importer.id,
    )
    session.add(row)
    session.commit()
    subject = {"identifier": {"system": PARTNER_SYSTEM, "value": "C-9"}}
    bundle = _bundle(_response(session, sender, "r-9", subject) | {"meta": {"source": SOURCE}})
    auth = bearer(client, importer)
    [done] = _outcomes(client.post(API, headers=auth, json=bundle))
    assert done["youth_id"] == first_youth.id and done["screening_id"]

    row.youth_id = second_youth.id  # the identifier was recorded on the wrong youth, and is moved
    session.add(row)
    session.commit()
    [again] = _outcomes(client.post(API, headers=auth, json=bundle))
    assert again["youth_id"] == second_youth.id and again["screening_id"] is None
    assert [p["code"] for p in again["problems"]] == ["imported_onto_another_youth"]
    assert done["screening_id"] in again["problems"][0]["message"]
    assert [s.youth_id for s in _screenings(session, importer.agency_id)] == [first_youth.id]

    # The page says so, with a link to the screening it became, and offers nothing to import.
    token = sign_in(client, importer)
    files = {"file": ("partner.json", json.dumps(bundle).encode(), "application/json")}
    page = client.post("/imports/fhir-import", data={"csrf_token": token}, files=files).text
    assert "Already imported onto another of your agency's youth, so skipped" in page
    assert f'href="/screenings/{done["screening_id"]}/result"' in page
    assert "Nothing in this file can be imported." in page and "already imported onto" not in page


def test_a_response_that_fails_to_save_saves_nothing_of_itself_and_loses_no_other(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, importer, _record = _agencies(world, session)
    youth = support.youth(session, importer, "S-1")
    names = ["r-1", "r-2", "r-3"]
    bundle = _bundle(*(_about(session, sender, importer, youth, n, "2025-01-10T09:00:00Z") for n in names))
    real_finish, calls = screening_service.finish, []

    def finish(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")  # after the screening and its answers were written
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(screening_service, "finish", finish)
    outcomes = _outcomes(client.post(API, headers=bearer(client, importer), json=bundle))
    assert [bool(o["screening_id"]) for o in outcomes] == [True, False, True]
    assert [p["code"] for p in outcomes[1]["problems"]] == ["not_saved"]
    saved = _screenings(session, importer.agency_id)
    assert sorted(s.id for s in saved) == sorted(o["screening_id"] for o in outcomes if o["screening_id"])
    every = {s.id for s in session.exec(select(Screening))}  # South's two, and North's own
    assert len(every) == 3 and {a.screening_id for a in session.exec(select(Answer))} == every
    imports = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "screening.import")
    ).all()
    assert sorted(e.detail["response"] for e in imports) == ["r-1", "r-3"]


def test_the_pages_import_is_not_audited_as_another_preview(client: TestClient, world: World, session: Session) -> None:
    sender, importer, _record = _agencies(world, session)
    youth = support.youth(session, importer, "S-1")
    bundle = _bundle(*(_about(session, sender, importer, youth, n, "2025-01-10T09:00:00Z") for n in ("r-1", "r-2")))
    token = sign_in(client, importer)
    files = {"file": ("partner.json", json.dumps(bundle).encode(), "application/json")}
    preview = client.post("/imports/fhir-import", data={"csrf_token": token}, files=files)
    assert preview.status_code == 200 and "Import 2 responses" in preview.text
    done = client.post(
        "/imports/fhir-import", data={"csrf_token": token, "action": "import", "sealed": _sealed(preview.text)}
    )
    assert done.status_code == 200 and "2 responses were imported." in done.text
    session.expire_all()
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.actor_id == importer.id)
        )
    ]
    assert actions.count("fhir_import.preview") == 1 and actions.count("screening.import") == 2
