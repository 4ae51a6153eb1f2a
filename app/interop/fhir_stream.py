"""The recipient export as FHIR R4: one `collection` Bundle streamed as JSON, or the same resources as NDJSON.

It writes the rows of `tabular.export_rows` (so the same consent filter, batches and ledger entries as the
CSV and JSON exports), never reads screenings itself. In order:

- the Questionnaire of every instrument version in the export's plan;
- per exported screening: its pseudonymous Patient (once per person; its id is the row's `person_key`, the
  recipient's own pseudonym, so no name, birth date or case number), an Observation of its result summary,
  its QuestionnaireResponse, and the Consent(s) that allowed it (each once).

What a row may carry decides its resources. The result summary is the category every export carries, so
every scored row gets its result Observation (`observation`, category `survey`): the overall level and each
domain's level (no reasons, no answers), coded in `urn:tellonce:concern-level`, where
`insufficient_information` is its own code ("Not enough information to conclude"), never `no_concern`;
and, for an instrument that declares a total, the total as a component (`valueQuantity`) with one
component per threshold (`valueString`, e.g. `possible_concern>=1`). A declared total is also an
Observation of its own (`total_observation`, category `survey`, `valueQuantity`), coded with the total's
outside code where the instrument has one (e.g. a LOINC total score of an imported questionnaire), else
`<base>/fhir/CodeSystem/<instrument id>.scores#total`; the result Observation lists it in `hasMember`.
Both say `derivedFrom` the QuestionnaireResponse when it is exported. Each has its own business identifier,
the screening's id in `urn:tellonce:screening` (the result, as the QuestionnaireResponse) or in
`urn:tellonce:screening-total` (the total), so no resource of an export repeats another's. An unscored
screening (overall level `not_scored`) concludes no level and so has no result Observation; its
QuestionnaireResponse is written as any other, and a form that reports a total without levels still has its
total Observation.
The per-screening export (`app.interop.fhir_api`) and the referral export write the same resources
through `result_resources`.

The QuestionnaireResponse holds answers, so it is written only when the consent covers `item_answers` for
that row; otherwise there is none at all: an empty response would still say "these questions were put",
and a partial one would leak answers. It answers the total item with the result's total. Notes have no
FHIR resource here. Answers that show_if hid, or left unanswered, are left out of the response (FHIR has
no item for them); a declined or not-enough-information answer is an item without answer, with its
data-absent-reason (see `app.interop.fhir`). Every resource, and the Bundle, has `meta.source`.

Memory: the Bundle's envelope is written first, then each entry as its row arrives; only the ids of the
Patients and Consents already written are kept (so each goes once), a few dozen bytes per person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.exports.plan import UNANSWERED, Plan
from app.exports.writers import threshold
from app.interop import fhir
from app.models import Screening, ScreeningStatus
from app.models_sharing import Category, Consent
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import NOT_ASKED, NOT_SCORED

EXT_QUESTIONNAIRE = "urn:tellonce:questionnaire"
RESULT_SYSTEM = "urn:tellonce:result"
# The business identifier of a screening's total Observation: the screening's id, in a system of its own, so that a
# partner de-duplicating by identifier never takes it for its result Observation (`SCREENING_SYSTEM`).
TOTAL_SYSTEM = "urn:tellonce:screening-total"
RESULT_CODE = {"system": RESULT_SYSTEM, "code": "overall", "display": "TellOnce screening result"}
TOTAL_CODE = {"system": RESULT_SYSTEM, "code": "total", "display": "Total"}
THRESHOLD_CODE = {"system": RESULT_SYSTEM, "code": "total-threshold", "display": "Threshold of the total"}
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
SURVEY = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}
    ]
}
FORMATS = ("fhir-bundle", "fhir-ndjson")
patient = fhir.patient  # the recipient's person key and nothing else


def _root() -> str:
    return f"{fhir.deployment()}/fhir"


def _quantity(value: float) -> dict[str, Any]:
    return {"value": int(value) if float(value).is_integer() else value}


def total_id(screening_id: str) -> str:
    """The id of a screening's total Observation (beside its result Observation, whose id is the screening's)."""
    return f"{screening_id}-total"


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
    total = instrument.declared_total if instrument is not None else None
    if instrument is None or total is None:
        return None
    return total.label.get("en") or total.label.get(instrument.definition.default_language) or None


def _questionnaire_extensions(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "url": EXT_QUESTIONNAIRE,
            "valueCanonical": f"{fhir.canonical(row['instrument_id'])}|{row['instrument_version']}",
        },
        {"url": fhir.EXT_CONTENT_HASH, "valueString": row["content_hash"]},
        {"url": fhir.EXT_MODE, "valueCode": row["mode"]},
    ]


def total_value(row: dict[str, Any]) -> float | None:
    """The result's total of a row, if it has one."""
    total = row["result"].get("total") or {}
    value = total.get("value")
    return None if value is None else float(value)


def observation(
    row: dict[str, Any], patient_ref: str, with_response: bool, instrument: CompiledInstrument | None = None
) -> dict[str, Any]:
    """A screening's result summary: the overall level, each domain's level and the total as components.

    `instrument` (the row's version) gives the total its label; without it the total is called "Total".
    """
    domains = fhir.code_system(row["instrument_id"], "domains")
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": row["screening_id"],
        "extension": _questionnaire_extensions(row),
        "identifier": [{"system": fhir.SCREENING_SYSTEM, "value": row["screening_id"]}],
        "status": "final",
        "category": [SURVEY],
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
    if total_value(row) is not None and instrument is not None and instrument.declared_total is not None:
        out["hasMember"] = [{"reference": f"Observation/{total_id(row['screening_id'])}"}]
    if with_response:
        out["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{row['screening_id']}"}]
    return out


def total_observation(
    row: dict[str, Any], patient_ref: str, with_response: bool, instrument: CompiledInstrument | None
) -> dict[str, Any] | None:
    """The total an instrument declares, as an Observation of its own (None without a declared total or value).

    Its code is the total's outside code where the instrument has one (a LOINC total score of an imported
    questionnaire), else TellOnce's `<base>/fhir/CodeSystem/<instrument id>.scores#total`."""
    declared, value = instrument.declared_total if instrument is not None else None, total_value(row)
    if declared is None or value is None:
        return None
    label = _total_label(instrument) or TOTAL_CODE["display"]
    if declared.code is not None:
        coding = fhir.outside_coding(declared.code)
    else:
        coding = {"system": fhir.code_system(row["instrument_id"], "scores"), "code": "total", "display": label}
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": total_id(row["screening_id"]),
        "extension": _questionnaire_extensions(row),
        "identifier": [{"system": TOTAL_SYSTEM, "value": row["screening_id"]}],
        "status": "final",
        "category": [SURVEY],
        "code": {"coding": [coding], "text": label},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": fhir.fhir_time(datetime.fromisoformat(row["completed_at"])),
        "valueQuantity": _quantity(value),
    }
    if with_response:
        out["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{row['screening_id']}"}]
    return out


def result_resources(
    row: dict[str, Any], patient_ref: str, with_response: bool, instrument: CompiledInstrument | None
) -> list[dict[str, Any]]:
    """A screening's result as Observations: the result, and its total when the instrument declares one. An
    unscored screening (`not_scored`) concludes no level, so it has no result Observation; a form that reports
    a total without levels still has its total's."""
    total = total_observation(row, patient_ref, with_response, instrument)
    totals = [total] if total else []
    if row["overall_level"] == NOT_SCORED:
        return totals
    return [observation(row, patient_ref, with_response, instrument), *totals]


def result_row(screening: Screening, summary: dict[str, Any]) -> dict[str, Any]:
    """What the Observations read of one screening's result summary, in the recipient export's row keys
    (for the exports that read a screening rather than a row: one screening's, a referral's)."""
    return {
        "screening_id": screening.id,
        "instrument_id": screening.instrument_id,
        "instrument_version": screening.instrument_version,
        "content_hash": screening.content_hash,
        "mode": screening.mode,
        "completed_at": (screening.completed_at or screening.started_at).isoformat(),
        "overall_level": summary["overall"],
        "domains": {d["id"]: d["level"] for d in summary["domains"]},
        "result": summary,
    }


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
    return fhir.questionnaire_response(screening, given, instrument, patient_ref, total_value(row))


def resources(db: Session, registry: Registry, plan: Plan, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The export's resources in order, row by row (each row's consents by id, under `consents`)."""
    req = plan.request
    names = {req.agency_id: plan.agency_name, req.recipient_agency_id: plan.recipient_name}
    for instrument in plan.instruments:
        yield fhir.sourced(fhir.questionnaire(instrument))
    people: set[str] = set()
    consents: set[str] = set()
    for row in rows:
        ref = f"Patient/{row['person_key']}"
        if row["person_key"] not in people:
            people.add(row["person_key"])
            yield fhir.sourced(patient(row["person_key"]))
        answered = response(row, registry, ref) if Category.item_answers.value in row["categories"] else None
        version = registry.get(row["instrument_id"], row["instrument_version"])
        for found in result_resources(row, ref, answered is not None, version):
            yield fhir.sourced(found)
        if answered is not None:
            yield fhir.sourced(answered)
        for consent_id in dict.fromkeys(row.get("consents", {}).values()):
            if consent_id is None or consent_id in consents:
                continue
            consents.add(consent_id)
            given = db.get(Consent, consent_id)
            if given is not None:
                yield fhir.sourced(fhir.consent(given, ref, names))


def bundle_lines(resources: Iterable[dict[str, Any]], base: str | None = None) -> Iterator[str]:
    """A `collection` Bundle written piece by piece: the envelope, then one entry at a time."""
    root = (base or _root()).rstrip("/")
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    timestamp = fhir.fhir_time(datetime.now(UTC))
    envelope = {"resourceType": "Bundle", "meta": {"source": fhir.deployment()}, "type": "collection"}
    yield encode({**envelope, "timestamp": timestamp})[:-1]
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
