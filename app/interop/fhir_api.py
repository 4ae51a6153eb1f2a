"""API: FHIR R4. An instrument version's Questionnaire; a screening as a Bundle or NDJSON; imports.

A screening's FHIR export holds its item answers, so reading it needs the `item_answers` category:
the agency's own screening, or another agency's under an active consent covering item answers
(a break-glass view is never exported); its result Observations (`fhir_stream.result_resources`) go
when the result summary is covered too. Its Patient is the person's key for the reading agency
(`tabular.person_key`), the id that agency's bulk exports give the same person. Another agency's
export is written to the disclosure ledger. Importing a Questionnaire returns an instrument definition
to review; it installs nothing. A Questionnaire's canonical URL answers at `/fhir/Questionnaire/...`
(`app.interop.fhir_canonical`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep, RegistryDep, require_role
from app.errors import Conflict, InvalidInput, NotFound, SubjectsRefused, responses
from app.exports import tabular
from app.i18n import _
from app.interop import fhir, fhir_stream
from app.interop.fhir import FHIR_BODY, FHIR_JSON
from app.interop.fhir_bulk_api import FILE_BODY, FileDep, PartnerQuery
from app.interop.fhir_import import QuestionnaireImport, QuestionnaireImportReport, import_questionnaire
from app.interop.fhir_responses import ImportReport, import_responses
from app.models import Agency, Role, Screening, ScreeningResult, User
from app.models_sharing import Category, Consent
from app.screenings import service
from app.screenings.disclosed import result_summary, without_items
from instruments.loader import Registry

router = APIRouter(tags=["fhir"])
FHIR_NDJSON = "application/fhir+ndjson"
FHIR_BODIES: dict[int | str, dict[str, Any]] = {
    200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}, FHIR_NDJSON: {"schema": {"type": "string"}}}}
}


def covering_consents(
    db: Session,
    user: User,
    screening: Screening,
    person_id: str,
    categories: Iterable[Category] = (Category.item_answers,),
) -> list[Consent]:
    """Consents in force now from the screening's agency about its person (to the user's agency, if not its own,
    each covering one of `categories`)."""
    if screening.agency_id == user.agency_id:
        found = access.consents_in_force(db, person_id, None, {screening.agency_id}, None)
    else:
        found = [
            c
            for category in categories
            for c in access.consents_in_force(db, person_id, user.agency_id, {screening.agency_id}, category)
        ]
    return sorted({c.id: c for c in found}.values(), key=lambda c: c.recorded_at)


def export_screening(
    db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str
) -> list[dict[str, Any]]:
    """The Patient, result Observations, QuestionnaireResponse and covering Consents of a screening the user
    may export, each with `meta.source`.

    Another agency exports only under a consent covering the answers (break-glass is a view in an
    emergency, never an export), and only the answers given at agencies that consented to it; the result
    (its Observations, and the response's total) goes when a consent covers the result summary too. The
    Patient's id is the person's key for the user's agency (`tabular.person_key`): the id that agency's
    bulk exports give the same person, and another agency gets another.
    """
    wanted = (Category.item_answers, Category.result_summary)
    shown = access.open_screening(db, user, screening_id, wanted, kind="export", break_glass=False)
    screening = shown.screening
    instrument = service.instrument_of(registry, screening)
    person_key = tabular.person_key(keys, user.agency_id, shown.person_id)
    reference = f"Patient/{person_key}"
    consents = covering_consents(db, user, screening, shown.person_id, shown.categories)
    agency_ids = {c.from_agency_id for c in consents} | {c.to_agency_id for c in consents}
    names = {a.id: a.name for a in db.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))}
    audit.record(
        db,
        "screening.export",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"format": "fhir"},
    )
    stored = service.stored_answers(db, keys, screening)
    answers = service.shown_answers(db, user, shown, stored)
    results: list[dict[str, Any]] = []
    total = None
    stored_result = db.get(ScreeningResult, screening.id) if shown.covers(Category.result_summary) else None
    if stored_result is not None:  # an open screening has no result yet
        result = keys.decrypt_json(stored_result.result_enc, "screening_result", "result", screening.id)
        row = fhir_stream.result_row(screening, result_summary(without_items(result, set(stored) - set(answers)), True))
        results = fhir_stream.result_resources(row, reference, True, instrument)
        total = fhir_stream.total_value(row)
    written = [
        fhir.patient(person_key),
        *results,
        fhir.questionnaire_response(screening, answers, instrument, reference, total),
        *(fhir.consent(c, reference, names) for c in consents),
    ]
    return [fhir.sourced(r) for r in written]


@router.get(
    "/instruments/{instrument_id}/{version}/fhir",
    response_class=JSONResponse,
    responses=FHIR_BODY | responses(NotFound),
)
def instrument_questionnaire(instrument_id: str, version: str, registry: RegistryDep, user: ApiUserDep) -> Response:
    """One instrument version as a FHIR R4 Questionnaire."""
    compiled = registry.get(instrument_id, version)
    if compiled is None:
        raise NotFound(_("No such instrument version."))
    return JSONResponse(fhir.sourced(fhir.questionnaire(compiled)), media_type=FHIR_JSON)


@router.get("/screenings/{screening_id}/fhir", response_class=JSONResponse, responses=FHIR_BODIES | responses(NotFound))
def screening_fhir(
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    user: ApiUserDep,
    format: Annotated[Literal["bundle", "ndjson"], Query()] = "bundle",
) -> Response:
    """A screening as a FHIR Bundle (Patient, result Observations, QuestionnaireResponse, Consents), or as NDJSON."""
    resources = export_screening(db, keys, registry, user, screening_id)
    if format == "ndjson":
        return StreamingResponse(fhir.ndjson(resources), media_type=FHIR_NDJSON)
    return JSONResponse(fhir.bundle(resources), media_type=FHIR_JSON)


@router.post(
    "/youth/{youth_id}/fhir-import",
    response_model=ImportReport,
    openapi_extra=FILE_BODY,
    responses=responses(InvalidInput, NotFound, Conflict, SubjectsRefused),
)
def import_bundle(
    youth_id: str,
    found: FileDep,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    user: ApiUserDep,
    partner: PartnerQuery = None,
) -> ImportReport:
    """Import a partner's completed QuestionnaireResponses (a Bundle, or NDJSON) about one of this agency's youth.

    Every response's own subject must be this youth (see `POST /fhir-import`): when any is about someone else,
    or no one your agency holds, nothing is saved and the answer (422) names each such response.
    """
    return import_responses(db, keys, registry, user, found, youth_id, partner)


@router.post(
    "/instruments/fhir-import",
    response_model=QuestionnaireImportReport,
    responses=responses(also={422: (QuestionnaireImportReport, "The definition would not load: see problems")}),
)
def import_instrument(data: QuestionnaireImport, db: SessionDep, user: ApiUserDep) -> Response:
    """A FHIR R4 Questionnaire as an instrument definition to review, and what was kept, changed and dropped by
    linkId (system admins). 422 with the problems when the definition would not load; it installs nothing."""
    require_role(user, Role.system_admin)
    report = import_questionnaire(db, user, data)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.loads else 422)
