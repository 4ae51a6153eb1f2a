"""API: the identifiers a partner's system uses for one of the agency's youth (to match imported responses)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep
from app.errors import InvalidInput, NotFound, responses
from app.records import identifiers
from app.records.identifiers import IdentifierCreate, IdentifierPublic

router = APIRouter(tags=["youth", "fhir"])


@router.get("/youth/{youth_id}/identifiers", response_model=list[IdentifierPublic], responses=responses(NotFound))
def list_identifiers(youth_id: str, db: SessionDep, user: ApiUserDep) -> list[IdentifierPublic]:
    """Your agency's recorded identifiers of a partner's system for one of your youth (systems only: values
    are kept as keyed hashes and cannot be shown)."""
    return [identifiers.public(row) for row in identifiers.list_for(db, user, youth_id)]


@router.post(
    "/youth/{youth_id}/identifiers",
    response_model=IdentifierPublic,
    status_code=201,
    responses=responses(InvalidInput, NotFound),
)
def add_identifier(
    youth_id: str, data: IdentifierCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> IdentifierPublic:
    """Record that a partner's identifier (`system`, `value`) stands for one of your youth, so that an imported
    QuestionnaireResponse whose subject carries it is matched to this youth. 409 when your agency recorded the
    same identifier for another youth; the same one again for this youth changes nothing."""
    return identifiers.public(identifiers.add(db, keys, user, youth_id, data))


@router.delete("/youth/{youth_id}/identifiers/{identifier_id}", status_code=204, responses=responses(NotFound))
def remove_identifier(youth_id: str, identifier_id: str, db: SessionDep, user: ApiUserDep) -> Response:
    """Forget one of your agency's identifiers of one of your youth: imports no longer match it."""
    identifiers.remove(db, user, youth_id, identifier_id)
    return Response(status_code=204)
