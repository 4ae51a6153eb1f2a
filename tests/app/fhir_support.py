"""Helpers for the FHIR tests: synthetic youth and screenings, and validation of what is exported.

`validate` checks a resource (and each resource of a Bundle) three ways: with the fhir.resources models
(8.x has no R4 package; R4B is its R4-compatible line, see app/interop/fhir.py), against the published R4
JSON Schema (tests/support/fhir_schema.py), and for what neither catches: an empty array, object or string,
or a null, anywhere (FHIR's JSON rules forbid them).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlmodel import Session

from app import crypto
from app.exports.tabular import person_key
from app.interop import fhir
from app.main import loaded_instruments
from app.models import Screening, User, Youth, utcnow
from app.models_sharing import Category, ConsentMethod, Grantor, Purpose
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.sharing import consent
from app.sharing.schemas import ConsentCreate
from tests.support.fhir_schema import schema_problems

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
MODELS: dict[str, Any] = {
    "Bundle": Bundle,
    "Consent": FhirConsent,
    "Patient": Patient,
    "Questionnaire": Questionnaire,
    "QuestionnaireResponse": QuestionnaireResponse,
}
SELF_REPORT = "tellonce-youth-self-report"
PRACTITIONER = "tellonce-practitioner-indicators"
# Synthetic identifiers that must never appear in a FHIR export.
GIVEN, FAMILY, BIRTH, CASE = "Marisol", "Quillfeather", date(2009, 7, 14), "CASE-77431"
SELF_ANSWERS: dict[str, Any] = {
    "no_safe_place": "yes",
    "stayed_away": "declined",
    "stay_in_return": "not_sure",
    "owes_money": "no",
    "sex_for_things": "yes",
    "someone_else_involved": "yes",
    "unsafe_at_home": "no",
}
PRACTITIONER_ANSWERS: dict[str, Any] = {
    "rate_coercion_debt": "clear_concern",
    "rate_housing_unstable": "not_enough_info",
    "rate_housing_runaway": "possible_concern",
}


def fixture(name: str) -> dict[str, Any]:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def empty_values(value: Any, path: str = "$") -> list[str]:
    """Where `value` holds an empty array, object or string, or a null (FHIR JSON has none of them)."""
    if value is None or value in ("", [], {}):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empty_values(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empty_values(v, f"{path}[{i}]")]
    return []


def validate(resource: dict[str, Any]) -> Any:
    """Validate a resource (a Bundle's entries too) with its fhir.resources R4B model, against the R4 JSON
    Schema, and for empty values; the model is returned."""
    assert not empty_values(resource), f"empty values in {resource['resourceType']}: {empty_values(resource)[:10]}"
    assert not schema_problems(resource), schema_problems(resource)
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return model


def youth(db: Session, user: User, case_number: str = CASE) -> Youth:
    data = YouthCreate(given_name=GIVEN, family_name=FAMILY, birth_date=BIRTH, case_number=case_number)
    record = records.create(db, crypto.get_key_ring(), user, data)
    db.commit()
    return record


def completed(db: Session, user: User, record: Youth, instrument: str, mode: str, answers: dict[str, Any]) -> Screening:
    """A screening answered and completed through the screening service."""
    keys, registry = crypto.get_key_ring(), loaded_instruments()
    data = ScreeningCreate(youth_id=record.id, instrument_id=instrument, mode=mode)  # type: ignore[arg-type]
    started = screenings.start(db, keys, registry, user, data)
    saved = screenings.save_answers(
        db, keys, registry, user, started.id, AnswersSave(version=started.version, answers=answers)
    )
    done = screenings.complete(db, keys, registry, user, saved.id, saved.version)
    db.commit()
    return done


def release(db: Session, admin: User, record: Youth, to: str, *categories: Category) -> None:
    """A release of information from the admin's agency to another, for care coordination."""
    data = ConsentCreate(
        youth_id=record.id,
        to_agency_id=to,
        grantor=Grantor.youth,
        authority="Signed release of information",
        categories=list(categories),
        purpose=Purpose.care_coordination,
        ends_at=utcnow() + timedelta(days=30),
        method=ConsentMethod.written,
    )
    consent.record(db, admin, data)
    db.commit()


def pseudonym_for(db: Session, record: Youth, recipient_agency_id: str) -> str:
    """The pseudonym a TellOnce export for `recipient_agency_id` names the record's person by (its Patient id)."""
    db.refresh(record)
    return person_key(crypto.get_key_ring(), recipient_agency_id, record.person_id)


def about(resources: Any, patient_id: str) -> Any:
    """A Bundle or list of resources with every QuestionnaireResponse's subject (and every Patient) this Patient."""
    found = [e["resource"] for e in resources.get("entry", [])] if isinstance(resources, dict) else resources
    for resource in found:
        if resource["resourceType"] == "QuestionnaireResponse":
            resource["subject"] = {"reference": f"Patient/{patient_id}"}
        elif resource["resourceType"] == "Patient":
            resource["id"] = patient_id
            resource["identifier"] = [{"system": fhir.PSEUDONYM_SYSTEM, "value": patient_id}]
    return resources


def same_person(db: Session, record: Youth, other: Youth) -> None:
    """Make `record` one of `other`'s person's records, as linking under a consent does (app.sharing.links)."""
    db.refresh(other)
    record.person_id = other.person_id
    db.add(record)
    db.commit()
