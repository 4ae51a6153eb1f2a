"""FHIR import: a Questionnaire as an instrument definition; a partner's QuestionnaireResponses onto a youth."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import crypto
from app.interop import fhir
from app.interop.fhir_import import import_fhir
from app.interop.fhir_responses import answers_from_response, import_responses
from app.main import loaded_instruments
from app.models import Answer, Role, Screening
from app.screenings import service as screenings
from instruments import Registry, load
from scoring import score
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer, sign_in

THRESHOLDS = {"possible_concern": 4, "clear_concern": 8}
SOURCE_URL = "https://example.org/fhir/Questionnaire/sleep-mood-check"


def _imported() -> Any:
    report = import_fhir(support.fixture("weighted-questionnaire.json"), THRESHOLDS, "sleep-mood-check", "0.1.0")
    assert report.changed == report.dropped == report.problems == []
    loaded_result = load(text=report.yaml)
    instrument, found = loaded_result.instrument, loaded_result.problems
    assert instrument is not None, found
    return instrument


def test_weighted_questionnaire_imports_as_a_loadable_definition() -> None:
    instrument = _imported()
    d = instrument.definition
    assert [s.id for s in d.sections] == ["sleep", "mood"]
    types = {i.id: i.type for i in d.items}
    assert types == {
        "q_1": "single_choice",
        "q_2": "number",
        "q_3": "yes_no",
        "q_3_1": "single_choice",
        "mood_intro": "notice",
        "q_4": "single_choice",
        "q_5": "multiple_choice",
    }
    assert d.items[3].show_if == "(q_3 == 'yes')"
    assert [o.weight for o in d.items[3].options] == [0, 1, 2]  # from ordinalValue
    assert d.provenance.validated is False and SOURCE_URL in d.provenance.statement["en"]
    assert [r.when for r in d.scoring.overall] == ["total() >= 8", "total() >= 4", None]
    assert d.scoring.total is not None and d.scoring.total.of == "sum(weights)"
    assert d.derived_from is not None and d.derived_from.url == SOURCE_URL and d.provenance.citation is None


def _response(answers: dict[str, list[dict[str, Any]]], questionnaire: str = f"{SOURCE_URL}|0.1.0") -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "partner-response-1",
        "meta": {"source": "https://partner.example.org/fhir"},
        "questionnaire": questionnaire,
        "status": "completed",
        "authored": "2025-03-04T10:00:00Z",
        "item": [{"linkId": "sleep", "item": [{"linkId": k, "answer": v} for k, v in answers.items()]}],
    }


def _coding(code: str) -> list[dict[str, Any]]:
    return [{"valueCoding": {"code": code}}]


# Sums one below, at and one above each threshold (possible 4, clear 8).
CASES = [
    (3, {"1": _coding("every-day")}, "no_concern"),
    (4, {"1": _coding("every-day"), "5": [{"valueString": "Friendships"}]}, "possible_concern"),
    (5, {"1": _coding("every-day"), "4": _coding("2")}, "possible_concern"),
    (7, {"1": _coding("every-day"), "4": _coding("3"), "5": [{"valueString": "Hobbies"}]}, "possible_concern"),
    (
        8,
        {"1": _coding("every-day"), "3": [{"valueBoolean": True}], "3.1": _coding("long"), "4": _coding("3")},
        "clear_concern",
    ),
    (
        9,
        {
            "1": _coding("every-day"),
            "2": [{"valueInteger": 5}],
            "3": [{"valueBoolean": True}],
            "3.1": _coding("long"),
            "4": _coding("3"),
            "5": [{"valueString": "Friendships"}],
        },
        "clear_concern",
    ),
]


@pytest.mark.parametrize(("total", "answers", "level"), CASES, ids=[str(c[0]) for c in CASES])
def test_imported_responses_score_against_the_thresholds(total: int, answers: dict[str, Any], level: str) -> None:
    instrument = _imported()
    response = _response(answers)
    support.validate(response)
    values, problems = answers_from_response(response, instrument)
    assert problems == []
    result = score(instrument, values)
    assert result.overall == level
    weights = {o.code: o.weight or 0 for i in instrument.definition.items for o in getattr(i, "options", ())}
    chosen = [c for v in values.values() for c in (v if isinstance(v, list) else [v]) if isinstance(c, str)]
    assert sum(weights.get(c, 0) for c in chosen) == total


def test_what_cannot_be_expressed_is_reported_by_link_id() -> None:
    source = support.fixture("weighted-questionnaire.json")
    sleep = source["item"][0]["item"]
    calculated = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
    expression = {"language": "text/fhirpath", "expression": "1 + 1"}
    sleep += [
        {
            "linkId": "calc",
            "type": "integer",
            "text": "Total",
            "extension": [{"url": calculated, "valueExpression": expression}],
        },
        {
            "linkId": "vs",
            "type": "choice",
            "text": "From a value set",
            "answerValueSet": "http://example.org/ValueSet/x",
        },
        {"linkId": "photo", "type": "attachment", "text": "A photo"},
        {"linkId": "who", "type": "reference", "text": "Someone"},
        {"linkId": "weight", "type": "quantity", "text": "Weight"},
        {
            "linkId": "heavy",
            "type": "boolean",
            "text": "Heavy?",
            "enableWhen": [{"question": "2", "operator": ">", "answerQuantity": {"value": 8}}],
        },
        {"linkId": "must", "type": "string", "text": "Required", "required": True},
        {
            "linkId": "again",
            "type": "group",
            "text": "Again",
            "repeats": True,
            "item": [{"linkId": "n", "type": "text", "text": "Note"}],
        },
    ]
    report = import_fhir(source, THRESHOLDS, "sleep-mood-check", "0.2.0")
    problems = [*report.changed, *report.dropped, *report.problems]  # each said by linkId
    reported = {p.link_id for p in problems}
    assert {"calc", "vs", "photo", "who", "weight", "heavy", "must", "again"} <= reported
    assert all(p.link_id is not None for p in problems), problems  # each problem names its item
    loaded_result = load(text=report.yaml)
    instrument, found = loaded_result.instrument, loaded_result.problems
    assert instrument is not None, found
    kept = {i.id for i in instrument.definition.items}
    assert {"q_1", "heavy", "must", "n"} <= kept and not {"calc", "vs", "photo", "who"} & kept
    assert instrument.items["weight"].type == "number"  # a quantity is asked as a number, and that is reported
    assert instrument.definition.scoring is not None and instrument.definition.scoring.total is not None
    assert instrument.definition.scoring.total.label == {"en": "Total"}  # the calculated item became the total
    assert instrument.items["heavy"].show_if is None  # its condition could not be said, and was reported
    assert import_fhir({"resourceType": "Patient"}, THRESHOLDS, "x", "1.0.0").yaml == ""
    bad = import_fhir(support.fixture("weighted-questionnaire.json"), {"clear_concern": 50}, "x", "1.0.0")
    assert any("above the highest possible sum" in p.message for p in bad.problems)


def _two_agencies(world: World, session: Session) -> tuple[Any, Any, Any, Any]:
    north, south = world.agency("North"), world.agency("South", "shelter")
    screener, partner = world.user(north), world.user(south)
    return screener, support.youth(session, screener), partner, support.youth(session, partner, "S-9")


def _stored(session: Session, screening: Screening) -> dict[str, Any]:
    return screenings.answer_values(session, crypto.get_key_ring(), screening)


def test_round_trip_between_deployments(client: TestClient, world: World, session: Session) -> None:
    screener, record, partner, theirs = _two_agencies(world, session)
    done = [
        support.completed(session, screener, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS),
        support.completed(
            session, screener, record, support.PRACTITIONER, "practitioner", support.PRACTITIONER_ANSWERS
        ),
    ]
    exported = client.get(f"/api/v1/screenings/{done[0].id}/fhir", headers=bearer(client, screener)).json()
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    practitioner = fhir.questionnaire_response(
        done[1],
        screenings.stored_answers(session, keys, done[1]),
        registry.get(support.PRACTITIONER, "1.0.0"),
        "Patient/x",
    )
    exported["entry"].append({"fullUrl": "urn:uuid:0f1e2d3c-0000-4000-8000-000000000001", "resource": practitioner})
    # South's record is the same person (linked); the file names the person by South's pseudonym, as North's
    # export for South does (North's own pseudonym would not do: see test_fhir_import_subjects).
    support.same_person(session, theirs, record)
    support.about(exported, support.pseudonym_for(session, theirs, partner.agency_id))
    url = f"/api/v1/youth/{theirs.id}/fhir-import"

    auth = bearer(client, partner)
    response = client.post(url, headers=auth, json=exported)
    assert response.status_code == 200, response.text
    report = response.json()
    assert [r["reference"] for r in report["imported"]] == [done[0].id, done[1].id] and report["rejected"] == []
    assert [r.split(": ")[1].split(" ")[0] for r in report["skipped"]] == ["Patient", "Observation"]
    session.expire_all()
    for original, imported in zip(done, report["imported"], strict=True):
        copy_ = session.get(Screening, imported["screening_id"])
        assert copy_ is not None and copy_.agency_id == partner.agency_id
        assert (copy_.youth_id, copy_.status, copy_.mode) == (theirs.id, "completed", original.mode)
        assert _stored(session, copy_) == _stored(session, original)
        assert copy_.overall_level == original.overall_level == imported["overall_level"]
        rows = session.exec(select(Answer).where(Answer.screening_id == copy_.id)).all()
        assert {r.source for r in rows} == {"imported"}
        notes = screenings.public(session, keys, copy_).notes or ""
        assert original.id in notes
    assert _stored(session, session.get(Screening, report["imported"][0]["screening_id"]))["stayed_away"] == "declined"

    again = client.post(url, headers=auth, json=exported).json()
    assert again["imported"] == [] and all("already imported" in r["problems"][0]["message"] for r in again["rejected"])
    assert client.post(f"/api/v1/youth/{record.id}/fhir-import", headers=auth, json=exported).status_code == 404


def test_a_response_with_any_problem_saves_nothing(world: World, session: Session) -> None:
    screener, record, partner, theirs = _two_agencies(world, session)
    done = support.completed(session, screener, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    good = fhir.questionnaire_response(
        done, screenings.stored_answers(session, keys, done), registry.get(support.SELF_REPORT, "1.0.0"), "Patient/x"
    )
    unknown = {
        **copy.deepcopy(good),
        "id": "u",
        "identifier": {"value": "u"},
        "questionnaire": "urn:tellonce:instrument:nope|1.0.0",
    }
    invalid = copy.deepcopy(good) | {"id": "i", "identifier": {"value": "i"}}
    invalid["item"][0]["item"][0]["answer"] = _coding("maybe")
    hidden = copy.deepcopy(good) | {"id": "h", "identifier": {"value": "h"}}
    hidden["item"].append({"linkId": "section-money", "item": [{"linkId": "work_to_pay", "answer": _coding("yes")}]})
    support.about([unknown, invalid, hidden, good], support.pseudonym_for(session, theirs, partner.agency_id))
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (unknown, invalid, hidden, good)],
    }

    report = import_responses(session, keys, registry, partner, bundle, theirs.id)
    assert [r.reference for r in report.rejected] == ["u", "i", "h"] and len(report.imported) == 1
    assert "not a loaded instrument" in report.rejected[0].problems[0].message
    assert report.rejected[1].problems[0].link_id == "no_safe_place"
    assert report.rejected[2].problems[0].link_id == "work_to_pay"  # answered, but its show_if hides it
    rows = session.exec(select(Screening).where(Screening.youth_id == theirs.id)).all()
    assert [s.id for s in rows] == [report.imported[0].screening_id]


def test_responses_to_an_imported_public_questionnaire_attach(world: World, session: Session) -> None:
    _screener, _record, partner, theirs = _two_agencies(world, session)
    registry = Registry(dict(loaded_instruments().instruments))
    instrument = _imported()
    registry.instruments[instrument.key] = instrument
    response = support.about([_response(CASES[4][1])], support.pseudonym_for(session, theirs, partner.agency_id))[0]
    report = import_responses(
        session,
        crypto.get_key_ring(),
        registry,
        partner,
        {"resourceType": "Bundle", "entry": [{"resource": response}]},
        theirs.id,
    )
    assert [(r.reference, r.overall_level) for r in report.imported] == [("partner-response-1", "clear_concern")]
    stored = _stored(session, session.get(Screening, report.imported[0].screening_id))
    assert stored == {"q_1": "every_day", "q_3": "yes", "q_3_1": "long", "q_4": "c_3"}


def test_questionnaire_import_api_is_for_system_admins(client: TestClient, world: World) -> None:
    agency = world.agency()
    body = {
        "questionnaire": support.fixture("weighted-questionnaire.json"),
        "thresholds": THRESHOLDS,
        "instrument_id": "sleep-mood-check",
    }
    screener = bearer(client, world.user(agency))
    assert client.post("/api/v1/instruments/fhir-import", headers=screener, json=body).status_code == 403
    admin = bearer(client, world.user(agency, Role.system_admin))
    response = client.post("/api/v1/instruments/fhir-import", headers=admin, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["problems"] == []
    loaded_result = load(text=response.json()["yaml"])
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None and instrument.id == "sleep-mood-check" and problems == []


def test_the_admin_page_refuses_deeply_nested_json_plainly(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency(), Role.system_admin))
    deep = '{"resourceType": "Questionnaire", "item": ' + "[" * 1000 + "]" * 1000 + "}"
    upload = {"file": ("deep.json", deep, "application/fhir+json")}
    refused = client.post("/admin/instruments/fhir-import", data={"csrf_token": csrf}, files=upload)
    assert refused.status_code == 400, refused.text[:300]
    assert "There is a problem" in refused.text and "is nested deeper than 64 levels" in refused.text


def test_the_response_import_loads_on_its_own() -> None:
    """`fhir_import` once re-exported the response import at its end: a circular import, so a module importing
    `fhir_responses` before `fhir_import` failed to start."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    for module in ("app.interop.fhir_responses", "app.interop.fhir_import"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=root, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-500:]
