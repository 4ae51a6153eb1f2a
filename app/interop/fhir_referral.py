"""A referral as FHIR R4 for a partner's record system, and the partner's Task status coming back.

The sender exports a referral it sent: a ServiceRequest shaped after the SDOH Clinical Care guide's
SDOHCC ServiceRequest, and a Task shaped after its TaskForReferralManagement (the status both sides
update), with what they point at: the named Patient, both Organizations, the person who prepared it,
the Consent it rests on, and each shared screening's Observations (its result, and its total where the
instrument declares one: `fhir_stream.result_resources`, as in every export; none for an unscored screening)
and, when the referral shares answers, its QuestionnaireResponse. Every resource has `meta.source`. The
partner's system sends the Task back with a new status; `apply_task_update` moves the referral as if the
sender had recorded it (`via="fhir"`).

Choices made:
- "Shaped after", not "conforming to": no `meta.profile`. The SDOHCC profiles build on US Core and ask
  for SDOH category codes; a referral here has no such code, and codes are never invented in a
  standard system. The request's code is a local one (`SERVICE_SYSTEM`) with plain text.
- Only the sender exports (the recipient reads in the app: that is a view, not an export), and only
  while the referral is live or done and a consent in force from the sender to the partner covers
  everything it shares (`access.referral_consent`): the same rule that let it be sent. A declined or
  cancelled referral, or one whose consent ended, is not exported.
- Each screening is opened through the one gate (`access.open_screening`, kind export, no break-glass)
  and written once in the ledger as an export to the partner under that consent. `fhir_api.export_screening`
  is not used: it exports for the user's own agency (every consent the youth gave to anyone, every answer
  whatever agency it was given at) where a referral discloses to one partner.
- Answers go only when the referral shares `item_answers`, and only those the partner may receive: given
  at the sender, at the partner itself, or at a third agency with its own consent in force to the partner
  (each such origin is its own ledger entry under that consent), as in the recipient export.
- The Patient is named (name, birth date, each agency's case number): the consent that covers the result
  covers who the youth is, as on the referral's pages. Its id is a keyed hash of the person for that
  partner, never the pseudonym of the anonymous exports, so a named referral cannot be joined to them.
- "Answer wanted by" is a note on the request: it is when the sender wants to hear back, not when the
  service should occur.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.task import Task
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Gone, InvalidInput, NotFound
from app.i18n import _
from app.interop import fhir, fhir_stream
from app.models import Agency, ScreeningResult, User
from app.models_referrals import Referral, ReferralStatus
from app.models_sharing import Category, Consent
from app.referrals import service
from app.referrals.facts import ReferralFacts
from app.referrals.schemas import MAX_REASON, StatusChange
from app.screenings import service as screenings
from app.screenings.disclosed import result_summary, without_items
from app.settings import get_settings
from app.sharing import ledger
from instruments.loader import Registry

REFERRAL_SYSTEM = "urn:tellonce:referral"  # a referral's id, on its ServiceRequest and Task
SERVICE_SYSTEM = "urn:tellonce:referral-service"  # what a referral asks for (local codes)
SERVICE = {"code": "assessment-and-support", "display": "Referral for assessment and support"}
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# FHIR R4 TaskStatus: every code a Task may carry (a referral takes the ReferralStatus ones).
TASK_STATUSES = (
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
)
# The ServiceRequest's status while its Task is in each status.
REQUEST_STATUS = {
    ReferralStatus.requested: "active",
    ReferralStatus.received: "active",
    ReferralStatus.accepted: "active",
    ReferralStatus.in_progress: "active",
    ReferralStatus.completed: "completed",
    ReferralStatus.rejected: "revoked",
    ReferralStatus.cancelled: "revoked",
}
# Where, in a Task, the field a status change is refused for comes from.
TASK_FIELDS = {"status": "Task.status", "reason": "Task.statusReason.text"}
_ID = r"[A-Za-z0-9\-.]{1,64}"


# Export --------------------------------------------------------------------------------------------------


def sent_referral(db: Session, user: User, referral_id: str) -> service.Loaded:
    """A referral the user's agency sent; a recipient gets the answer about one that does not exist (exporting
    and importing a partner's status are the sender's: the recipient reads and moves it in the app)."""
    item = service.load(db, user, referral_id)
    if not item.sender:
        raise NotFound(_("No such referral."))
    return item


def referral_resources(
    db: Session, keys: KeyRing, registry: Registry, user: User, referral_id: str
) -> list[dict[str, Any]]:
    """A referral the user's agency sent, as FHIR resources for the partner (written in the ledger as an export
    of each shared screening); refused once it was declined or cancelled or no consent covers it."""
    item = sent_referral(db, user, referral_id)
    referral = item.referral
    if referral.status not in access.REFERRAL_OPENS:
        raise Gone(_("This referral was declined or cancelled: it is no longer sent to the partner."))
    categories = [Category(c) for c in referral.categories]
    consent = _consent(db, referral, categories)
    if consent is None:
        raise Gone(_("The youth's consent to share with this partner no longer covers this referral: it is not sent."))
    facts = service.facts(db, keys, user, [item])[0]
    agencies = {
        a.id: a
        for a in db.exec(select(Agency).where(col(Agency.id).in_([referral.from_agency_id, referral.to_agency_id])))
    }
    patient = _patient(keys, referral, facts, agencies)
    patient_ref = f"Patient/{patient['id']}"
    shared = _screening_resources(
        db, keys, registry, user, referral, consent, categories, facts.screening_ids, patient_ref
    )
    audit.record(
        db,
        "referral.export",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="referral",
        object_id=referral.id,
        detail={"format": "fhir", "to_agency_id": referral.to_agency_id, "screenings": len(facts.screening_ids)},
    )
    names = {a.id: a.name for a in agencies.values()}
    given = fhir.consent(consent, patient_ref, names)
    preparer, role = _preparer(referral, facts)
    request = service_request(referral, facts, patient_ref, role["id"], [*shared, given])
    written = [
        request,
        task(referral, facts, _current_reason(db, keys, referral), patient_ref),
        patient,
        *(_organization(keys, referral, agencies[a]) for a in (referral.from_agency_id, referral.to_agency_id)),
        role,
        preparer,
        given,
        *shared,
    ]
    return [fhir.sourced(r) for r in written]


def _consent(db: Session, referral: Referral, categories: list[Category]) -> Consent | None:
    """The consent the export rests on: the referral's own while it is in force, else (it was changed) the
    newest in force that covers everything the referral shares, as when it was sent; None: not sent."""
    own = db.get(Consent, referral.consent_id)
    if own is not None and access.is_in_force(own):
        return own
    return access.referral_consent(
        db, referral.person_id, referral.from_agency_id, referral.to_agency_id, categories, referral.purpose
    )


def _patient(keys: KeyRing, referral: Referral, facts: ReferralFacts, agencies: dict[str, Agency]) -> dict[str, Any]:
    """The named youth; the id is the person's keyed hash for this partner (not the anonymous exports' one)."""
    who = facts.identity
    numbers = [
        (agency_id, agencies[agency_id].name, number)
        for agency_id, number in (
            (referral.from_agency_id, who.sender_case_ref),
            (referral.to_agency_id, who.recipient_case_ref),  # the partner's own number, once it gave one
        )
        if number
    ]
    patient_id = keys.blind_index("fhir-referral-patient", f"{referral.to_agency_id}\x1f{referral.person_id}")
    return fhir.identified_patient(patient_id, who.given_name, who.family_name, who.birth_date, numbers)


def _screening_resources(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    referral: Referral,
    consent: Consent,
    categories: list[Category],
    screening_ids: list[str],
    patient_ref: str,
) -> list[dict[str, Any]]:
    """Each shared screening's Observation (and QuestionnaireResponse, when answers are shared), oldest first;
    each opened through the gate and written in the ledger as an export to the partner."""
    with_items = Category.item_answers in categories
    # Answers given at a third agency go only under that agency's own consent to the partner.
    elsewhere = (
        access.answers_shared_by(db, referral.to_agency_id, referral.person_id, referral.purpose) if with_items else {}
    )
    reads = [
        access.open_screening(db, user, sid, categories, purpose=referral.purpose, kind="export", break_glass=False)
        for sid in screening_ids
    ]
    out: list[dict[str, Any]] = []
    for screening in sorted((r.screening for r in reads), key=lambda s: (s.completed_at or s.started_at, s.id)):
        stored_result = db.get(ScreeningResult, screening.id)
        if stored_result is None:
            raise NotFound(_("This screening has no result yet; complete it first."))
        instrument = screenings.instrument_of(registry, screening)
        stored = screenings.stored_answers(db, keys, screening)
        allowed = {screening.agency_id, referral.to_agency_id, *elsewhere}
        given = (
            {k: a for k, a in stored.items() if (a.origin_agency_id or screening.agency_id) in allowed}
            if with_items
            else {}
        )
        result = keys.decrypt_json(stored_result.result_enc, "screening_result", "result", screening.id)
        summary = result_summary(without_items(result, set(stored) - set(given)), with_items)
        row = fhir_stream.result_row(screening, summary)
        out += fhir_stream.result_resources(row, patient_ref, with_items, instrument)
        if with_items:
            total = fhir_stream.total_value(row)
            out.append(fhir.questionnaire_response(screening, given, instrument, patient_ref, total))
        sent = [Category.result_summary.value] + ([Category.item_answers.value] if with_items else [])
        origins = {a.origin_agency_id for a in given.values()} - {None, screening.agency_id, referral.to_agency_id}
        # One ledger line for what was sent under the referral's consent, and one for each other agency whose
        # answers went with it, under that agency's own consent.
        disclosures: list[tuple[list[str], str | None, str | None]] = [(sent, consent.id, None)]
        disclosures += [
            ([Category.item_answers.value], elsewhere[origin].consent_id, origin)
            for origin in sorted(o for o in origins if o is not None)
        ]
        for written, consent_id, origin in disclosures:
            ledger.record_export(
                db,
                user,
                recipient_agency_id=referral.to_agency_id,
                person_id=referral.person_id,
                screening_id=screening.id,
                categories=written,
                purpose=referral.purpose,
                consent_id=consent_id,
                detail={"format": "fhir", "referral_id": referral.id} | ({"given_at": origin} if origin else {}),
                revision=screening.revision,
                owner_agency_id=origin,
            )
    return out


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d\s().\-]{7,}(?:\s*(?:x|ext\.?)\s*\d+)?", re.IGNORECASE)


def contact_points(text: str | None) -> list[dict[str, Any]]:
    """A free-text contact as a ContactPoint: an email, a phone number, a web address, or else `other`."""
    value = (text or "").strip()
    if not value:
        return []
    if _EMAIL.fullmatch(value):
        system = "email"
    elif _PHONE.fullmatch(value):
        system = "phone"
    elif value.startswith(("https://", "http://")):
        system = "url"
    else:
        system = "other"
    return [{"system": system, "value": value}]


def _organization(keys: KeyRing, referral: Referral, agency: Agency) -> dict[str, Any]:
    """An agency as an Organization; the partner's with the person or desk the referral is addressed to."""
    out: dict[str, Any] = {
        "resourceType": "Organization",
        "id": agency.id,
        "identifier": [{"system": fhir.AGENCY_SYSTEM, "value": agency.id}],
        "active": True,
        "name": agency.name,
    }
    telecom = contact_points(agency.contact)
    if telecom:
        out["telecom"] = telecom
    addressed = service.decrypt(keys, referral, "recipient_contact") if agency.id == referral.to_agency_id else None
    if addressed:
        out["contact"] = [{"name": {"text": addressed}}]
    return out


def _preparer(referral: Referral, facts: ReferralFacts) -> tuple[dict[str, Any], dict[str, Any]]:
    """The person who prepared the referral (Practitioner) and how to reach them for it (PractitionerRole)."""
    practitioner: dict[str, Any] = {"resourceType": "Practitioner", "id": referral.prepared_by}
    if facts.preparer:
        practitioner["name"] = [{"text": facts.preparer}]
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": f"{referral.id}-preparer",
        "practitioner": _ref("Practitioner", referral.prepared_by, facts.preparer),
        "organization": _ref("Organization", referral.from_agency_id, facts.sender),
    }
    telecom = contact_points(facts.preparer_contact)
    if telecom:
        role["telecom"] = telecom
    return practitioner, role


def _ref(kind: str, resource_id: str, display: str | None = None) -> dict[str, Any]:
    return {"reference": f"{kind}/{resource_id}", **({"display": display} if display else {})}


def service_request(
    referral: Referral, facts: ReferralFacts, patient_ref: str, requester_id: str, supporting: list[dict[str, Any]]
) -> dict[str, Any]:
    """The referral as a ServiceRequest (after SDOHCC ServiceRequest): who, why, how urgent, from and to whom,
    and the resources it rests on (`supporting`: the screenings' Observations and responses, the Consent)."""
    out: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral.id}],
        "status": REQUEST_STATUS[ReferralStatus(referral.status)],
        "intent": "order",
        "priority": referral.urgency,
        "code": {"coding": [{"system": SERVICE_SYSTEM, **SERVICE}], "text": SERVICE["display"]},
        "subject": {"reference": patient_ref},
        "authoredOn": fhir.fhir_time(referral.created_at),
        "requester": _ref("PractitionerRole", requester_id, facts.preparer),
        "performer": [_ref("Organization", referral.to_agency_id, facts.recipient)],
    }
    if facts.reason:
        out["reasonCode"] = [{"text": facts.reason}]
    if supporting:
        out["supportingInfo"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in supporting]
    if referral.due_on is not None:
        out["note"] = [{"text": f"Answer wanted by {referral.due_on.isoformat()}."}]
    return out


def task(referral: Referral, facts: ReferralFacts, reason: str | None, patient_ref: str) -> dict[str, Any]:
    """The referral's status as a Task (after SDOHCC TaskForReferralManagement): fulfil the ServiceRequest,
    asked by the sending agency of the partner; `reason` is why it is in its status now, if anyone said."""
    out: dict[str, Any] = {
        "resourceType": "Task",
        "id": referral.id,
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral.id}],
        "status": referral.status,
        "intent": "order",
        "priority": referral.urgency,
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill", "display": "Fulfill the focal request"}]},
        "focus": _ref("ServiceRequest", referral.id),
        "for": {"reference": patient_ref},
        "authoredOn": fhir.fhir_time(referral.created_at),
        "lastModified": fhir.fhir_time(referral.status_changed_at),
        "requester": _ref("Organization", referral.from_agency_id, facts.sender),
        "owner": _ref("Organization", referral.to_agency_id, facts.recipient),
    }
    if reason:
        out["statusReason"] = {"text": reason}
    return out


def _current_reason(db: Session, keys: KeyRing, referral: Referral) -> str | None:
    """Why the referral is in its status now: the reason given with the change that put it there, if any
    (an older reason belongs to an older status)."""
    history = service.events(db, keys, referral)
    last = history[-1] if history else None
    return last["reason"] if last and last["to_status"] == referral.status else None


# Import of a partner's Task --------------------------------------------------------------------------------


def apply_task_update(
    db: Session, keys: KeyRing, user: User, task_json: Any, referral_id: str | None = None
) -> Referral:
    """Move a referral the user's agency sent as its partner's system says in a Task (its status, and the
    reason in `statusReason.text`), as if the sender had recorded it; the event says it came by FHIR.

    The referral is named by the Task's identifier (`REFERRAL_SYSTEM`) or its focus (our ServiceRequest);
    with `referral_id`, it must be that one. Invalid FHIR, a status a referral does not take, or one the
    lifecycle does not allow from the current status is InvalidInput (400) naming the field, and changes
    nothing; the same status again changes nothing either.
    """
    parsed = parse_task(task_json)
    where, found = referral_named(parsed)
    if referral_id is not None and found != referral_id:
        raise InvalidInput(
            _("%(where)s names another referral (%(found)s), not the one this Task was sent to.")
            % {"where": where, "found": found},
            {"field": where},
        )
    sent_referral(db, user, found)
    reason = (parsed.statusReason.text or "").strip() if parsed.statusReason is not None else ""
    if len(reason) > MAX_REASON:
        where = TASK_FIELDS["reason"]
        raise InvalidInput(
            _("%(where)s is too long: at most %(count)s characters.") % {"where": where, "count": f"{MAX_REASON:,}"},
            {"field": where},
        )
    change = StatusChange(status=ReferralStatus(str(parsed.status)), reason=reason or None)
    try:
        return service.change_status(db, keys, user, found, change, via="fhir")
    except InvalidInput as exc:  # the lifecycle's refusal, told where in the Task it comes from
        field = exc.detail.get("field") if isinstance(exc.detail, dict) else None
        raise InvalidInput(exc.message, {"field": TASK_FIELDS.get(field or "", "Task")}) from exc


def parse_task(task_json: Any) -> Task:
    """A FHIR R4 Task with a status a referral takes; InvalidInput naming the field otherwise."""
    if not isinstance(task_json, dict):
        raise InvalidInput(_("Send one FHIR Task, as a JSON object."), {"field": "Task"})
    kind = task_json.get("resourceType")
    if kind != "Task":
        raise InvalidInput(
            _("resourceType is %(found)s: send a Task.") % {"found": repr(kind)}, {"field": "Task.resourceType"}
        )
    try:
        parsed = Task.model_validate(task_json)
    except ValidationError as exc:
        problems = [{"field": _path(e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        first = problems[0]
        raise InvalidInput(
            _("%(where)s is not valid FHIR: %(problem)s") % {"where": first["field"], "problem": first["problem"]},
            {"field": first["field"], "problems": problems},
        ) from None
    status = TASK_FIELDS["status"]
    if parsed.status not in TASK_STATUSES:
        raise InvalidInput(
            _("%(where)s: '%(status)s' is not a Task status.") % {"where": status, "status": parsed.status},
            {"field": status},
        )
    if parsed.status not in {s.value for s in ReferralStatus}:
        raise InvalidInput(
            _("%(where)s: '%(status)s' is a Task status a referral does not take (it takes %(codes)s).")
            % {"where": status, "status": parsed.status, "codes": ", ".join(s.value for s in ReferralStatus)},
            {"field": status},
        )
    return parsed


def _path(loc: tuple[int | str, ...]) -> str:
    """A validation error's location as a FHIR path: Task.identifier[0].system."""
    return "Task" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def referral_named(parsed: Task) -> tuple[str, str]:
    """(where, referral id): the referral a Task names by its identifier or its focus (our ServiceRequest)."""
    named: dict[str, str] = {}
    for i, identifier in enumerate(parsed.identifier or ()):
        if identifier.system == REFERRAL_SYSTEM and identifier.value:
            named[f"Task.identifier[{i}]"] = identifier.value
    focus = parsed.focus
    if focus is not None:
        by_reference = _request_id(focus.reference) if focus.reference else None
        ours = focus.identifier is not None and focus.identifier.system == REFERRAL_SYSTEM
        by_identifier = focus.identifier.value if focus.identifier is not None and ours else None
        if by_reference:
            named["Task.focus"] = by_reference
        elif by_identifier:
            named["Task.focus.identifier"] = by_identifier
    if not named:
        raise InvalidInput(
            _(
                "The Task names no referral: give Task.identifier with system %(system)s, or Task.focus "
                "referring to the referral's ServiceRequest."
            )
            % {"system": REFERRAL_SYSTEM},
            {"field": "Task.identifier"},
        )
    if len(set(named.values())) > 1:
        first, second = list(named)[:2]
        raise InvalidInput(
            _("%(first)s and %(second)s name different referrals.") % {"first": first, "second": second},
            {"field": second},
        )
    return next(iter(named.items()))


def _request_id(reference: str) -> str | None:
    """The id of our ServiceRequest a reference points at (relative, or absolute under this deployment)."""
    root = f"{get_settings().public_base_url()}/fhir/"
    if reference.startswith(root):
        reference = reference[len(root) :]
    match = re.fullmatch(rf"ServiceRequest/({_ID})(?:/_history/[^/]+)?", reference)
    return match.group(1) if match else None
