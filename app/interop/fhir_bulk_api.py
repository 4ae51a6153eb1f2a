"""API: importing a partner's file of QuestionnaireResponses (a FHIR Bundle or NDJSON) about several youth.

Each response goes onto the agency's youth its own subject is (`app.interop.fhir_subjects`); a preview first.
The per-youth import (`app.interop.fhir_api`) reads its body here too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep, RegistryDep
from app.errors import Conflict, InvalidInput, NotFound, responses
from app.interop.fhir_bulk import BulkReport, import_file
from app.interop.fhir_subjects import NDJSON_TYPES, FileContents, read_body
from app.settings import get_settings

router = APIRouter(tags=["fhir"])
FILE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A FHIR R4 Bundle (any type) holding QuestionnaireResponses and the Patients they refer to; "
        "or NDJSON, one resource per line.",
        "content": {
            **{media: {"schema": {"type": "object"}} for media in ("application/fhir+json", "application/json")},
            **{media: {"schema": {"type": "string"}} for media in NDJSON_TYPES},
        },
    }
}
PartnerQuery = Annotated[
    str | None,
    Query(max_length=32, description="the id of the agency that sent the file, whose pseudonyms its subjects are"),
]


async def received_file(request: Request) -> FileContents:
    """The request's body as a file of responses: NDJSON by its media type, otherwise a JSON Bundle (both checked
    as every JSON body is, app.inputs: an NDJSON line at a time)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return read_body(await request.body(), media, get_settings().max_json_depth)


FileDep = Annotated[FileContents, Depends(received_file)]


@router.post(
    "/fhir-import",
    response_model=BulkReport,
    openapi_extra=FILE_BODY,
    responses=responses(InvalidInput, NotFound, Conflict),
)
def import_responses_file(
    found: FileDep,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    user: ApiUserDep,
    partner: PartnerQuery = None,
    preview: Annotated[bool, Query(description="true: say what would be imported, save nothing")] = True,
) -> BulkReport:
    """Import a partner's QuestionnaireResponses, each onto the one of your agency's youth its own subject is.

    A subject is matched by pseudonym (the Patient id a TellOnce export wrote for your agency, or for the
    `partner` that sent the file) or by an identifier your agency recorded for the youth
    (`/youth/{youth_id}/identifiers`); a response with no subject, or one matching none or several of your
    youth, is never imported. With `preview=true` (the default) nothing is saved: the answer lists, per youth,
    the responses that would be imported and their problems. With `preview=false` each response without
    problems is saved onto its own youth (never the same response twice).
    """
    return import_file(db, keys, registry, user, found, partner=partner, preview=preview)
