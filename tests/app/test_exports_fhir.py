"""FHIR exports for a recipient agency (`fhir-bundle`, `fhir-ndjson`) of the demo story: Riverbend shares
Avery's screening with Harbor under a consent covering the result summary and the item answers.

They take the same path as the CSV and JSON exports: the consent filter, the batches, the ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app import crypto
from app.cli import cli
from app.demo import DEMO_PASSWORD
from app.exports import tabular
from app.main import loaded_instruments
from app.models import Agency, Screening, User, Youth
from app.models_sharing import Consent, Disclosure
from app.records import service as records
from app.sharing import consent as consents
from tests.app.exports_support import ALL, PRACTITIONER, today
from tests.app.exports_support import validate_fhir as validate
from tests.app.fhir_support import completed

RIVERBEND, HARBOR = "Riverbend Youth Services", "Harbor County Probation"
PERSONAL = ("Avery", "Lindqvist", "Lindquist", "2009-03-14", "RB-1001", "HC-2001", "Jordan", "Okafor")


def agency(db: Session, name: str) -> Agency:
    return db.exec(select(Agency).where(Agency.name == name)).one()


def user(db: Session, email: str) -> User:
    return db.exec(select(User).where(User.email == email)).one()


@pytest.fixture
def demo(session: Session) -> Session:
    """`tellonce demo`, plus a completed Riverbend screening of a youth who gave no consent."""
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    screener = user(session, "screener@riverbend.example.org")
    keys = crypto.get_key_ring()
    jordan = records.find_by_case_number(session, keys, screener, "RB-1002")
    completed(session, screener, jordan, PRACTITIONER, "practitioner", {"rate_coercion_debt": "clear_concern"})
    return session


def export(db: Session, fmt: str) -> str:
    exporter = user(db, "supervisor@riverbend.example.org")
    terms = (agency(db, HARBOR).id, today() - timedelta(days=1), today(), ALL, "care_coordination")
    registry = loaded_instruments()
    planned = tabular.prepare(db, registry, exporter, *terms)
    return "".join(tabular.stream(db, crypto.get_key_ring(), registry, planned, fmt))


def shared_screening_ids(db: Session) -> set[str]:
    """Riverbend's completed screenings whose person has a consent to Harbor: Avery's check-in and rating."""
    person_ids = {c.person_id for c in db.exec(select(Consent))}
    riverbend = agency(db, RIVERBEND)
    done = select(Screening, Youth).join(Youth, col(Youth.id) == col(Screening.youth_id))
    return {
        s.id
        for s, y in db.exec(done.where(Screening.agency_id == riverbend.id, Screening.status == "completed"))
        if y.person_id in person_ids
    }


def by_type(resources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        found.setdefault(resource["resourceType"], []).append(resource)
    return found


def test_fhir_bundle_and_ndjson_carry_exactly_the_shared_screening(demo: Session) -> None:
    shared = shared_screening_ids(demo)
    assert len(shared) == 2
    bundle = json.loads(export(demo, "fhir-bundle"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    assert all(
        e["fullUrl"].endswith(f"/{e['resource']['resourceType']}/{e['resource']['id']}") for e in bundle["entry"]
    )
    ndjson = [json.loads(line) for line in export(demo, "fhir-ndjson").splitlines()]
    for resource in ndjson:
        validate(resource)
    assert [(r["resourceType"], r["id"]) for r in ndjson] == [(r["resourceType"], r["id"]) for r in resources]

    found = by_type(resources)
    assert any(q["url"].endswith(PRACTITIONER) for q in found["Questionnaire"])
    responses = {r["id"]: r for r in found["QuestionnaireResponse"]}  # item_answers is covered: the answers go
    results = {r["id"]: r for r in found["Observation"]}
    assert set(responses) == set(results) == shared
    rating = next(
        r for r in found["QuestionnaireResponse"] if r["questionnaire"].split("/")[-1].startswith(PRACTITIONER)
    )
    result = results[rating["id"]]
    assert all(r["item"] for r in responses.values())
    assert result["valueCodeableConcept"]["coding"][0]["code"] == "clear_concern"
    response = rating
    [patient] = found["Patient"]
    assert set(patient) == {"resourceType", "id", "meta", "identifier"}  # no name, birth date or case number
    assert response["subject"]["reference"] == f"Patient/{patient['id']}"
    [consent] = found["Consent"]
    assert consent["id"] == demo.exec(select(Consent).where(Consent.purpose == "care_coordination")).one().id
    assert consent["patient"]["reference"] == f"Patient/{patient['id']}"
    text = json.dumps(bundle)
    assert not [word for word in PERSONAL if word in text]  # nothing of the youth without consent either
    riverbend = agency(demo, RIVERBEND).id
    done = select(Screening.id).where(Screening.agency_id == riverbend, Screening.status == "completed")
    [unshared] = set(demo.exec(done)) - shared
    assert unshared not in text and unshared not in json.dumps(ndjson)


def test_without_item_answers_the_response_is_left_out(demo: Session) -> None:
    exporter = user(demo, "supervisor@riverbend.example.org")
    terms = (agency(demo, HARBOR).id, today() - timedelta(days=1), today(), ["result_summary"], "care_coordination")
    registry = loaded_instruments()
    planned = tabular.prepare(demo, registry, exporter, *terms)
    bundle = json.loads("".join(tabular.stream(demo, crypto.get_key_ring(), registry, planned, "fhir-bundle")))
    validate(bundle)
    found = by_type([e["resource"] for e in bundle["entry"]])
    assert "QuestionnaireResponse" not in found
    assert len(found["Observation"]) == 2 and not any("derivedFrom" in r for r in found["Observation"])
    assert len(found["Patient"]) == len(found["Consent"]) == 1


def test_after_revoking_the_consent_no_screening_is_exported(demo: Session) -> None:
    admin = user(demo, "agency.admin@riverbend.example.org")
    given = demo.exec(select(Consent).where(Consent.purpose == "care_coordination")).one()  # not the referral release
    consents.revoke(demo, crypto.get_key_ring(), admin, given.id, "Youth asked to stop.")
    demo.commit()
    bundle = json.loads(export(demo, "fhir-bundle"))
    validate(bundle)
    assert bundle.get("entry", []) == []
    assert export(demo, "fhir-ndjson") == ""
    assert demo.exec(select(Disclosure).where(Disclosure.kind == "export")).all() == []


def test_the_csv_of_the_demo_opens_in_a_spreadsheet(demo: Session) -> None:
    text = export(demo, "csv")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, *rows = list(reader)
    assert "instrument_version" in header and len(rows) == 2
    assert {dict(zip(header, row, strict=True))["screening_id"] for row in rows} == shared_screening_ids(demo)


def test_every_exported_screening_has_a_ledger_entry(demo: Session) -> None:
    export(demo, "fhir-bundle")
    export(demo, "fhir-ndjson")
    demo.expire_all()
    entries = demo.exec(select(Disclosure).where(Disclosure.kind == "export")).all()
    shared = shared_screening_ids(demo)
    assert sorted((e.detail["format"], e.screening_id) for e in entries) == sorted(
        (fmt, sid) for fmt in ("fhir-bundle", "fhir-ndjson") for sid in shared
    )
    assert {e.viewer_agency_id for e in entries} == {agency(demo, HARBOR).id}
    assert all(e.categories == ["result_summary", "item_answers"] for e in entries)


def test_the_cli_and_the_api_offer_the_fhir_formats(demo: Session, client: TestClient, tmp_path: Path) -> None:
    out = tmp_path / "harbor.ndjson"
    args = ["export", "--recipient", HARBOR, "--as", "supervisor@riverbend.example.org", "--out", str(out)]
    dates = ["--from", (today() - timedelta(days=1)).isoformat(), "--to", today().isoformat()]
    result = CliRunner().invoke(cli, [*args, *dates, "--format", "fhir-ndjson", "--categories", ",".join(ALL)])
    assert result.exit_code == 0, result.output
    kinds = [json.loads(line)["resourceType"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert kinds.count("QuestionnaireResponse") == 2 and "Patient" in kinds

    login = {"username": "supervisor@riverbend.example.org", "password": DEMO_PASSWORD}
    token = client.post("/api/v1/auth/token", data=login).json()["access_token"]
    query = f"recipient={agency(demo, HARBOR).id}&from={dates[1]}&to={dates[3]}&format=fhir-bundle"
    response = client.get(f"/api/v1/exports?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["content-disposition"].endswith('.fhir.json"')
    validate(response.json())
