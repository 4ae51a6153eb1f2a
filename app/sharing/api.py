"""API: consents, possible matches and links, break-glass, a youth's timeline and account of disclosures."""

from __future__ import annotations

from fastapi import APIRouter

from app import access
from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep
from app.errors import Conflict, InvalidInput, NotFound, responses
from app.sharing import breakglass, links, tellonce, views
from app.sharing import consent as consents
from app.sharing.schemas import (
    BreakGlassCreate,
    BreakGlassPublic,
    CandidatePublic,
    ConsentCreate,
    ConsentPublic,
    ConsentRevoke,
    ConsentTerms,
    DisclosurePublic,
    LinkRequest,
    RecordLinkPublic,
    TimelineEntryPublic,
)

router = APIRouter(tags=["sharing"])


@router.get("/youth/{youth_id}/consents", response_model=list[ConsentPublic], responses=responses(NotFound))
def list_consents(youth_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> list[ConsentPublic]:
    """Consents about this youth that the caller's agency gave or received, newest first."""
    return [consents.public(keys, c) for c in consents.for_youth(db, user, youth_id)]


@router.post(
    "/youth/{youth_id}/consents",
    response_model=ConsentPublic,
    status_code=201,
    responses=responses(InvalidInput, NotFound),
)
def record_consent(
    youth_id: str, terms: ConsentTerms, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> ConsentPublic:
    """Record the youth's release from the caller's agency to another agency (an end date is required)."""
    data = ConsentCreate.model_validate({**terms.model_dump(), "youth_id": youth_id})
    return consents.public(keys, consents.record(db, user, data))


@router.post("/consents/{consent_id}/revoke", response_model=ConsentPublic, responses=responses(InvalidInput, NotFound))
def revoke_consent(
    consent_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep, data: ConsentRevoke | None = None
) -> ConsentPublic:
    """Revoke a consent the caller's agency gave, with the reason (`{"reason": "..."}`, required; else 400).

    It covers nothing from the next request on. Both agencies of the consent see the reason.
    """
    reason = data.reason if data is not None and data.reason is not None else ""
    return consents.public(keys, consents.revoke(db, keys, user, consent_id, reason))


@router.post(
    "/consents/{consent_id}/supersede",
    response_model=ConsentPublic,
    status_code=201,
    responses=responses(InvalidInput, NotFound, Conflict),
)
def supersede_consent(
    consent_id: str, data: ConsentCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> ConsentPublic:
    """Change a consent: the new one replaces it, the old one is kept and marked superseded."""
    return consents.public(keys, consents.supersede(db, user, consent_id, data))


@router.get("/youth/{youth_id}/candidates", response_model=list[CandidatePublic], responses=responses(NotFound))
def list_candidates(youth_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> list[CandidatePublic]:
    """Possible matches elsewhere, as opaque handles only; linking one needs the youth's consent."""
    return [CandidatePublic(candidate=h) for h in views.candidate_handles(db, keys, user, youth_id)]


@router.post(
    "/youth/{youth_id}/links",
    response_model=RecordLinkPublic,
    status_code=201,
    responses=responses(InvalidInput, NotFound),
)
def link(youth_id: str, data: LinkRequest, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> RecordLinkPublic:
    """Link the record to a possible match, under an active consent to the caller's agency or a break-glass."""
    candidate = views.candidate_by_handle(db, keys, user, youth_id, data.candidate)
    return RecordLinkPublic.model_validate(links.link(db, keys, user, youth_id, candidate, data.break_glass))


@router.post("/links/{link_id}/undo", response_model=RecordLinkPublic, responses=responses(NotFound))
def undo_link(link_id: str, db: SessionDep, user: ApiUserDep) -> RecordLinkPublic:
    """Undo a wrong link."""
    return RecordLinkPublic.model_validate(links.undo(db, user, link_id))


@router.get("/youth/{youth_id}/timeline", response_model=list[TimelineEntryPublic], responses=responses(NotFound))
def timeline(youth_id: str, db: SessionDep, user: ApiUserDep) -> list[TimelineEntryPublic]:
    """The person's screenings the caller may see as summaries, newest first (other agencies' are disclosed)."""
    return [TimelineEntryPublic.model_validate(e) for e in tellonce.timeline(db, user, youth_id)]


@router.get("/youth/{youth_id}/disclosures", response_model=list[DisclosurePublic], responses=responses(NotFound))
def disclosures(youth_id: str, db: SessionDep, user: ApiUserDep) -> list[DisclosurePublic]:
    """The account of disclosures of the person's records, oldest first."""
    return views.account(db, access.readable_youth(db, user, youth_id).person_id, user.agency_id)


@router.post(
    "/youth/{youth_id}/break-glass", response_model=BreakGlassPublic, status_code=201, responses=responses(NotFound)
)
def open_break_glass(
    youth_id: str, data: BreakGlassCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> BreakGlassPublic:
    """A supervisor opens the linked records of this youth's person, with a written reason, for a time."""
    return BreakGlassPublic.model_validate(breakglass.open_glass(db, keys, user, youth_id, data))
