"""FHIR R4 export: Questionnaires, QuestionnaireResponses, pseudonymous Patients, Consents, Bundles, NDJSON.

Everything is validated with the fhir.resources R4B models (the R4-compatible line; 8.x has no R4).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import crypto
from app.exports.tabular import person_key
from app.interop import fhir
from app.interop.fhir_import import import_fhir
from app.main import loaded_instruments
from app.models import Role, Screening, Youth
from app.models_sharing import Category, Disclosure
from app.screenings import service as screenings
from app.screenings.schemas import ScreeningCreate
from app.settings import get_settings
from instruments import load
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer

INSTRUMENTS = [c.key for c in loaded_instruments().all()]


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for item in items for x in (item, *_items(item.get("item", [])))]


@pytest.mark.parametrize("key", INSTRUMENTS, ids=[k[0] for k in INSTRUMENTS])
def test_every_bundled_instrument_is_a_valid_questionnaire(key: tuple[str, str]) -> None:
    instrument = loaded_instruments().get(*key)
    assert instrument is not None
    q = fhir.questionnaire(instrument)
    support.validate(q)
    base = get_settings().public_base_url()
    assert q["url"] == f"{base}/fhir/Questionnaire/{key[0]}" and q["version"] == key[1] and q["status"] == "active"
    items = _items(q["item"])
    links = [i["linkId"] for i in items]
    assert len(links) == len(set(links))
    groups = [g for g in q["item"] if g["linkId"] != fhir.TOTAL_LINK]
    assert {g["linkId"] for g in groups} == {f"section-{s.id}" for s in instrument.definition.sections}
    assert all(g["type"] == "group" for g in groups)
    total = instrument.definition.scoring.total
    assert (fhir.TOTAL_LINK in links) == (total is not None)
    allowed = {"group", "display", "choice", "integer", "decimal", "date", "string", "text"}
    assert {i["type"] for i in items} <= allowed
    by_link = {i["linkId"]: i for i in items}
    for item in instrument.definition.items:
        exported = by_link[item.id]
        for condition in exported.get("enableWhen", []):
            assert condition["question"] in by_link
        weights = {o.code: o.weight for o in getattr(item, "options", ()) if o.weight is not None}
        exported_weights = {
            o["valueCoding"]["code"]: e["valueDecimal"]
            for o in exported.get("answerOption", [])
            for e in o.get("extension", [])
            if e["url"] == fhir.EXT_ITEM_WEIGHT
        }
        assert exported_weights == weights
        if item.type != "notice":
            assert (by_link[item.id]["type"] == "choice") == (item.type in fhir.CHOICE_TYPES)
    if "es" in instrument.definition.languages:
        assert "_text" in by_link[instrument.definition.items[0].id]  # the Spanish text, as a translation


def test_self_report_follow_ups_use_enable_when() -> None:
    instrument = loaded_instruments().get(support.SELF_REPORT)
    assert instrument is not None
    by_link = {i["linkId"]: i for i in _items(fhir.questionnaire(instrument)["item"])}
    follow_ups = [i.id for i in instrument.definition.items if i.show_if]
    assert follow_ups
    for item_id in follow_ups:
        item = by_link[item_id]
        assert "extension" not in item or all(e["url"] != fhir.EXT_SHOW_IF for e in item["extension"])
        assert item["enableBehavior"] == "any"
        assert {c["operator"] for c in item["enableWhen"]} == {"="}
    pay = by_link["work_to_pay"]["enableWhen"]
    assert {(c["question"], c["answerCoding"]["code"]) for c in pay} == {
        ("owes_money", "yes"),
        ("owes_money", "not_sure"),
    }
    assert by_link["stay_in_return"]["enableWhen"][0]["answerCoding"]["system"] == fhir.options_system(
        support.SELF_REPORT
    )


def test_weights_become_item_weight_extensions() -> None:
    report = import_fhir(
        support.fixture("weighted-questionnaire.json"),
        {"possible_concern": 4, "clear_concern": 8},
        "sleep-check",
        "1.0.0",
    )
    assert report.changed == report.dropped == report.problems == []
    loaded_result = load(text=report.yaml)
    instrument, found = loaded_result.instrument, loaded_result.problems
    assert instrument is not None and found == []
    q = fhir.questionnaire(instrument)
    support.validate(q)
    mood = {i["linkId"]: i for i in _items(q["item"])}["q_4"]
    weights = [e["valueDecimal"] for o in mood["answerOption"] for e in o.get("extension", [])]
    assert weights == [0, 1, 2, 3]
    assert mood["answerOption"][-1]["valueCoding"]["system"] == fhir.SPECIAL_SYSTEM  # prefer not to answer
    several = {i["linkId"]: i for i in _items(q["item"])}["q_5"]
    assert several["repeats"] is True


SHOW_IF_YAML = """
id: show-if-check
version: 1.0.0
title: {en: Show-if check}
description: {en: A tiny instrument for the show_if translation test.}
authors: [TellOnce tests]
license: CC0-1.0
provenance: {validated: false, statement: {en: Written for a test.}}
modes: [interview]
languages: [en]
default_language: en
sections: [{id: main, title: {en: Main}}]
domains: [{id: d, title: {en: D}, indicators: [{id: d.x, text: {en: X}}]}]
items:
  - id: a
    section: main
    type: yes_no
    text: {en: "A?"}
    indicates: [{indicator: d.x, level: clear_concern, answers: ['yes']}]
  - {id: b, section: main, type: yes_no, text: {en: "B?"}}
  - {id: age, section: main, type: number, minimum: 0, maximum: 30, text: {en: "Age?"}}
  - {id: mixed, section: main, type: yes_no, text: {en: "Mixed?"}, show_if: "a == 'yes' and (b == 'yes' or age >= 18)"}
  - {id: both, section: main, type: yes_no, text: {en: "Both?"}, show_if: "a == 'yes' and age >= 18"}
  - {id: told, section: main, type: short_text, text: {en: "Told?"}, show_if: "answered(age)"}
  - {id: unlike, section: main, type: yes_no, text: {en: "Unlike?"}, show_if: "a != 'no'"}
scoring:
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: c}}
    - {level: no_concern, explain: {en: n}}
  overall:
    - {level: clear_concern, when: "count(domains, level='clear_concern') >= 1", explain: {en: c}}
    - {level: no_concern, explain: {en: n}}
"""


def test_show_if_enable_when_cannot_say_is_kept_as_an_extension() -> None:
    loaded_result = load(text=SHOW_IF_YAML)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None, problems
    q = fhir.questionnaire(instrument)
    support.validate(q)
    by_link = {i["linkId"]: i for i in _items(q["item"])}
    for link in ("mixed", "unlike"):
        assert by_link[link]["extension"] == [{"url": fhir.EXT_SHOW_IF, "valueString": instrument.items[link].show_if}]
        assert "enableWhen" not in by_link[link]
    both = by_link["both"]
    assert both["enableBehavior"] == "all"
    assert both["enableWhen"][1] == {"question": "age", "operator": ">=", "answerInteger": 18}
    assert by_link["told"]["enableWhen"] == [{"question": "age", "operator": "exists", "answerBoolean": True}]
    assert by_link["age"]["extension"][0] == {"url": fhir.EXT_MIN, "valueInteger": 0}


def test_a_completed_screening_exports_as_valid_fhir(client: TestClient, world: World, session: Session) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    screener, admin = world.user(north), world.user(north, Role.agency_admin)
    record = support.youth(session, screener)
    done = support.completed(session, screener, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    support.release(session, admin, record, south.id, Category.item_answers)
    auth = bearer(client, screener)

    response = client.get(f"/api/v1/screenings/{done.id}/fhir", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    support.validate(bundle)
    assert bundle["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Observation", "QuestionnaireResponse", "Consent"]  # the self-report has no total
    patient, result, qr, consent = (e["resource"] for e in bundle["entry"])

    text = json.dumps(bundle)
    for secret in (support.GIVEN, support.FAMILY, support.BIRTH.isoformat(), support.CASE, record.id, "birthDate"):
        assert secret not in text
    assert set(patient) == {"resourceType", "id", "meta", "identifier"}
    assert patient["identifier"] == [{"system": fhir.PSEUDONYM_SYSTEM, "value": patient["id"]}]
    assert patient["id"] == person_key(crypto.get_key_ring(), north.id, record.person_id)  # North's key of the person
    base = get_settings().public_base_url()
    assert {e["resource"]["meta"]["source"] for e in bundle["entry"]} == {base} == {bundle["meta"]["source"]}

    assert result["valueCodeableConcept"]["coding"][0]["code"] == done.overall_level
    assert result["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]
    assert result["subject"] == qr["subject"] and result["category"][0]["coding"][0]["code"] == "survey"
    assert qr["status"] == "completed" and qr["questionnaire"] == f"{fhir.canonical(support.SELF_REPORT)}|1.3.0"
    assert qr["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert bundle["entry"][0]["fullUrl"].endswith(f"/Patient/{patient['id']}")
    items = {i["linkId"]: i for g in qr["item"] for i in g["item"]}
    assert set(items) == set(support.SELF_ANSWERS)
    declined = items["stayed_away"]  # a special answer is no answer: the item says why it has none
    assert "answer" not in declined
    assert declined["extension"] == [{"url": fhir.EXT_DATA_ABSENT, "valueCode": "asked-declined"}]
    assert all(a["valueCoding"]["system"] != fhir.SPECIAL_SYSTEM for i in items.values() for a in i.get("answer", []))
    assert items["no_safe_place"]["answer"][0]["valueCoding"]["code"] == "yes"

    assert consent["status"] == "active" and consent["patient"] == qr["subject"]
    assert consent["category"][0]["coding"][0]["code"] == "59284-0"
    assert consent["provision"]["class"] == [{"system": "urn:tellonce:data-category", "code": "item_answers"}]
    assert consent["provision"]["actor"][0]["reference"]["display"] == "South"
    assert consent["organization"][0]["display"] == "North"
    assert "Signed release" not in text  # the free-text authority is not exported

    lines = client.get(f"/api/v1/screenings/{done.id}/fhir?format=ndjson", headers=auth)
    assert lines.status_code == 200 and lines.headers["content-type"].startswith("application/fhir+ndjson")
    parsed = [json.loads(line) for line in lines.text.splitlines()]
    assert [r["resourceType"] for r in parsed] == kinds
    for resource in parsed:
        support.validate(resource)


def test_carried_answers_name_their_source_and_open_screenings_are_in_progress(world: World, session: Session) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    screener, admin, reader = world.user(north), world.user(north, Role.agency_admin), world.user(south)
    record = support.youth(session, screener)
    first = support.completed(session, screener, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    support.release(session, admin, record, south.id, Category.result_summary, Category.item_answers)
    theirs = support.youth(session, reader, "S-1")
    theirs.person_id = record.person_id  # linked to the same person, as a consented link does
    session.add(theirs)
    session.commit()
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    data = ScreeningCreate(youth_id=theirs.id, instrument_id=support.SELF_REPORT, mode="interview")
    second = screenings.start(session, keys, registry, reader, data)
    instrument = screenings.instrument_of(registry, second)
    stored = screenings.stored_answers(session, keys, second)
    carried = sorted(k for k, a in stored.items() if a.source == "carried")
    assert carried and all(stored[k].value == support.SELF_ANSWERS[k] for k in carried)
    key = person_key(keys, south.id, theirs.person_id)
    qr = fhir.questionnaire_response(second, stored, instrument, f"Patient/{key}")
    support.validate(qr)
    assert qr["status"] == "in-progress"
    item = next(i for g in qr["item"] for i in g["item"] if i["linkId"] == carried[0])
    assert {"url": fhir.EXT_CARRIED_FROM, "valueIdentifier": {"system": fhir.SCREENING_SYSTEM, "value": first.id}} in (
        item["extension"]
    )
    for line in fhir.ndjson([qr, fhir.patient(key)]):
        support.validate(json.loads(line))


def test_another_agency_exports_only_under_an_item_answers_consent(
    client: TestClient, world: World, session: Session
) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    screener, admin = world.user(north), world.user(north, Role.agency_admin)
    reader = world.user(south)
    record = support.youth(session, screener)
    theirs = support.youth(session, reader, "S-1")
    theirs.person_id = record.person_id  # linked to the same person, as a consented link does
    session.add(theirs)
    session.commit()
    done = support.completed(
        session, screener, record, support.PRACTITIONER, "practitioner", support.PRACTITIONER_ANSWERS
    )
    auth = bearer(client, reader)
    url = f"/api/v1/screenings/{done.id}/fhir"

    assert client.get(url, headers=auth).status_code == 404
    support.release(session, admin, record, south.id, Category.result_summary)
    assert client.get(url, headers=auth).status_code == 404
    support.release(session, admin, record, south.id, Category.item_answers)
    response = client.get(url, headers=auth)
    assert response.status_code == 200, response.text
    bundle = response.json()
    support.validate(bundle)
    # The answers under the item-answers consent, the result under the result-summary one: each Consent goes.
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Observation", "QuestionnaireResponse", "Consent", "Consent"]
    consents = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert [c["provision"]["class"][0]["code"] for c in consents] == ["result_summary", "item_answers"]
    session.expire_all()
    ledger = session.exec(select(Disclosure).where(Disclosure.screening_id == done.id)).all()
    assert sorted((d.kind, d.categories, d.viewer_agency_id) for d in ledger) == [
        ("export", ["item_answers"], south.id),
        ("export", ["result_summary"], south.id),
    ]
    assert session.get(Youth, theirs.id) is not None and session.get(Screening, done.id) is not None


def test_questionnaire_route(client: TestClient, world: World) -> None:
    auth = bearer(client, world.user(world.agency()))
    response = client.get(f"/api/v1/instruments/{support.PRACTITIONER}/1.0.0/fhir", headers=auth)
    assert response.status_code == 200
    support.validate(response.json())
    assert client.get(f"/api/v1/instruments/{support.PRACTITIONER}/9.9.9/fhir", headers=auth).status_code == 404
