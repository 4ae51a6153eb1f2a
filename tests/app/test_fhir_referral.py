"""A referral as FHIR (ServiceRequest + Task, after the SDOH Clinical Care guide) and a partner's Task coming back.

Everything exported is validated with the fhir.resources R4B models (the R4-compatible line; 8.x has no R4).
Synthetic people only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from sqlmodel import Session, col, func, select

from app import crypto
from app.exports.tabular import person_key
from app.interop import fhir, fhir_referral
from app.main import loaded_instruments
from app.models import Agency, AuditEvent, Role, Screening, User, Youth, utcnow
from app.models_referrals import Referral, ReferralEvent, ReferralStatus, Urgency
from app.models_sharing import Category, Consent, Disclosure, Purpose
from app.referrals import service
from app.referrals.schemas import ReferralCreate, StatusChange
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.sharing import consent as consents
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer, sign_in

REASON = "Needs a safe place to stay tonight; agreed to meet a counselor."
DONE_NOTE = "Youth placed in our program; first session held."
ANSWERS_SHARED = (Category.result_summary, Category.item_answers)


@dataclass
class Referred:
    """North refers its youth to a partner (South, or an outside program) with two completed screenings."""

    north: Agency
    partner: Agency
    screener: User
    admin: User
    partner_user: User
    record: Youth
    done: list[Screening]
    referral_id: str

    def referral(self, session: Session) -> Referral:
        session.expire_all()
        found = session.get(Referral, self.referral_id)
        assert found is not None
        return found


def _refer(
    session: Session,
    world: World,
    *,
    external: bool = False,
    categories: tuple[Category, ...] = ANSWERS_SHARED,
) -> Referred:
    north, partner = world.agency("North"), world.agency("South", "shelter")
    if external:
        partner.external, partner.contact = True, "intake@south.example.org"
        session.add(partner)
        session.commit()
    screener, admin, partner_user = world.user(north), world.user(north, Role.agency_admin), world.user(partner)
    record = support.youth(session, screener)
    done = [
        support.completed(session, screener, record, support.SELF_REPORT, "interview", support.SELF_ANSWERS),
        support.completed(
            session, screener, record, support.PRACTITIONER, "practitioner", support.PRACTITIONER_ANSWERS
        ),
    ]
    support.release(session, admin, record, partner.id, *categories)
    data = ReferralCreate(
        youth_id=record.id,
        to_agency_id=partner.id,
        screening_ids=[s.id for s in done],
        categories=list(categories),
        purpose=Purpose.care_coordination,
        urgency=Urgency.urgent,
        reason=REASON,
        recipient_contact="Intake desk",
        preparer_contact="555-0142",
        due_on=utcnow().date() + timedelta(days=7),
    )
    referral = service.send(session, crypto.get_key_ring(), screener, data)
    session.commit()
    return Referred(north, partner, screener, admin, partner_user, record, done, referral.id)


def validate(resource: dict[str, Any]) -> Any:
    """Validate a resource, and each of a Bundle's entries, with its R4B model and the R4 JSON Schema, and for
    empty values; every resource of an export says where it comes from (`meta.source`)."""
    for entry in resource.get("entry", []):
        assert entry["resource"]["meta"]["source"] == fhir.deployment(), entry["fullUrl"]
    return support.validate(resource)


def _export(client: TestClient, auth: dict[str, str], referral_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/referrals/{referral_id}/fhir", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = response.json()
    return bundle


def _by_ref(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each entry by the relative reference that points at it ("Task/<id>")."""
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}


def _one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
    assert len(found) == 1, (kind, len(found))
    return dict(found[0])


def _exports(session: Session, referral: Referred) -> list[Disclosure]:
    session.expire_all()
    query = select(Disclosure).where(
        Disclosure.kind == "export", col(Disclosure.screening_id).in_([s.id for s in referral.done])
    )
    return list(session.exec(query))


def _state(session: Session, referral: Referred) -> tuple[str, int, int, int]:
    """What an import may change: status, version, events, status audit entries."""
    row = referral.referral(session)
    events = session.exec(select(func.count()).where(ReferralEvent.referral_id == row.id)).one()
    audits = session.exec(
        select(func.count()).where(AuditEvent.action == "referral.status", AuditEvent.object_id == row.id)
    ).one()
    return row.status, row.version, events, audits


def test_the_bundle_is_valid_fhir_and_its_references_resolve(
    client: TestClient, world: World, session: Session
) -> None:
    referred = _refer(session, world)
    bundle = _export(client, bearer(client, referred.screener), referred.referral_id)

    Bundle.model_validate(bundle)
    validate(bundle)
    resources = _by_ref(bundle)
    request, task = _one(bundle, "ServiceRequest"), _one(bundle, "Task")
    ServiceRequest.model_validate(request)
    Task.model_validate(task)
    assert len(resources) == len(bundle["entry"])  # every resource once
    assert all(e["fullUrl"].endswith(ref) for e, ref in zip(bundle["entry"], resources, strict=True))

    # The Task: fulfil the request, for the youth, asked by North of South, in the referral's status.
    assert task["status"] == "requested" and task["intent"] == "order"
    assert task["code"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/CodeSystem/task-code",
            "code": "fulfill",
            "display": "Fulfill the focal request",
        }
    ]
    assert task["identifier"] == [{"system": fhir_referral.REFERRAL_SYSTEM, "value": referred.referral_id}]
    assert resources[task["focus"]["reference"]] == request
    patient = resources[task["for"]["reference"]]
    assert patient["resourceType"] == "Patient" and request["subject"] == task["for"]
    assert resources[task["requester"]["reference"]]["name"] == "North"
    owner = resources[task["owner"]["reference"]]
    assert owner["name"] == "South" and owner["contact"] == [{"name": {"text": "Intake desk"}}]
    assert task["authoredOn"] == request["authoredOn"] and "lastModified" in task and "statusReason" not in task

    # The ServiceRequest: why, how urgent, from whom (and how to reach them), on what it rests.
    assert (request["status"], request["intent"], request["priority"]) == ("active", "order", "urgent")
    assert request["code"]["text"] == "Referral for assessment and support"
    assert [c["system"] for c in request["code"]["coding"]] == [fhir_referral.SERVICE_SYSTEM]
    assert request["reasonCode"] == [{"text": REASON}]
    assert request["note"][0]["text"].startswith("Answer wanted by ")
    role = resources[request["requester"]["reference"]]
    assert role["resourceType"] == "PractitionerRole" and role["telecom"] == [{"system": "phone", "value": "555-0142"}]
    assert resources[role["practitioner"]["reference"]]["name"] == [{"text": referred.screener.display_name}]
    assert [resources[p["reference"]] for p in request["performer"]] == [owner]
    supporting = [resources[s["reference"]] for s in request["supportingInfo"]]  # each resolves in the bundle
    for screening in referred.done:
        kinds = {r["resourceType"] for r in supporting if r["id"] == screening.id}
        assert kinds == {"Observation", "QuestionnaireResponse"}, screening.id
    observations = [r for r in supporting if r["resourceType"] == "Observation"]
    assert all(o["subject"] == request["subject"] for o in observations)
    assert all(
        resources[d["reference"]]["resourceType"] == "QuestionnaireResponse"
        for o in observations
        for d in o["derivedFrom"]
    )
    consent = next(r for r in supporting if r["resourceType"] == "Consent")
    assert consent["id"] == referred.referral(session).consent_id and consent["patient"] == request["subject"]

    # The youth is named (the consent covers who they are), under an id of their own for this partner.
    assert patient["name"][0]["text"] == f"{support.GIVEN} {support.FAMILY}"
    assert patient["birthDate"] == support.BIRTH.isoformat()
    assert patient["identifier"][0]["value"] == support.CASE
    assert patient["identifier"][0]["system"] == f"{fhir.CASE_NUMBER_SYSTEM}:{referred.north.id}"
    keys, person = crypto.get_key_ring(), referred.record.person_id
    assert patient["id"] not in {person_key(keys, a.id, person) for a in (referred.partner, referred.north)}
    # ... while the anonymous export of the same screening is unchanged: no name, no birth date, no case number.
    anonymous = client.get(f"/api/v1/screenings/{referred.done[0].id}/fhir", headers=bearer(client, referred.screener))
    assert (
        support.GIVEN not in anonymous.text
        and support.CASE not in anonymous.text
        and patient["id"] not in anonymous.text
    )

    # In the ledger once per screening: exported to South, by North's screener, under the referral's consent.
    ledger = _exports(session, referred)
    assert sorted((d.screening_id, d.viewer_agency_id, d.owner_agency_id, d.consent_id) for d in ledger) == sorted(
        (s.id, referred.partner.id, referred.north.id, consent["id"]) for s in referred.done
    )
    assert all(
        d.categories == ["result_summary", "item_answers"] and d.viewer_id == referred.screener.id for d in ledger
    )


def test_without_answers_shared_no_questionnaire_response_goes(
    client: TestClient, world: World, session: Session
) -> None:
    referred = _refer(session, world, categories=(Category.result_summary,))
    bundle = _export(client, bearer(client, referred.screener), referred.referral_id)
    validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert "QuestionnaireResponse" not in kinds and kinds.count("Observation") == 2
    text = json.dumps(bundle)
    assert "rate_coercion_debt" not in text and "no_safe_place" not in text  # no answer, no question put
    assert all(d.categories == ["result_summary"] for d in _exports(session, referred))


def test_the_task_follows_the_referral(client: TestClient, world: World, session: Session) -> None:
    """Requested, then accepted once the partner accepts (with its case number), then completed."""
    referred = _refer(session, world)
    keys, auth = crypto.get_key_ring(), bearer(client, referred.screener)
    statuses = []
    for change in (
        None,
        StatusChange(status=ReferralStatus.accepted, recipient_case_ref="S-2231"),
        StatusChange(status=ReferralStatus.in_progress),
        StatusChange(status=ReferralStatus.completed, reason=DONE_NOTE),
    ):
        if change is not None:
            service.change_status(session, keys, referred.partner_user, referred.referral_id, change)
            session.commit()
        bundle = _export(client, auth, referred.referral_id)
        validate(bundle)
        task, request = _one(bundle, "Task"), _one(bundle, "ServiceRequest")
        statuses.append((task["status"], request["status"], task.get("statusReason", {}).get("text")))
        assert task["lastModified"] == fhir.fhir_time(referred.referral(session).status_changed_at)
    assert statuses == [
        ("requested", "active", None),
        ("accepted", "active", None),
        ("in-progress", "active", None),
        ("completed", "completed", DONE_NOTE),
    ]
    numbers = {i["system"]: i["value"] for i in _one(bundle, "Patient")["identifier"]}
    assert numbers[f"{fhir.CASE_NUMBER_SYSTEM}:{referred.partner.id}"] == "S-2231"


def _task_with(bundle: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The exported Task as a partner's system sends it back: a new status (and reason), its own id."""
    task = json.loads(json.dumps(_one(bundle, "Task")))
    task.update(id="partner-task-17", **changes)
    return dict(task)


def test_round_trip_a_partner_system_completes_the_referral(client: TestClient, world: World, session: Session) -> None:
    referred = _refer(session, world, external=True)
    auth = bearer(client, referred.screener)
    url = f"/api/v1/referrals/{referred.referral_id}/fhir/task"
    bundle = _export(client, auth, referred.referral_id)

    accepted = _task_with(bundle, status="accepted")
    del accepted["identifier"]  # named by its focus alone, as an absolute reference to our ServiceRequest
    accepted["focus"] = {"reference": next(e["fullUrl"] for e in bundle["entry"] if "/ServiceRequest/" in e["fullUrl"])}
    response = client.post(url, headers=auth, json=accepted)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"

    completed = _task_with(_export(client, auth, referred.referral_id), status="completed")
    completed["statusReason"] = {"text": DONE_NOTE}
    response = client.post(url, headers=auth | {"Content-Type": "application/fhir+json"}, content=json.dumps(completed))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["status_reason"] == DONE_NOTE
    assert [(e["to_status"], e["via"]) for e in body["events"]] == [
        ("requested", "app"),
        ("accepted", "fhir"),
        ("completed", "fhir"),
    ]
    assert body["events"][-1]["reason"] == DONE_NOTE
    session.expire_all()
    audit = session.exec(
        select(AuditEvent)
        .order_by(col(AuditEvent.seq))
        .where(AuditEvent.action == "referral.status", AuditEvent.object_id == referred.referral_id)
    ).all()
    assert [(a.detail["to"], a.detail["via"], a.actor_id) for a in audit] == [
        ("accepted", "fhir", referred.screener.id),
        ("completed", "fhir", referred.screener.id),
    ]
    before = _state(session, referred)
    again = client.post(url, headers=auth, json=completed)  # the partner's system sends it twice
    assert again.status_code == 200 and _state(session, referred) == before
    assert validate(_task_with(_export(client, auth, referred.referral_id), status="completed"))


def test_an_invalid_task_is_refused_saying_what_and_where_and_changes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    referred = _refer(session, world, external=True)
    auth = bearer(client, referred.screener)
    second = support.youth(session, referred.screener, case_number="N-2")  # one open referral per youth and partner
    second_done = support.completed(
        session, referred.screener, second, support.PRACTITIONER, "practitioner", support.PRACTITIONER_ANSWERS
    )
    support.release(session, referred.admin, second, referred.partner.id, *ANSWERS_SHARED)
    other = service.send(
        session,
        crypto.get_key_ring(),
        referred.screener,
        ReferralCreate(
            youth_id=second.id,
            to_agency_id=referred.partner.id,
            screening_ids=[second_done.id],
            purpose=Purpose.care_coordination,
            reason=REASON,
            preparer_contact="555-0142",
        ),
    )
    session.commit()
    url = f"/api/v1/referrals/{referred.referral_id}/fhir/task"
    task = _task_with(_export(client, auth, referred.referral_id))
    elsewhere = dict(task, identifier=[{"system": fhir_referral.REFERRAL_SYSTEM, "value": other.id}])
    del elsewhere["focus"]
    cases: list[tuple[Any, str, str]] = [
        (dict(task, status="done"), "Task.status", "Task.status: 'done' is not a Task status."),
        (dict(task, status="on-hold"), "Task.status", "'on-hold' is a Task status a referral does not take"),
        (dict(task, focus="x"), "Task.focus", "Task.focus is not valid FHIR"),
        ({k: v for k, v in task.items() if k != "intent"}, "Task.intent", "Task.intent is not valid FHIR"),
        (dict(task, resourceType="ServiceRequest"), "Task.resourceType", "send a Task"),
        ([task], "Task", "Send one FHIR Task, as a JSON object."),
        (elsewhere, "Task.identifier[0]", f"names another referral ({other.id})"),
        (dict(task, identifier=[], focus={"reference": "ServiceRequest/x"}), "Task.focus", "names another referral"),
        ({k: v for k, v in task.items() if k not in ("identifier", "focus")}, "Task.identifier", "names no referral"),
        (dict(task, status="completed"), "Task.status", "cannot be marked Completed by your agency"),
        (dict(task, status="rejected"), "Task.statusReason.text", "Say why"),
        (dict(task, status="rejected", statusReason={"text": "x" * 2001}), "Task.statusReason.text", "at most 2,000"),
    ]
    before = _state(session, referred)
    for body, where, says in cases:
        if isinstance(body, str):
            response = client.post(url, headers=auth | {"Content-Type": "application/fhir+json"}, content=body)
        else:
            response = client.post(url, headers=auth, json=body)
        assert response.status_code == 400, (where, response.text)
        answer = response.json()
        assert answer["error"] == "invalid_input" and answer["detail"]["field"] == where, (where, answer)
        assert says in answer["message"], (says, answer)
        assert _state(session, referred) == before, where
    not_json = client.post(url, headers=auth | {"Content-Type": "application/fhir+json"}, content="not json {")
    assert not_json.status_code == 422 and "is not valid JSON" in not_json.json()["detail"][0]["msg"]
    assert _state(session, referred) == before
    assert referred.referral(session).status == "requested" and session.get(Referral, other.id).status == "requested"  # type: ignore[union-attr]


def test_the_recipient_and_everyone_else_get_not_found(client: TestClient, world: World, session: Session) -> None:
    referred = _refer(session, world)
    bystander = world.user(world.agency("East", "school"))
    bundle = _export(client, bearer(client, referred.screener), referred.referral_id)
    task = _task_with(bundle, status="received")
    missing = "0" * 32
    for user in (referred.partner_user, bystander):
        auth = bearer(client, user)
        for referral_id in (referred.referral_id, missing):
            exported = client.get(f"/api/v1/referrals/{referral_id}/fhir", headers=auth)
            named = dict(task, identifier=[{"system": fhir_referral.REFERRAL_SYSTEM, "value": referral_id}])
            named["focus"] = {"reference": f"ServiceRequest/{referral_id}"}
            imported = client.post(f"/api/v1/referrals/{referral_id}/fhir/task", headers=auth, json=named)
            assert (exported.status_code, imported.status_code) == (404, 404), user.email
            assert exported.json() == imported.json() == {"error": "not_found", "detail": "No such referral."}
    assert referred.referral(session).status == "requested" and len(_exports(session, referred)) == 2  # the sender's


def test_the_page_downloads_a_file_for_the_sender_only(client: TestClient, world: World, session: Session) -> None:
    referred = _refer(session, world)
    sign_in(client, referred.screener)
    page = client.get(f"/referrals/{referred.referral_id}")
    assert f'href="/referrals/{referred.referral_id}/fhir"' in page.text
    response = client.get(f"/referrals/{referred.referral_id}/fhir")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["content-disposition"].startswith('attachment; filename="tellonce-referral-')
    validate(response.json())
    client.cookies.clear()
    sign_in(client, referred.partner_user)
    refused = client.get(f"/referrals/{referred.referral_id}/fhir")
    missing = client.get(f"/referrals/{'0' * 32}/fhir")
    assert refused.status_code == missing.status_code == 404
    assert refused.text.replace(referred.referral_id, "0" * 32) == missing.text  # word for word, as if none


def test_after_the_consent_is_revoked_the_referral_is_not_exported(
    client: TestClient, world: World, session: Session
) -> None:
    referred = _refer(session, world)
    auth = bearer(client, referred.screener)
    referral = referred.referral(session)
    consents.revoke(session, crypto.get_key_ring(), referred.admin, referral.consent_id, "The youth asked to stop.")
    session.commit()
    assert referred.referral(session).status == "cancelled"
    response = client.get(f"/api/v1/referrals/{referred.referral_id}/fhir", headers=auth)
    assert response.status_code == 410, response.text
    assert "declined or cancelled" in response.json()["detail"]
    assert _exports(session, referred) == []


def test_an_ended_consent_stops_the_export_of_a_live_referral(
    client: TestClient, world: World, session: Session
) -> None:
    """A consent that expires cancels the referral on the next read, and nothing goes out under it any more."""
    referred = _refer(session, world)
    row = session.get(Consent, referred.referral(session).consent_id)
    assert row is not None
    row.ends_at = utcnow() - timedelta(minutes=1)
    session.add(row)
    session.commit()
    response = client.get(f"/api/v1/referrals/{referred.referral_id}/fhir", headers=bearer(client, referred.screener))
    assert response.status_code == 410 and "declined or cancelled" in response.json()["detail"]
    seen = client.get(f"/api/v1/referrals/{referred.referral_id}", headers=bearer(client, referred.screener))
    assert seen.json()["status"] == "cancelled" and seen.json()["events"][-1]["via"] == "consent"
    assert _exports(session, referred) == []


def test_answers_given_at_a_third_agency_go_only_under_its_own_consent(
    client: TestClient, world: World, session: Session
) -> None:
    """West told the youth's answers first and consented to North; North carried them into its screening and
    refers to South. They go to South only once West consents to South too (in the ledger as West's)."""
    west = world.agency("West", "child_welfare")
    west_screener, west_admin = world.user(west), world.user(west, Role.agency_admin)
    north, south = world.agency("North"), world.agency("South", "shelter")
    screener, admin = world.user(north), world.user(north, Role.agency_admin)
    theirs = support.youth(session, west_screener, "W-1")
    support.completed(session, west_screener, theirs, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
    record = support.youth(session, screener)
    record.person_id = theirs.person_id  # linked to the same person, as a consented link does
    session.add(record)
    session.commit()
    support.release(session, west_admin, theirs, north.id, Category.result_summary, Category.item_answers)
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    started = screenings.start(
        session,
        keys,
        registry,
        screener,
        ScreeningCreate(youth_id=record.id, instrument_id=support.SELF_REPORT, mode="interview"),
    )
    carried = sorted(k for k, a in screenings.stored_answers(session, keys, started).items() if a.source == "carried")
    assert carried
    mine = {"unsafe_at_home": "yes"}
    saved = screenings.save_answers(
        session,
        keys,
        registry,
        screener,
        started.id,
        AnswersSave(version=started.version, answers=mine, confirm=carried),
    )
    done = screenings.complete(session, keys, registry, screener, saved.id, saved.version)
    support.release(session, admin, record, south.id, *ANSWERS_SHARED)
    data = ReferralCreate(
        youth_id=record.id,
        to_agency_id=south.id,
        screening_ids=[done.id],
        categories=list(ANSWERS_SHARED),
        purpose=Purpose.care_coordination,
        reason=REASON,
        preparer_contact="555-0142",
    )
    referral = service.send(session, keys, screener, data)
    session.commit()
    auth = bearer(client, screener)

    def answered() -> set[str]:
        bundle = _export(client, auth, referral.id)
        validate(bundle)
        return {i["linkId"] for g in _one(bundle, "QuestionnaireResponse")["item"] for i in g["item"]}

    assert answered() == set(mine)
    support.release(session, west_admin, theirs, south.id, Category.item_answers)
    assert answered() == set(mine) | set(carried)
    session.expire_all()
    ledger = session.exec(
        select(Disclosure).where(Disclosure.screening_id == done.id, Disclosure.kind == "export")
    ).all()
    owners = sorted(d.owner_agency_id for d in ledger)
    assert owners == sorted([north.id, north.id, west.id])  # North's twice (two exports), West's once
    assert all(d.viewer_agency_id == south.id for d in ledger)


@pytest.mark.parametrize(
    ("text", "system"),
    [
        ("555-0142", "phone"),
        ("+1 (555) 010-0142 ext 12", "phone"),
        ("jo@example.org", "email"),
        ("Ask for Jo", "other"),
    ],
)
def test_a_free_text_contact_becomes_a_contact_point(text: str, system: str) -> None:
    assert fhir_referral.contact_points(text) == [{"system": system, "value": text}]
