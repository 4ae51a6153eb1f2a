"""The recipient export as FHIR R4: one `collection` Bundle streamed as JSON, or the same resources as NDJSON.

It writes the rows of `tabular.export_rows` (so the same consent filter, batches and ledger entries as the
CSV and JSON exports), never reads screenings itself. In order:

- the Questionnaire of every instrument version in the export's plan;
- per exported screening: its pseudonymous Patient (once per person; its id is the row's `person_key`, the
  recipient's own pseudonym, so no name, birth date or case number), an Observation of its result summary,
  its QuestionnaireResponse, and the Consent(s) that allowed it (each once).

What a row may carry decides its resources. The result summary is the category every export carries, so
every row gets its Observation: the overall level and each domain's level (no reasons, no answers), coded in
`urn:tellonce:concern-level`, where `insufficient_information` is its own code ("Not enough information
to conclude"), never `no_concern`; and, for an instrument that declares a total, the total as a component
(`valueQuantity`) with one component per threshold (`valueString`, e.g. `possible_concern>=1`). The
QuestionnaireResponse holds answers, so it is written only when the consent covers `item_answers` for that
row; otherwise there is none at all: an empty response would still say "these questions were put", and a
partial one would leak answers. Notes have no FHIR resource here. Answers that show_if hid, or left
unanswered, are left out of the response (FHIR has no item for them); a declined or not-enough-information
answer is an item without answer, with its data-absent-reason (see `app.exports.fhir`).

Memory: the Bundle's envelope is written first, then each entry as its row arrives; only the ids of the
Patients and Consents already written are kept (so each goes once), a few dozen bytes per person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.exports import fhir
from app.exports.plan import UNANSWERED, Plan
from app.exports.writers import threshold
from app.models import Screening, ScreeningStatus
from app.models_sharing import Category, Consent
from app.settings import get_settings
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import NOT_ASKED

EXT_QUESTIONNAIRE = "urn:tellonce:questionnaire"
RESULT_SYSTEM = "urn:tellonce:result"
RESULT_CODE = {"system": RESULT_SYSTEM, "code": "overall", "display": "TellOnce screening result"}
TOTAL_CODE = {"system": RESULT_SYSTEM, "code": "total", "display": "Total"}
THRESHOLD_CODE = {"system": RESULT_SYSTEM, "code": "total-threshold", "display": "Threshold of the total"}
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
FORMATS = ("fhir-bundle", "fhir-ndjson")


def _root() -> str:
    return f"{get_settings().base_url.rstrip('/')}/fhir"


def patient(person_key: str) -> dict[str, Any]:
    """A pseudonymous Patient: the recipient's person key and nothing else."""
    pseudonymized = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED"}
    return {
        "resourceType": "Patient",
        "id": person_key,
        "meta": {"security": [pseudonymized]},
        "identifier": [{"system": fhir.PSEUDONYM_SYSTEM, "value": person_key}],
    }


def _quantity(value: float) -> dict[str, Any]:
    return {"value": int(value) if float(value).is_integer() else value}


def total_components(total: dict[str, Any] | None, label: str | None = None) -> list[dict[str, Any]]:
    """An instrument's total as an Observation component, then one component per threshold."""
    if not total:
        return []
    code = {**TOTAL_CODE, "display": label or TOTAL_CODE["display"]}
    component: dict[str, Any] = {"code": {"coding": [code], "text": code["display"]}}
    if total.get("value") is None:
        component["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT_SYSTEM, "code": "unknown"}]}
    else:
        component["valueQuantity"] = _quantity(total["value"])
    thresholds = [
        {"code": {"coding": [THRESHOLD_CODE], "text": THRESHOLD_CODE["display"]}, "valueString": threshold(t)}
        for t in total.get("thresholds") or ()
    ]
    return [component, *thresholds]


def _total_label(instrument: CompiledInstrument | None) -> str | None:
    """The English words of an instrument's total (its default language's when it has none)."""
    if instrument is None or instrument.definition.scoring.total is None:
        return None
    label = instrument.definition.scoring.total.label
    return label.get("en") or label.get(instrument.definition.default_language)


def observation(
    row: dict[str, Any], patient_ref: str, with_response: bool, instrument: CompiledInstrument | None = None
) -> dict[str, Any]:
    """A screening's result summary: the overall level, each domain's level and the total as components.

    `instrument` (the row's version) gives the total its label; without it the total is called "Total".
    """
    domains = fhir.canonical(row["instrument_id"]) + ":domain"
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": row["screening_id"],
        "extension": [
            {
                "url": EXT_QUESTIONNAIRE,
                "valueCanonical": f"{fhir.canonical(row['instrument_id'])}|{row['instrument_version']}",
            },
            {"url": fhir.EXT_CONTENT_HASH, "valueString": row["content_hash"]},
            {"url": fhir.EXT_MODE, "valueCode": row["mode"]},
        ],
        "identifier": [{"system": fhir.SCREENING_SYSTEM, "value": row["screening_id"]}],
        "status": "final",
        "code": {"coding": [RESULT_CODE], "text": RESULT_CODE["display"]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": fhir.fhir_time(datetime.fromisoformat(row["completed_at"])),
        "valueCodeableConcept": fhir.level_concept(row["overall_level"]),
        "component": [
            {"code": {"coding": [{"system": domains, "code": d}]}, "valueCodeableConcept": fhir.level_concept(level)}
            for d, level in row["domains"].items()
        ]
        + total_components(row["result"].get("total"), _total_label(instrument)),
    }
    if not out["component"]:
        del out["component"]  # FHIR has no empty arrays
    if with_response:
        out["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{row['screening_id']}"}]
    return out


def response(row: dict[str, Any], registry: Registry, patient_ref: str) -> dict[str, Any] | None:
    """The row's answers as a QuestionnaireResponse (None when it carries no answers, or its version is gone)."""
    instrument = registry.get(row["instrument_id"], row["instrument_version"])
    if row.get("answers") is None or instrument is None:
        return None
    screening = Screening(
        id=row["screening_id"],
        youth_id="",
        agency_id="",
        instrument_id=row["instrument_id"],
        instrument_version=row["instrument_version"],
        content_hash=row["content_hash"],
        mode=row["mode"],
        language=row["language"],
        status=ScreeningStatus.completed,
        started_by="",
        started_at=datetime.fromisoformat(row["started_at"]),
        completed_at=datetime.fromisoformat(row["completed_at"]),
    )
    given = {k: v for k, v in row["answers"].items() if v not in (NOT_ASKED, UNANSWERED)}
    return fhir.questionnaire_response(screening, given, instrument, patient_ref)


def resources(db: Session, registry: Registry, plan: Plan, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The export's resources in order, row by row (each row's consents by id, under `consents`)."""
    req = plan.request
    names = {req.agency_id: plan.agency_name, req.recipient_agency_id: plan.recipient_name}
    for instrument in plan.instruments:
        yield fhir.questionnaire(instrument)
    people: set[str] = set()
    consents: set[str] = set()
    for row in rows:
        ref = f"Patient/{row['person_key']}"
        if row["person_key"] not in people:
            people.add(row["person_key"])
            yield patient(row["person_key"])
        answered = response(row, registry, ref) if Category.item_answers.value in row["categories"] else None
        version = registry.get(row["instrument_id"], row["instrument_version"])
        yield observation(row, ref, answered is not None, version)
        if answered is not None:
            yield answered
        for consent_id in dict.fromkeys(row.get("consents", {}).values()):
            if consent_id is None or consent_id in consents:
                continue
            consents.add(consent_id)
            given = db.get(Consent, consent_id)
            if given is not None:
                yield fhir.consent(given, ref, names)


def bundle_lines(resources: Iterable[dict[str, Any]], base: str | None = None) -> Iterator[str]:
    """A `collection` Bundle written piece by piece: the envelope, then one entry at a time."""
    root = (base or _root()).rstrip("/")
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    timestamp = fhir.fhir_time(datetime.now(UTC))
    yield encode({"resourceType": "Bundle", "type": "collection", "timestamp": timestamp})[:-1]
    separator = ',"entry":[\n'  # FHIR forbids an empty array: no entry key at all when nothing is exported
    for resource in resources:
        yield separator + encode(
            {"fullUrl": f"{root}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        )
        separator = ",\n"
    yield "}\n" if separator != ",\n" else "\n]}\n"


def lines(db: Session, registry: Registry, plan: Plan, rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """The export as `fhir-bundle` (one Bundle, JSON) or `fhir-ndjson` (a resource a line)."""
    found = resources(db, registry, plan, rows)
    return bundle_lines(found) if fmt == "fhir-bundle" else fhir.ndjson(found)
