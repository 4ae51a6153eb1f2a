"""Every FHIR export conforms (issue 12, "Conformant exports"): validated with the R4B models and the published
R4 JSON Schema, with no empty array, object or string anywhere, `meta.source` on every resource; special
answers as data-absent-reasons, never codings of another type; a declared total in the response and as a
survey Observation; https canonicals that answer; outside codes written again; one Patient id per person per
recipient across the per-screening and the bulk exports.

The instrument is written here in the shapes an imported questionnaire has (outside codes on the
instrument, items, options and the total, the definition it was derived from), with made-up wording and
made-up codes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.exports.tabular import person_key
from app.interop import fhir, fhir_stream
from app.interop.fhir_import import import_fhir
from app.interop.fhir_responses import answers_from_response
from app.models import Agency, Screening, User, Youth, utcnow
from app.models_referrals import Urgency
from app.models_sharing import Category, Purpose
from app.referrals import service as referrals
from app.referrals.schemas import ReferralCreate
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from instruments.loader import BUNDLED_DIR, Registry, load
from tests.app.conftest import World, bearer
from tests.app.exports_support import Scene, make_scene
from tests.app.fhir_support import empty_values, validate

SHAPES = "fhir-shapes"
CODES = "https://codes.example.org/wellbeing"  # a made-up outside code system
SHAPES_YAML = """
id: fhir-shapes
version: 1.0.0
title: {en: Every answer shape}
description: {en: 'An instrument with every item type, written for the FHIR conformance tests.'}
authors: [TellOnce tests]
license: CC0-1.0
provenance: {validated: false, statement: {en: Written for tests.}}
modes: [practitioner, interview]
languages: [en]
default_language: en
codes: [{system: 'https://codes.example.org/wellbeing', code: 'panel-1', display: 'Made-up panel'}]
derived_from: {url: 'https://forms.example.org/Questionnaire/made-up', version: '3.1'}
sections:
  - {id: main, title: {en: Main}, notice: {en: 'Some questions are personal.'}}
  - {id: more, title: {en: More}}
domains:
  - {id: d, title: {en: D}, indicators: [{id: d.x, text: {en: X}}]}
items:
  - id: feeling
    section: main
    type: single_choice
    text: {en: 'How often did you feel unsafe?'}
    codes: [{system: 'https://codes.example.org/wellbeing', code: 'q-1', display: 'Made-up question one'}]
    options:
      - code: never
        label: {en: Never}
        weight: 0
        coding: {system: 'https://codes.example.org/wellbeing', code: 'a-0', display: 'Made-up never'}
      - code: sometimes
        label: {en: Sometimes}
        weight: 1
        coding: {system: 'https://codes.example.org/wellbeing', code: a-1}
      - {code: often, label: {en: Often}, weight: 3}
    indicates: [{indicator: d.x, level: clear_concern, answers: [often]}]
  - id: places
    section: main
    type: multiple_choice
    text: {en: 'Where did you sleep?'}
    options:
      - {code: home, label: {en: Home}, weight: 0}
      - {code: street, label: {en: Street}, weight: 2}
      - {code: friend, label: {en: "A friend's place"}, weight: 1}
  - {id: safe, section: main, type: yes_no, text: {en: 'Do you feel safe now?'}}
  - {id: why_unsafe, section: main, type: long_text, text: {en: 'What makes you feel unsafe?'}, show_if: "safe == 'no'"}
  - {id: nights, section: more, type: number, minimum: 0, maximum: 365, text: {en: 'How many nights away?'}}
  - {id: hours, section: more, type: number, integer: false, minimum: 0, text: {en: 'Hours of work a day?'}}
  - {id: left_home, section: more, type: date, text: {en: 'When did you leave home?'}}
  - {id: town, section: more, type: short_text, max_length: 80, text: {en: 'Which town?'}}
  - id: why_not
    section: more
    type: short_text
    text: {en: 'Anything you want to add?'}
    show_if: "feeling == 'declined'"
  - {id: close, section: more, type: notice, text: {en: 'Thank you.'}}
scoring:
  total:
    of: "sum(weights)"
    label: {en: Weighted sum}
    code: {system: 'https://codes.example.org/wellbeing', code: 'total-1', display: 'Made-up total score'}
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: c}}
    - {level: no_concern, explain: {en: n}}
  overall:
    - {level: clear_concern, when: "total() >= 4", explain: {en: c}}
    - {level: possible_concern, when: "total() >= 1", explain: {en: p}}
    - {level: no_concern, explain: {en: n}}
"""
UNSCORED = "fhir-unscored"
UNSCORED_YAML = """
id: fhir-unscored
version: 1.0.0
title: {en: A form without scoring}
description: {en: 'Collects answers and concludes nothing.'}
authors: [TellOnce tests]
license: CC0-1.0
provenance: {validated: false, statement: {en: Written for tests.}}
modes: [practitioner]
languages: [en]
default_language: en
sections: [{id: main, title: {en: Main}}]
items:
  - id: mood
    section: main
    type: single_choice
    text: {en: 'Mood?'}
    options: [{code: ok, label: {en: OK}}, {code: low, label: {en: Low}}]
  - {id: note, section: main, type: short_text, text: {en: 'Anything else?'}}
"""
TOTAL_ONLY = "fhir-total-only"
TOTAL_ONLY_YAML = (
    UNSCORED_YAML.replace("fhir-unscored", TOTAL_ONLY).replace(
        "[{code: ok, label: {en: OK}}, {code: low, label: {en: Low}}]",
        "[{code: ok, label: {en: OK}, weight: 0}, {code: low, label: {en: Low}, weight: 2}]",
    )
    + """scoring:
  total:
    of: sum(weights)
    label: {en: Made-up score}
    code: {system: 'https://codes.example.org/wellbeing', code: 'score-9'}
"""
)
# Every answer shape: ordinary ones; special answers on every item type; an empty multiple choice; an
# empty text; a follow-up show_if hid; nothing answered at all.
ORDINARY = {
    "feeling": "sometimes",
    "places": ["street", "friend"],
    "safe": "no",
    "why_unsafe": "Someone at home.",
    "nights": 12,
    "hours": 7.5,
    "left_home": "2024-05-01",
    "town": "Riverton",
}
DECLINED = {item: "declined" for item in ORDINARY if item != "why_unsafe"}
UNKNOWN = {item: "not_enough_info" for item in ORDINARY if item != "why_unsafe"}
EMPTY = {"feeling": "often", "places": [], "safe": "yes", "why_unsafe": "hidden by show_if", "town": ""}
SHAPES_ANSWERS = [ORDINARY, DECLINED, UNKNOWN, EMPTY, {}]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("shapes")
    (folder / "shapes.yaml").write_text(SHAPES_YAML, encoding="utf-8")
    (folder / "unscored.yaml").write_text(UNSCORED_YAML, encoding="utf-8")
    (folder / "total-only.yaml").write_text(TOTAL_ONLY_YAML, encoding="utf-8")
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


@pytest.fixture
def scene(world: World, registry: Registry, client: TestClient) -> Scene:
    client.app.state.registry = registry  # type: ignore[attr-defined]
    return make_scene(world, registry)


def user_of(db: Session, agency: Agency) -> User:
    return db.exec(select(User).where(User.agency_id == agency.id, User.role == "screener")).one()


def resources_of(exported: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in exported.get("entry", [])] if exported["resourceType"] == "Bundle" else [exported]


def conformant(exported: dict[str, Any]) -> dict[str, Any]:
    """Models, schema and no empty values (`validate`), and `meta.source` on the resource and every entry."""
    validate(exported)
    for resource in [exported, *resources_of(exported)]:
        assert resource["meta"]["source"] == fhir.deployment(), resource["resourceType"]
    return exported


def conformant_lines(text: str) -> list[dict[str, Any]]:
    """NDJSON: each line a conformant resource."""
    found = [json.loads(line) for line in text.splitlines()]
    assert found
    for resource in found:
        conformant(resource)
    return found


def items_of(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A response's items by linkId (inside the section groups, and the total after them)."""
    out: dict[str, dict[str, Any]] = {}
    for item in response.get("item", []):
        out[item["linkId"]] = item
        out.update({i["linkId"]: i for i in item.get("item", [])})
    return out


def absent(item: dict[str, Any]) -> str:
    [reason] = [e["valueCode"] for e in item["extension"] if e["url"] == fhir.EXT_DATA_ABSENT]
    assert "answer" not in item
    return reason


def test_the_walk_finds_every_empty_value() -> None:
    """The helper every test below relies on fails on what FHIR JSON forbids (and only on that)."""
    good = {"resourceType": "Patient", "id": "p", "active": False, "name": [{"given": ["A"]}], "x": 0}
    assert empty_values(good) == []
    bad = {"a": [], "b": {}, "c": "", "d": None, "e": [{"f": []}, "g"], "h": {"i": {"j": ""}}}
    assert empty_values(bad) == ["$.a", "$.b", "$.c", "$.d", "$.e[0].f", "$.h.i.j"]
    with pytest.raises(AssertionError, match="empty values"):
        validate(
            {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "a", "answer": []}]}
        )


def test_the_schema_catches_what_the_models_may_not() -> None:
    """The published schema is really applied: an unknown element and a bad code are refused."""
    with pytest.raises(AssertionError, match="status"):
        validate({"resourceType": "QuestionnaireResponse", "status": "done"})
    with pytest.raises(AssertionError, match="Additional properties"):
        validate({"resourceType": "Patient", "nickname": "x"})


def test_every_answer_shape_conforms_in_every_export(scene: Scene, client: TestClient) -> None:
    done = [scene.screen(answers, instrument=SHAPES) for answers in SHAPES_ANSWERS]
    scene.consent(*Category)
    auth = bearer(client, scene.supervisor)
    per_screening: dict[str, dict[str, Any]] = {}
    for screening in done:
        url = f"/api/v1/screenings/{screening.id}/fhir"
        bundle = conformant(client.get(url, headers=auth).json())
        lines = conformant_lines(client.get(f"{url}?format=ndjson", headers=auth).text)
        assert [r["id"] for r in lines] == [r["id"] for r in resources_of(bundle)]
        per_screening[screening.id] = bundle
    bulk = conformant(json.loads(scene.export("fhir-bundle")))
    bulk_lines = conformant_lines(scene.export("fhir-ndjson"))
    assert [r["id"] for r in bulk_lines] == [r["id"] for r in resources_of(bulk)]
    referral = referrals.send(
        scene.db,
        scene.keys,
        scene.screener,
        ReferralCreate(
            youth_id=scene.youth.id,
            to_agency_id=scene.b.id,
            screening_ids=[s.id for s in done],
            categories=[Category.result_summary, Category.item_answers],
            purpose=Purpose.care_coordination,
            urgency=Urgency.routine,
            reason="Needs support.",
            preparer_contact="555-0100",
        ),
    )
    scene.db.commit()
    referred = client.get(f"/api/v1/referrals/{referral.id}/fhir", headers=bearer(client, scene.screener))
    assert referred.status_code == 200, referred.text
    conformant(referred.json())

    # The same response in every export (the referral's Patient is another: it is named).
    bulk_responses = {r["id"]: r for r in resources_of(bulk) if r["resourceType"] == "QuestionnaireResponse"}
    referred_responses = {
        r["id"]: r for r in resources_of(referred.json()) if r["resourceType"] == "QuestionnaireResponse"
    }
    for screening in done:
        [own] = [r for r in resources_of(per_screening[screening.id]) if r["resourceType"] == "QuestionnaireResponse"]
        for other in (bulk_responses[screening.id], referred_responses[screening.id]):
            assert {k: v for k, v in other.items() if k not in ("subject", "meta")} == {
                k: v for k, v in own.items() if k not in ("subject", "meta")
            }

    ordinary, declined, unknown, empty, nothing = (items_of(bulk_responses[s.id]) for s in done)
    assert ordinary["nights"]["answer"] == [{"valueInteger": 12}]
    assert ordinary["hours"]["answer"] == [{"valueDecimal": 7.5}]
    assert ordinary["left_home"]["answer"] == [{"valueDate": "2024-05-01"}]
    assert ordinary["why_unsafe"]["answer"] == [{"valueString": "Someone at home."}]
    # Special answers: never a coding, whatever the item's type; the item says why it has no answer.
    for item in DECLINED:
        assert absent(declined[item]) == "asked-declined", item
        assert absent(unknown[item]) == "unknown", item
    text = json.dumps([declined, unknown])
    assert fhir.SPECIAL_SYSTEM not in text and "valueCoding" not in text
    # An empty multiple choice is no answer with its reason; an empty text and a hidden item are not written.
    assert absent(empty["places"]) == fhir.NONE_CHOSEN
    assert "town" not in empty and "why_unsafe" not in empty
    # The declared total answers its read-only item: sometimes (1) + street (2) + friend (1); nothing chosen: 0.
    assert ordinary[fhir.TOTAL_LINK]["answer"] == [{"valueDecimal": 4}]
    assert nothing == {
        fhir.TOTAL_LINK: {"linkId": fhir.TOTAL_LINK, "text": "Weighted sum", "answer": [{"valueDecimal": 0}]}
    }
    # An option with an outside coding is answered in it, carrying its TellOnce code; one without, in ours.
    assert ordinary["feeling"]["answer"] == [
        {
            "valueCoding": {
                "system": CODES,
                "code": "a-1",
                "display": "Sometimes",
                "extension": [{"url": fhir.EXT_OPTION_CODE, "valueCode": "sometimes"}],
            }
        }
    ]
    assert [a["valueCoding"]["code"] for a in ordinary["places"]["answer"]] == ["street", "friend"]
    assert {a["valueCoding"]["system"] for a in ordinary["places"]["answer"]} == {fhir.options_system(SHAPES)}


def test_the_questionnaire_says_the_outside_codes_and_the_total(registry: Registry) -> None:
    instrument = registry.get(SHAPES)
    assert instrument is not None
    q = fhir.questionnaire(instrument)
    validate(q)
    assert q["url"] == f"{fhir.deployment()}/fhir/Questionnaire/{SHAPES}" and q["version"] == "1.0.0"
    assert q["code"] == [{"system": CODES, "code": "panel-1", "display": "Made-up panel"}]
    assert q["derivedFrom"] == ["https://forms.example.org/Questionnaire/made-up|3.1"]
    items = {i["linkId"]: i for group in q["item"] for i in [group, *group.get("item", [])]}
    assert items["feeling"]["code"] == [{"system": CODES, "code": "q-1", "display": "Made-up question one"}]
    options = items["feeling"]["answerOption"]
    assert options[0] == {
        "valueCoding": {
            "system": CODES,
            "code": "a-0",
            "display": "Made-up never",
            "extension": [{"url": fhir.EXT_OPTION_CODE, "valueCode": "never"}],
        },
        "extension": [{"url": fhir.EXT_ITEM_WEIGHT, "valueDecimal": 0}],
    }
    assert options[1]["valueCoding"]["display"] == "Sometimes"  # no published display: the label
    assert options[2]["valueCoding"] == {"system": fhir.options_system(SHAPES), "code": "often", "display": "Often"}
    assert [o["valueCoding"]["system"] for o in options[3:]] == [fhir.SPECIAL_SYSTEM] * 2  # a form filler offers them
    assert items["why_unsafe"]["enableWhen"] == [
        {"question": "safe", "operator": "=", "answerCoding": {"system": fhir.options_system(SHAPES), "code": "no"}}
    ]
    # A response never carries a special answer as a coding, so no enableWhen compares with one.
    assert "enableWhen" not in items["why_not"]
    assert items["why_not"]["extension"] == [{"url": fhir.EXT_SHOW_IF, "valueString": "feeling == 'declined'"}]
    total = q["item"][-1]
    assert total == {
        "linkId": fhir.TOTAL_LINK,
        "code": [{"system": CODES, "code": "total-1", "display": "Made-up total score"}],
        "text": "Weighted sum",
        "type": "decimal",
        "readOnly": True,
        "extension": [
            {"url": fhir.EXT_TOTAL_OF, "valueString": "sum(weights)"},
            {
                "url": fhir.EXT_CALCULATED,
                "valueExpression": {"language": "text/fhirpath", "expression": fhir.WEIGHTED_SUM_FHIRPATH},
            },
        ],
    }
    assert [g["type"] for g in q["item"][:-1]] == ["group", "group"]


def test_the_total_is_an_observation_in_every_export_that_carries_the_result(scene: Scene, client: TestClient) -> None:
    done = scene.screen(ORDINARY, instrument=SHAPES)
    scene.consent(*Category)
    bulk = [r for r in resources_of(conformant(json.loads(scene.export("fhir-bundle"))))]
    own = resources_of(
        conformant(client.get(f"/api/v1/screenings/{done.id}/fhir", headers=bearer(client, scene.supervisor)).json())
    )
    written = []
    for found in (bulk, own):
        observations = {r["id"]: r for r in found if r["resourceType"] == "Observation"}
        result, total = observations[done.id], observations[fhir_stream.total_id(done.id)]
        assert result["valueCodeableConcept"]["coding"][0]["code"] == "clear_concern"  # total() >= 4
        assert result["hasMember"] == [{"reference": f"Observation/{total['id']}"}]
        assert total["code"] == {
            "coding": [{"system": CODES, "code": "total-1", "display": "Made-up total score"}],
            "text": "Weighted sum",
        }
        assert total["valueQuantity"] == {"value": 4}
        assert total["category"] == [fhir_stream.SURVEY] == result["category"]
        assert total["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{done.id}"}] == result["derivedFrom"]
        assert total["subject"] == result["subject"]
        written.append({key: {k: v for k, v in o.items() if k != "subject"} for key, o in observations.items()})
    assert written[0] == written[1]  # the two exports write the same Observations (but for whom)


def test_one_patient_id_per_person_per_recipient(scene: Scene, client: TestClient) -> None:
    """B reads A's screening of a person: B's own export of it and A's bulk export to B name the same Patient;
    A's own export and A's bulk export to C name others."""
    done = scene.screen(ORDINARY, instrument=SHAPES)
    scene.consent(*Category)
    scene.consent(*Category, to="c")

    def patient_ids(exported: dict[str, Any]) -> set[str]:
        return {r["id"] for r in resources_of(conformant(exported)) if r["resourceType"] == "Patient"}

    url = f"/api/v1/screenings/{done.id}/fhir"
    [for_b] = patient_ids(client.get(url, headers=bearer(client, user_of(scene.db, scene.b))).json())
    [bulk_b] = patient_ids(json.loads(scene.export("fhir-bundle", to="b")))
    [bulk_c] = patient_ids(json.loads(scene.export("fhir-bundle", to="c")))
    [own] = patient_ids(client.get(url, headers=bearer(client, scene.supervisor)).json())
    assert for_b == bulk_b == person_key(scene.keys, scene.b.id, scene.youth.person_id)
    assert len({bulk_b, bulk_c, own}) == 3
    ndjson = [
        json.loads(line)
        for line in client.get(
            f"{url}?format=ndjson", headers=bearer(client, user_of(scene.db, scene.b))
        ).text.splitlines()
    ]
    assert {r["subject"]["reference"] for r in ndjson if "subject" in r} == {f"Patient/{bulk_b}"}


def identifiers(resource: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A resource's business identifiers as a partner de-duplicates by them: (resource type, system, value)."""
    found = resource.get("identifier") or []
    found = [found] if isinstance(found, dict) else found  # a QuestionnaireResponse has one, not a list
    return [(resource["resourceType"], i["system"], i["value"]) for i in found]


def test_no_two_resources_of_an_export_share_an_identifier(scene: Scene, client: TestClient) -> None:
    """A partner that de-duplicates by identifier takes no resource for an update of another (the result and the
    total Observation of a screening once shared the screening's); the per-screening export identifies each
    resource as the bulk export to the same agency does."""
    first = scene.screen(ORDINARY, instrument=SHAPES)
    second = scene.screen({**ORDINARY, "feeling": "never"}, instrument=SHAPES)
    scene.consent(*Category)
    bulk = resources_of(conformant(json.loads(scene.export("fhir-bundle"))))
    found = [key for resource in bulk for key in identifiers(resource)]
    assert len(found) == len(set(found)), sorted(found)
    observations = {r["id"]: r for r in bulk if r["resourceType"] == "Observation"}
    for done in (first, second):  # each screening's result and total, each identified
        assert identifiers(observations[done.id]) and identifiers(observations[fhir_stream.total_id(done.id)])
    assert all(identifiers(r) for r in bulk if r["resourceType"] in ("QuestionnaireResponse", "Patient"))

    reader = bearer(client, user_of(scene.db, scene.b))
    for done in (first, second):
        own = resources_of(conformant(client.get(f"/api/v1/screenings/{done.id}/fhir", headers=reader).json()))
        in_bulk = {(r["resourceType"], r["id"]): identifiers(r) for r in bulk}
        assert {r["resourceType"] for r in own} >= {"Observation", "QuestionnaireResponse", "Patient"}
        assert {(r["resourceType"], r["id"]): identifiers(r) for r in own}.items() <= in_bulk.items()


def test_an_open_screening_has_no_result_but_its_carried_answers_conform(scene: Scene, client: TestClient) -> None:
    """B screens its own record of the person: what the youth told A in an interview, shared with B, is carried."""
    data = ScreeningCreate(youth_id=scene.youth.id, instrument_id=SHAPES, mode="interview")
    first = screenings.start(scene.db, scene.keys, scene.registry, scene.screener, data)
    save = AnswersSave(version=1, answers=ORDINARY)
    screenings.save_answers(scene.db, scene.keys, scene.registry, scene.screener, first.id, save)
    screenings.complete(scene.db, scene.keys, scene.registry, scene.screener, first.id, 2)
    scene.db.commit()
    scene.consent(*Category)
    reader = user_of(scene.db, scene.b)
    theirs = scene.db.exec(select(Youth).where(Youth.created_by == reader.id)).one()
    data = ScreeningCreate(youth_id=theirs.id, instrument_id=SHAPES, mode="practitioner")
    second = screenings.start(scene.db, scene.keys, scene.registry, reader, data)
    scene.db.commit()
    stored = screenings.stored_answers(scene.db, scene.keys, second)
    assert {a.source for a in stored.values()} == {"carried"}
    bundle = conformant(client.get(f"/api/v1/screenings/{second.id}/fhir", headers=bearer(client, reader)).json())
    [response] = [r for r in resources_of(bundle) if r["resourceType"] == "QuestionnaireResponse"]
    assert response["status"] == "in-progress"
    assert "Observation" not in {r["resourceType"] for r in resources_of(bundle)}  # no result yet, no total
    items = items_of(response)
    assert fhir.TOTAL_LINK not in items
    assert {"url": fhir.EXT_CARRIED_FROM, "valueIdentifier": {"system": fhir.SCREENING_SYSTEM, "value": first.id}} in (
        items["nights"]["extension"]
    )


def test_the_canonical_url_answers_the_questionnaire(scene: Scene, client: TestClient) -> None:
    auth = bearer(client, scene.supervisor)
    instrument = scene.registry.get(SHAPES)
    assert instrument is not None
    canonical = fhir.canonical(SHAPES)
    path = canonical.removeprefix(fhir.deployment())
    assert path == f"/fhir/Questionnaire/{SHAPES}"
    for address in (path, f"{path}?version=1.0.0", f"/fhir/Questionnaire/{fhir.questionnaire_id(SHAPES, '1.0.0')}"):
        response = client.get(address, headers=auth)
        assert response.status_code == 200, (address, response.text)
        assert response.headers["content-type"].startswith("application/fhir+json")
        found = conformant(response.json())
        assert {k: v for k, v in found.items() if k != "meta"} == fhir.questionnaire(instrument)
    # The newest version when none is named; the bundled instruments' canonicals answer too.
    brief = client.get("/fhir/Questionnaire/tellonce-brief-screen", headers=auth).json()
    assert brief["version"] == scene.registry.get("tellonce-brief-screen").version  # type: ignore[union-attr]
    older = client.get("/fhir/Questionnaire/tellonce-brief-screen?version=1.1.0", headers=auth).json()
    assert older["version"] == "1.1.0" and older["url"] == fhir.canonical("tellonce-brief-screen")
    # FHIR's search by canonical.
    search = conformant(client.get("/fhir/Questionnaire", params={"url": f"{canonical}|1.0.0"}, headers=auth).json())
    assert search["type"] == "searchset" and search["total"] == 1
    assert search["entry"][0]["resource"]["url"] == canonical and search["entry"][0]["search"] == {"mode": "match"}
    none = conformant(
        client.get("/fhir/Questionnaire", params={"url": "https://elsewhere.example/x"}, headers=auth).json()
    )
    assert none["total"] == 0 and "entry" not in none
    # Errors are JSON, as the API's; a partner needs a token.
    missing = client.get(f"{path}?version=9.9.9", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.get("/fhir/Questionnaire/no-such-thing", headers=auth).status_code == 404
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and anonymous.json()["error"]


def test_a_reimport_maps_back_to_the_same_options_codes_and_total(registry: Registry) -> None:
    """Our Questionnaire imported again (as a partner's TellOnce would): every option keeps its TellOnce code and
    its outside coding, the codes stay, the read-only total is the total again, not a question."""
    instrument = registry.get(SHAPES)
    assert instrument is not None
    report = import_fhir(fhir.questionnaire(instrument), {"possible_concern": 1, "clear_concern": 4}, "again", "1.0.0")
    assert report.loads, report.problems
    loaded_result = load(text=report.yaml)
    again, problems = loaded_result.instrument, loaded_result.problems
    assert again is not None and problems == []
    feeling, original = again.items["feeling"], instrument.items["feeling"]
    kept = [(o.code, o.weight, o.coding and (o.coding.system, o.coding.code)) for o in feeling.options]  # type: ignore[union-attr]
    assert kept == [
        ("never", 0, (CODES, "a-0")),
        ("sometimes", 1, (CODES, "a-1")),
        ("often", 3, (fhir.options_system(SHAPES), "often")),  # our own coding: the same code again
    ]
    # A published display is kept; where the coding had none, the option's words became its display.
    assert [o.coding.display for o in feeling.options] == ["Made-up never", "Sometimes", "Often"]  # type: ignore[union-attr]
    assert feeling.codes == original.codes
    assert fhir.TOTAL_LINK not in again.items and "total_score" not in again.items
    total = again.definition.scoring.total
    assert total is not None and total.code == instrument.definition.scoring.total.code  # type: ignore[union-attr]
    assert again.definition.codes == instrument.definition.codes


@pytest.mark.parametrize("answers", [ORDINARY, DECLINED, UNKNOWN], ids=["ordinary", "declined", "unknown"])
def test_an_exported_response_reads_back_as_it_was(registry: Registry, answers: dict[str, Any]) -> None:
    """Outside codings, special answers as data-absent-reasons, and the total item (skipped) read back."""
    instrument = registry.get(SHAPES)
    assert instrument is not None
    screening = Screening(
        id="0" * 32,
        youth_id="y",
        agency_id="a",
        instrument_id=SHAPES,
        instrument_version="1.0.0",
        content_hash=instrument.content_hash,
        mode="practitioner",
        language="en",
        started_by="u",
        started_at=utcnow(),
    )
    response = fhir.questionnaire_response(screening, answers, instrument, "Patient/p", 4)
    validate(response)
    assert answers_from_response(response, instrument) == (answers, [])


def test_an_unscored_screening_has_its_response_but_no_result_observation(scene: Scene, client: TestClient) -> None:
    done = scene.screen({"mood": "low", "note": "declined"}, instrument=UNSCORED)
    assert done.overall_level == "not_scored"
    scene.consent(*Category)
    url = f"/api/v1/screenings/{done.id}/fhir"
    own = resources_of(conformant(client.get(url, headers=bearer(client, scene.supervisor)).json()))
    bulk = resources_of(conformant(json.loads(scene.export("fhir-bundle"))))
    for found in (own, bulk):
        kinds = {r["resourceType"] for r in found}
        assert "Observation" not in kinds and "QuestionnaireResponse" in kinds  # nothing concluded, all answered
        [response] = [r for r in found if r["resourceType"] == "QuestionnaireResponse"]
        items = items_of(response)
        assert items["mood"]["answer"][0]["valueCoding"]["code"] == "low" and absent(items["note"]) == "asked-declined"
        assert fhir.TOTAL_LINK not in items
    [questionnaire] = [r for r in bulk if r["resourceType"] == "Questionnaire"]
    assert [i["type"] for i in questionnaire["item"]] == ["group"]  # no total item


def test_a_total_without_levels_has_its_total_observation_but_no_result(scene: Scene, client: TestClient) -> None:
    """A form that reports a published total and concludes no level: the total goes, no level is invented."""
    done = scene.screen({"mood": "low"}, instrument=TOTAL_ONLY)
    assert done.overall_level == "not_scored"
    scene.consent(*Category)
    url = f"/api/v1/screenings/{done.id}/fhir"
    own = resources_of(conformant(client.get(url, headers=bearer(client, scene.supervisor)).json()))
    bulk = resources_of(conformant(json.loads(scene.export("fhir-bundle"))))
    for found in (own, bulk):
        [total] = [r for r in found if r["resourceType"] == "Observation"]  # no result Observation: no level
        assert total["id"] == fhir_stream.total_id(done.id) and total["valueQuantity"] == {"value": 2}
        assert total["code"] == {"coding": [{"system": CODES, "code": "score-9"}], "text": "Made-up score"}
        assert "valueCodeableConcept" not in total and "hasMember" not in total
        [response] = [r for r in found if r["resourceType"] == "QuestionnaireResponse"]
        assert items_of(response)[fhir.TOTAL_LINK]["answer"] == [{"valueDecimal": 2}]
        assert total["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{response['id']}"}]
