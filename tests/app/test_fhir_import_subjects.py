"""Response import by each response's own subject: a partner's file about several people is never attached to the
one youth in the URL (issue 12 §2: a bulk Bundle of five responses about four people once was)."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import crypto
from app.interop import fhir
from app.interop.fhir_import import import_fhir
from app.interop.fhir_responses import find_instrument, import_responses
from app.main import loaded_instruments
from app.models import Agency, AuditEvent, Role, Screening, User, Youth
from app.models_sharing import Category, YouthIdentifier
from app.records.identifiers import value_index
from app.screenings import service as screenings
from instruments import Registry, load
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer

PARTNER_SYSTEM = "https://partner.example.org/fhir/client-number"


def _agencies(world: World, session: Session) -> tuple[User, User, Youth]:
    """North (the partner that sends files) with a completed screening; South (the importer)."""
    north, south = world.agency("North"), world.agency("South", "shelter")
    sender, importer = world.user(north), world.user(south)
    record = support.youth(session, sender, "N-1")
    support.completed(session, sender, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    return sender, importer, record


def _response(session: Session, sender: User, name: str, subject: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of North's completed screening as a QuestionnaireResponse named `name`, about `subject`."""
    done = session.exec(select(Screening).where(Screening.agency_id == sender.agency_id)).first()
    assert done is not None
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    instrument = registry.get(support.SELF_REPORT, "1.0.0")
    response = fhir.questionnaire_response(done, screenings.stored_answers(session, keys, done), instrument, "x")
    response |= {"id": name, "identifier": {"value": name}}
    response.pop("subject", None)
    return response | ({"subject": subject} if subject is not None else {})


def _pseudonym(session: Session, youth: Youth, recipient: str) -> str:
    return support.pseudonym_for(session, youth, recipient)


def _mixed(session: Session, sender: User, importer: User) -> tuple[dict[str, Any], list[Youth], dict[str, str]]:
    """South's four youth, and a batch Bundle of five responses about them, naming each in another FHIR way."""
    people = [support.youth(session, importer, f"S-{n}") for n in range(1, 5)]
    ids = [_pseudonym(session, y, importer.agency_id) for y in people]
    session.add(
        YouthIdentifier(
            agency_id=importer.agency_id,
            youth_id=people[3].id,
            system=PARTNER_SYSTEM,
            value_index=_index(importer.agency_id, "C-4"),
            recorded_by=importer.id,
        )
    )
    session.commit()
    patients = [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": _patient(ids[0])},
        {"fullUrl": f"https://partner.example.org/fhir/Patient/{ids[1]}", "resource": _patient(ids[1])},
    ]
    contained = _patient(ids[2]) | {"id": "who"}
    contained.pop("identifier")  # a contained Patient's id is local: this one is named by its pseudonym identifier
    contained["identifier"] = [{"system": fhir.PSEUDONYM_SYSTEM, "value": ids[2]}]
    responses = [
        _response(session, sender, "r-1a", {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}),
        _response(session, sender, "r-1b", {"reference": f"Patient/{ids[0]}"}),
        _response(session, sender, "r-2", {"reference": f"https://partner.example.org/fhir/Patient/{ids[1]}"}),
        _response(session, sender, "r-3", {"reference": "#who"}) | {"contained": [contained]},
        _response(session, sender, "r-4", {"identifier": {"system": PARTNER_SYSTEM, "value": "C-4"}}),
    ]
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [*patients, *({"resource": r} for r in responses)]}
    expected = {"r-1a": people[0].id, "r-1b": people[0].id, "r-2": people[1].id, "r-3": people[2].id}
    return bundle, people, expected | {"r-4": people[3].id}


def _patient(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": fhir.PSEUDONYM_SYSTEM, "value": patient_id}],
    }


def _index(agency_id: str, value: str) -> str:
    return value_index(crypto.get_key_ring(), agency_id, PARTNER_SYSTEM, value)


def _screenings(session: Session, agency_id: str) -> list[Screening]:
    session.expire_all()
    return list(session.exec(select(Screening).where(Screening.agency_id == agency_id)))


def test_a_file_about_four_people_is_never_attached_to_the_youth_in_the_url(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, _record = _agencies(world, session)
    bundle, people, _expected = _mixed(session, sender, importer)
    auth = bearer(client, importer)
    answer = client.post(f"/api/v1/youth/{people[0].id}/fhir-import", headers=auth, json=bundle)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]
    # The three responses about other youth are named (entry index, id), each as another youth; r-1a and r-1b are not.
    assert [p["loc"] for p in problems] == [["body", "entry", i, "subject"] for i in (4, 5, 6)]
    assert [p["type"] for p in problems] == ["other_youth"] * 3
    assert ["'r-2'" in problems[0]["msg"], "'r-3'" in problems[1]["msg"], "'r-4'" in problems[2]["msg"]] == [True] * 3
    assert answer.json()["error"] == "wrong_subject" and "Nothing was imported" in answer.json()["message"]
    assert _screenings(session, importer.agency_id) == []

    # The same file about its first youth only imports onto that youth.
    only = copy.deepcopy(bundle)
    only["entry"] = only["entry"][:4]
    answer = client.post(f"/api/v1/youth/{people[0].id}/fhir-import", headers=auth, json=only)
    assert answer.status_code == 200, answer.text
    assert [r["reference"] for r in answer.json()["imported"]] == ["r-1a", "r-1b"]
    assert {s.youth_id for s in _screenings(session, importer.agency_id)} == {people[0].id}


def test_a_file_about_four_people_is_previewed_then_imported_each_onto_its_own_youth(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, _record = _agencies(world, session)
    bundle, people, expected = _mixed(session, sender, importer)
    auth = bearer(client, importer)

    preview = client.post("/api/v1/fhir-import", headers=auth, json=bundle)
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["preview"] is True and report["imported"] == 0 and report["unmatched"] == []
    assert len(report["subjects"]) == 4
    seen = {s["youth_id"]: (s["case_number"], [r["reference"] for r in s["responses"]]) for s in report["subjects"]}
    assert seen == {
        people[0].id: ("S-1", ["r-1a", "r-1b"]),
        people[1].id: ("S-2", ["r-2"]),
        people[2].id: ("S-3", ["r-3"]),
        people[3].id: ("S-4", ["r-4"]),
    }
    listed = [r for s in report["subjects"] for r in s["responses"]]
    taken = _screenings(session, sender.agency_id)[0]  # the screening each response copies
    assert {(r["instrument_id"], r["instrument_version"], r["problems"] == []) for r in listed} == {
        (support.SELF_REPORT, taken.instrument_version, True)
    }
    assert _screenings(session, importer.agency_id) == []  # a preview saves nothing, but is audited:
    looked = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "fhir_import.preview")
    ).one()
    assert looked.actor_id == importer.id and looked.detail["youth"] == sorted(y.id for y in people)

    done = client.post("/api/v1/fhir-import?preview=false", headers=auth, json=bundle).json()
    assert done["imported"] == 5
    by_reference = {r["reference"]: r["screening_id"] for s in done["subjects"] for r in s["responses"]}
    for youth in people:
        own = {s.id for s in _screenings(session, importer.agency_id) if s.youth_id == youth.id}
        assert own == {by_reference[ref] for ref, youth_id in expected.items() if youth_id == youth.id}
    events = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "screening.import")
    ).all()
    assert sorted((e.detail["response"], e.detail["youth"]) for e in events) == sorted(expected.items())

    again = client.post("/api/v1/fhir-import?preview=false", headers=auth, json=bundle).json()
    assert again["imported"] == 0
    assert all("already imported" in r["problems"][0]["message"] for s in again["subjects"] for r in s["responses"])
    assert len(_screenings(session, importer.agency_id)) == 5


def test_a_response_about_no_one_or_someone_unknown_is_refused(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, record = _agencies(world, session)
    mine = support.youth(session, importer, "S-1")
    twin = support.youth(session, importer, "S-2")
    support.same_person(session, twin, mine)  # two records of one person: its pseudonym names both
    ok = _response(session, sender, "fine", {"reference": f"Patient/{_pseudonym(session, mine, importer.agency_id)}"})
    # North's own pseudonym of a person South does not hold, with no partner named
    stranger = {"reference": f"Patient/{_pseudonym(session, record, sender.agency_id)}"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _response(session, sender, "no-subject", None)},
            {"resource": _response(session, sender, "stranger", stranger)},
            {"resource": _response(session, sender, "unresolved", {"reference": "urn:uuid:0000-not-in-file"})},
            {"resource": ok},
        ],
    }
    auth = bearer(client, importer)
    report = client.post("/api/v1/fhir-import?preview=false", headers=auth, json=bundle).json()
    assert report["imported"] == 0 and report["subjects"] == []  # `fine` names two records: ambiguous
    refused = {r["reference"]: r["problems"][0]["message"] for r in report["unmatched"]}
    assert set(refused) == {"no-subject", "stranger", "unresolved", "fine"}
    assert "has no subject" in refused["no-subject"]
    assert "is none of your agency's youth" in refused["stranger"]
    assert "neither a Patient of this file" in refused["unresolved"]
    assert "matches 2 of your agency's youth" in refused["fine"]

    answer = client.post(f"/api/v1/youth/{mine.id}/fhir-import", headers=auth, json=bundle)
    assert answer.status_code == 422
    kinds = [(p["loc"][2], p["type"]) for p in answer.json()["detail"]]
    assert kinds == [(0, "no_subject"), (1, "unknown_subject"), (2, "unknown_subject"), (3, "ambiguous_subject")]
    assert _screenings(session, importer.agency_id) == []


def test_ndjson_is_imported_and_a_bad_line_is_located(client: TestClient, world: World, session: Session) -> None:
    sender, importer, _record = _agencies(world, session)
    youth = support.youth(session, importer, "S-1")
    pid = _pseudonym(session, youth, importer.agency_id)
    lines = [_patient(pid), _response(session, sender, "line-2", {"reference": f"Patient/{pid}"})]
    text = "\n".join(json.dumps(r) for r in lines) + "\n"
    auth = bearer(client, importer)
    headers = {**auth, "Content-Type": "application/fhir+ndjson"}
    report = client.post("/api/v1/fhir-import?preview=false", headers=headers, content=text.encode()).json()
    assert report["imported"] == 1 and report["skipped"] == [
        "line 1: Patient (only QuestionnaireResponses are imported)"
    ]
    assert report["subjects"][0]["responses"][0]["line"] == 2
    assert [s.youth_id for s in _screenings(session, importer.agency_id)] == [youth.id]

    broken = text + '{"resourceType": "QuestionnaireResponse", \n[1, 2]\n'
    headers["Content-Type"] = "application/x-ndjson"
    answer = client.post(f"/api/v1/youth/{youth.id}/fhir-import", headers=headers, content=broken.encode())
    assert answer.status_code == 422, answer.text
    assert [p["loc"][:3] for p in answer.json()["detail"]] == [["body", "line", 3], ["body", "line", 4]]
    assert len(_screenings(session, importer.agency_id)) == 1


def test_a_mapped_identifier_matches_only_for_the_agency_that_recorded_it(
    client: TestClient, world: World, session: Session
) -> None:
    sender, importer, record = _agencies(world, session)
    mine, other = support.youth(session, importer, "S-1"), support.youth(session, importer, "S-2")
    south, north = bearer(client, importer), bearer(client, sender)
    mapped = {"system": PARTNER_SYSTEM, "value": "CN-0042"}
    added = client.post(f"/api/v1/youth/{mine.id}/identifiers", headers=south, json=mapped)
    assert added.status_code == 201, added.text
    assert added.json()["system"] == PARTNER_SYSTEM and "CN-0042" not in added.text
    rows = session.exec(select(YouthIdentifier)).all()
    assert len(rows) == 1 and "CN-0042" not in json.dumps(rows[0].model_dump(mode="json"))  # never the plain value
    taken = client.post(f"/api/v1/youth/{other.id}/identifiers", headers=south, json=mapped)
    assert taken.status_code == 409
    listed = client.get(f"/api/v1/youth/{mine.id}/identifiers", headers=south).json()
    assert [i["id"] for i in listed] == [added.json()["id"]]

    response = _response(session, sender, "by-number", {"identifier": mapped})
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": response}]}
    preview = client.post("/api/v1/fhir-import", headers=south, json=bundle).json()
    assert [s["youth_id"] for s in preview["subjects"]] == [mine.id]

    # North holds its own record of the same person and imports the same file: South's mapping is never North's.
    support.same_person(session, mine, record)
    theirs = client.post("/api/v1/fhir-import", headers=north, json=bundle).json()
    assert theirs["subjects"] == [] and len(theirs["unmatched"]) == 1
    assert client.post(f"/api/v1/youth/{record.id}/fhir-import", headers=north, json=bundle).status_code == 422

    gone = client.delete(f"/api/v1/youth/{mine.id}/identifiers/{added.json()['id']}", headers=south)
    assert gone.status_code == 204
    after = client.post("/api/v1/fhir-import", headers=south, json=bundle).json()
    assert after["subjects"] == [] and len(after["unmatched"]) == 1
    actions = [
        e.action
        for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.object_id == mine.id))
    ]
    assert actions.count("youth.identifier.add") == 1 and actions.count("youth.identifier.remove") == 1


def test_a_partners_pseudonym_matches_only_people_the_agency_disclosed_to_that_partner(
    client: TestClient, world: World, session: Session
) -> None:
    """North's pseudonym of a person is North's: South may resolve it only for people South itself disclosed to
    North (then North can have had it from South's own export); otherwise South could join North's
    de-identified files to the youth it names (the outside probe's leak), even with no consent in force."""
    sender, importer, record = _agencies(world, session)
    third = world.agency("East")
    theirs = support.youth(session, importer, "S-1")
    support.same_person(session, theirs, record)
    pid = _pseudonym(session, record, sender.agency_id)  # as North names the person in its own files
    assert pid != _pseudonym(session, record, third.id) != _pseudonym(session, record, importer.agency_id)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": _response(session, sender, "p", {"reference": f"Patient/{pid}"})}],
    }
    auth = bearer(client, importer)

    def matched(query: str) -> list[str]:
        answer = client.post(f"/api/v1/fhir-import{query}", headers=auth, json=bundle)
        assert answer.status_code == 200, answer.text
        return [s["youth_id"] for s in answer.json()["subjects"]]

    assert matched(f"?partner={sender.agency_id}") == []  # South never told North about this person
    # South shares its own screening of the person with North, and North reads it as FHIR: now North holds its
    # pseudonym of the person from South, and may send responses about them back under it.
    mine = support.completed(session, importer, theirs, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    south = session.get(Agency, importer.agency_id)
    assert south is not None
    admin = world.user(south, Role.agency_admin)
    support.release(session, admin, theirs, sender.agency_id, Category.result_summary, Category.item_answers)
    read = client.get(f"/api/v1/screenings/{mine.id}/fhir", headers=bearer(client, sender))
    assert read.status_code == 200, read.text
    assert {e["resource"]["id"] for e in read.json()["entry"] if e["resource"]["resourceType"] == "Patient"} == {pid}
    assert matched(f"?partner={sender.agency_id}") == [theirs.id]
    assert matched(f"?partner={third.id}") == [] and matched("") == []  # only under the partner it was given to
    assert client.post("/api/v1/fhir-import?partner=no-such-agency", headers=auth, json=bundle).status_code == 400


def _versions(*versions: str) -> Registry:
    """The loaded instruments, with the partner's imported questionnaire at these versions."""
    registry = Registry(dict(loaded_instruments().instruments))
    for version in versions:
        report = import_fhir(
            support.fixture("weighted-questionnaire.json"),
            {"possible_concern": 4, "clear_concern": 8},
            "sleep-mood-check",
            version,
        )
        assert report.changed == report.dropped == report.problems == []
        data = yaml.safe_load(report.yaml)
        data["provenance"].pop("citation", None)
        data["derived_from"] = {"url": "https://example.org/fhir/Questionnaire/sleep-mood-check", "version": "7"}
        loaded_result = load(text=yaml.safe_dump(data, allow_unicode=True))
        instrument, found = loaded_result.instrument, loaded_result.problems
        assert instrument is not None, found
        registry.instruments[instrument.key] = instrument
    return registry


def test_a_questionnaire_without_version_matches_only_a_lone_loaded_version() -> None:
    one, two = _versions("0.1.0"), _versions("0.1.0", "0.2.0")
    for reference in (fhir.canonical("sleep-mood-check"), "urn:tellonce:instrument:sleep-mood-check"):
        found, problem = find_instrument(one, reference)
        assert found is not None and found.version == "0.1.0" and problem is None, reference
        found, problem = find_instrument(two, reference)
        assert found is None and "sleep-mood-check|0.1.0, sleep-mood-check|0.2.0" in str(problem), reference
        assert find_instrument(two, f"{reference}|0.2.0")[0].version == "0.2.0"  # type: ignore[union-attr]
    source = "https://example.org/fhir/Questionnaire/sleep-mood-check"  # the source canonical it was derived from
    assert find_instrument(one, source)[0] is not None and find_instrument(one, f"{source}|7")[0] is not None
    assert find_instrument(two, source)[0] is None and find_instrument(two, f"{source}|0.2.0")[0] is not None
    assert find_instrument(one, f"{source}|8")[0] is None
    assert find_instrument(one, "sleep-mood-check")[0] is None  # a bare id is no canonical


def test_a_version_less_response_is_refused_when_two_versions_are_loaded(world: World, session: Session) -> None:
    _sender, importer, _record = _agencies(world, session)
    youth = support.youth(session, importer, "S-1")
    subject = {"reference": f"Patient/{_pseudonym(session, youth, importer.agency_id)}"}
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "sleep-1",
        "status": "completed",
        "questionnaire": "https://example.org/fhir/Questionnaire/sleep-mood-check",
        "subject": subject,
        "item": [{"linkId": "sleep", "item": [{"linkId": "1", "answer": [{"valueCoding": {"code": "every-day"}}]}]}],
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": response}]}
    keys = crypto.get_key_ring()
    refused = import_responses(session, keys, _versions("0.1.0", "0.2.0"), importer, bundle, youth.id)
    assert refused.imported == [] and "several are loaded" in refused.rejected[0].problems[0].message
    done = import_responses(session, keys, _versions("0.1.0"), importer, bundle, youth.id)
    assert [(r.instrument_id, r.instrument_version) for r in done.imported] == [("sleep-mood-check", "0.1.0")]
    assert [s.youth_id for s in _screenings(session, importer.agency_id)] == [youth.id]


def test_two_patients_with_one_id_from_two_servers_are_told_apart_by_the_response_s_own_server(
    client: TestClient, world: World, session: Session
) -> None:
    """A Bundle gathered from two servers holds two `Patient/1`s. FHIR resolves each response's relative
    `Patient/1` against its own entry's server; without a server to tell them apart the subject is ambiguous
    (the outside probe's file put both responses on the second youth)."""
    sender, importer, _record = _agencies(world, session)
    hilda, hugo = support.youth(session, importer, "S-1"), support.youth(session, importer, "S-2")
    for youth, value in ((hilda, "C-0"), (hugo, "C-1")):
        session.add(
            YouthIdentifier(
                agency_id=importer.agency_id,
                youth_id=youth.id,
                system=PARTNER_SYSTEM,
                value_index=_index(importer.agency_id, value),
                recorded_by=importer.id,
            )
        )
    session.commit()

    def patient(value: str) -> dict[str, Any]:
        return {"resourceType": "Patient", "id": "1", "identifier": [{"system": PARTNER_SYSTEM, "value": value}]}

    def entries(base_a: str, base_b: str) -> list[dict[str, Any]]:
        return [
            {"fullUrl": f"{base_a}/Patient/1", "resource": patient("C-0")},
            {"fullUrl": f"{base_b}/Patient/1", "resource": patient("C-1")},
            {
                "fullUrl": f"{base_a}/QuestionnaireResponse/qa",
                "resource": _response(session, sender, "qa", {"reference": "Patient/1"}),
            },
            {
                "fullUrl": f"{base_b}/QuestionnaireResponse/qb",
                "resource": _response(session, sender, "qb", {"reference": "Patient/1"}),
            },
        ]

    auth = bearer(client, importer)
    two = {"resourceType": "Bundle", "type": "collection"}
    servers = two | {"entry": entries("https://a.example.org/fhir", "https://b.example.org/fhir")}
    preview = client.post("/api/v1/fhir-import", headers=auth, json=servers).json()
    placed = {r["reference"]: s["youth_id"] for s in preview["subjects"] for r in s["responses"]}
    assert placed == {"qa": hilda.id, "qb": hugo.id} and preview["unmatched"] == []

    unplaced = two | {"entry": [{"resource": e["resource"]} for e in entries("x", "y")]}  # no fullUrls
    blind = client.post("/api/v1/fhir-import", headers=auth, json=unplaced).json()
    assert blind["subjects"] == [] and len(blind["unmatched"]) == 2
    assert all("several Patients" in r["problems"][0]["message"] for r in blind["unmatched"])
