"""API: a referral the caller's agency sent, as a FHIR Bundle for the partner's record system; and the
partner's Task coming back with its new status (for a partner outside TellOnce, whose system speaks FHIR)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep, RegistryDep
from app.errors import Conflict, Gone, InvalidInput, NotFound, responses
from app.i18n import _
from app.inputs import checked_json
from app.interop import fhir, fhir_referral
from app.interop.fhir import FHIR_BODY, FHIR_JSON
from app.referrals import service
from app.referrals.api import public
from app.referrals.schemas import ReferralPublic
from app.settings import get_settings

router = APIRouter(tags=["referrals", "fhir"])
TASK_BODY = {
    "requestBody": {
        "required": True,
        "description": "A FHIR R4 Task: the one exported with the referral, with the partner's status and reason.",
        "content": {media: {"schema": {"type": "object"}} for media in (FHIR_JSON, "application/json")},
    }
}


async def task_json(request: Request) -> Any:
    """The request's body as JSON (whatever its shape: `apply_task_update` says what is wrong with it).

    Read whatever its content type says, so it gets the same checks as every JSON body (app.inputs):
    no NUL or lone surrogate, no nesting deeper than the limit, only finite numbers.
    """
    try:
        return checked_json(await request.body(), get_settings().max_json_depth)
    except ValueError:
        raise InvalidInput(_("Send one FHIR Task, as a JSON object."), {"field": "Task"}) from None


@router.get(
    "/referrals/{referral_id}/fhir", response_class=JSONResponse, responses=FHIR_BODY | responses(NotFound, Gone)
)
def referral_bundle(
    referral_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, user: ApiUserDep
) -> Response:
    """A referral your agency sent as a FHIR Bundle: ServiceRequest, Task, Patient, Organizations, preparer,
    Consent, and each shared screening's Observation (and QuestionnaireResponse when answers are shared).

    Written in the disclosure ledger as an export to the partner. 404 for any agency but the sender; 410 once
    the referral was declined or cancelled, or the youth's consent no longer covers it.
    """
    resources = fhir_referral.referral_resources(db, keys, registry, user, referral_id)
    return JSONResponse(fhir.bundle(resources), media_type=FHIR_JSON)


@router.post(
    "/referrals/{referral_id}/fhir/task",
    response_model=ReferralPublic,
    openapi_extra=TASK_BODY,
    responses=responses(InvalidInput, NotFound, Conflict),
)
def import_task(
    referral_id: str,
    db: SessionDep,
    keys: KeysDep,
    user: ApiUserDep,
    task: Annotated[Any, Depends(task_json)],
) -> ReferralPublic:
    """Record what a partner's system says of a referral your agency sent: the Task's status (and
    `statusReason.text`), as the referral's next status, from the partner's system (FHIR).

    The Task names the referral in `identifier` (system `urn:tellonce:referral`) or `focus`; it must be the one
    in the path. 400 (naming the field) for invalid FHIR or a status the referral cannot move to; the same
    status again changes nothing.
    """
    fhir_referral.apply_task_update(db, keys, user, task, referral_id=referral_id)
    return public(db, keys, user, service.load(db, user, referral_id), with_events=True)
