"""API: instruments, youth and screenings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from app import access, audit
from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep, RegistryDep
from app.errors import Conflict, InvalidInput, NotFound, responses
from app.fields import MAX_INT
from app.models import ScreeningStatus
from app.models_sharing import Category
from app.records import service as records
from app.records.schemas import CaseNumberQuery, YouthCreate, YouthPublic
from app.screenings import revisions, service
from app.screenings.disclosed import result_summary
from app.screenings.schemas import (
    Amend,
    AnswersSave,
    Complete,
    Discard,
    RevisionPublic,
    RevisionSummary,
    ScreeningCreate,
    ScreeningPublic,
)
from app.screenings.schemas_api import InstrumentSummary

router = APIRouter()


@router.get("/instruments", response_model=list[InstrumentSummary], tags=["instruments"], responses=responses())
def list_instruments(registry: RegistryDep, user: ApiUserDep) -> list[InstrumentSummary]:
    """Every loaded instrument version."""
    return [InstrumentSummary.of(c) for c in registry.all()]


@router.get("/instruments/{instrument_id}/{version}", tags=["instruments"], responses=responses(NotFound))
def get_instrument(instrument_id: str, version: str, registry: RegistryDep, user: ApiUserDep) -> dict[str, Any]:
    """One instrument version's full definition, with its content hash."""
    compiled = registry.get(instrument_id, version)
    if compiled is None:
        raise NotFound("No such instrument version.")
    return {"content_hash": compiled.content_hash, "definition": compiled.definition.model_dump(mode="json")}


@router.post("/youth", response_model=YouthPublic, status_code=201, tags=["youth"], responses=responses(InvalidInput))
def create_youth(data: YouthCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> YouthPublic:
    """Add a youth to the caller's agency."""
    youth = records.create(db, keys, user, data)
    return records.public(db, keys, user, youth)


@router.post("/youth/search", response_model=YouthPublic, tags=["youth"], responses=responses(NotFound))
def find_youth(query: CaseNumberQuery, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> YouthPublic:
    """Find a youth by the caller's agency's case number (sent in the body, so it stays out of URLs and logs)."""
    youth = records.find_by_case_number(db, keys, user, query.case_number)
    return records.view(db, keys, user, youth.id)


@router.get("/youth/{youth_id}", response_model=YouthPublic, tags=["youth"], responses=responses(NotFound))
def get_youth(youth_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> YouthPublic:
    """One youth record."""
    return records.view(db, keys, user, youth_id)


@router.post(
    "/screenings",
    response_model=ScreeningPublic,
    status_code=201,
    tags=["screenings"],
    responses=responses(InvalidInput, NotFound),
)
def start_screening(
    data: ScreeningCreate, db: SessionDep, keys: KeysDep, registry: RegistryDep, user: ApiUserDep
) -> ScreeningPublic:
    """Start a screening of a youth with an instrument and a mode it allows."""
    return service.public(db, keys, service.start(db, keys, registry, user, data))


@router.get(
    "/screenings/{screening_id}", response_model=ScreeningPublic, tags=["screenings"], responses=responses(NotFound)
)
def get_screening(screening_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> ScreeningPublic:
    """A screening of the caller's agency with its answers, notes and version (send it back when saving)."""
    screening = access.writable_screening(db, user, screening_id)
    audit.screening_viewed(db, user, screening.id)
    return service.public(db, keys, screening)


@router.put(
    "/screenings/{screening_id}/answers",
    response_model=ScreeningPublic,
    tags=["screenings"],
    responses=responses(InvalidInput, NotFound, Conflict),
)
def save_answers(
    screening_id: str, data: AnswersSave, db: SessionDep, keys: KeysDep, registry: RegistryDep, user: ApiUserDep
) -> ScreeningPublic:
    """Save answers; a stale `version` answers 409 and changes nothing."""
    return service.public(db, keys, service.save_answers(db, keys, registry, user, screening_id, data))


@router.post(
    "/screenings/{screening_id}/complete",
    response_model=ScreeningPublic,
    tags=["screenings"],
    responses=responses(InvalidInput, NotFound, Conflict),
)
def complete_screening(
    screening_id: str, data: Complete, db: SessionDep, keys: KeysDep, registry: RegistryDep, user: ApiUserDep
) -> ScreeningPublic:
    """Score the screening and store its result."""
    screening, answers = service.completed(db, keys, registry, user, screening_id, data.version)
    return service.public(db, keys, screening, answers)


@router.get("/screenings/{screening_id}/result", tags=["screenings"], responses=responses(NotFound))
def get_result(
    screening_id: str, response: Response, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> dict[str, Any]:
    """The explained result: overall, domains, indicators, reasons, completeness. The `TellOnce-Revision`
    header gives its revision (the latest; earlier ones are under `/revisions`)."""
    result, read = service.result_of(db, keys, user, screening_id)
    response.headers["TellOnce-Revision"] = str(read.screening.revision)
    # The evidence and the clauses over items quote answers: another agency sees them only under a
    # consent that covers the answers (a disclosure of its own in the ledger, written by the gate).
    with_answers = read.covers(Category.item_answers)
    return result_summary(result, with_answers)


@router.post(
    "/screenings/{screening_id}/revisions",
    response_model=RevisionPublic,
    status_code=201,
    tags=["screenings"],
    responses=responses(InvalidInput, NotFound, Conflict),
)
def amend_screening(
    screening_id: str, data: Amend, db: SessionDep, keys: KeysDep, registry: RegistryDep, user: ApiUserDep
) -> RevisionPublic:
    """Correct a completed screening: change answers with a reason; it is rescored as a new revision and the
    previous one stays readable. A stale `version` answers 409 and changes nothing."""
    revision = revisions.amend(db, keys, registry, user, screening_id, data)
    return revisions.public(access.writable_screening(db, user, screening_id), revision, own=True)


@router.get(
    "/screenings/{screening_id}/revisions",
    response_model=list[RevisionSummary],
    tags=["screenings"],
    responses=responses(NotFound),
)
def list_revisions(screening_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> list[RevisionSummary]:
    """Every revision of a completed screening of the caller's agency, oldest first, with who made it and why."""
    screening = access.writable_screening(db, user, screening_id)
    if screening.status != ScreeningStatus.completed:
        raise NotFound("This screening has no result yet; complete it first.")
    return [revisions.summary_of(r) for r in revisions.history(db, keys, screening)]


@router.get(
    "/screenings/{screening_id}/revisions/{number}",
    response_model=RevisionPublic,
    tags=["screenings"],
    responses=responses(NotFound),
)
def get_revision(
    screening_id: str, number: Annotated[int, Path(ge=1, le=MAX_INT)], db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> RevisionPublic:
    """One revision's result, "revision `number` of `of`" (another agency reads it as it reads the result, and
    the disclosure ledger records which revision it saw); its answers, author and reason for the owning agency."""
    wanted = (Category.result_summary, Category.item_answers)
    shown = access.open_screening(db, user, screening_id, wanted, revision=number)
    revision = revisions.read(db, keys, user, shown, number)
    return revisions.public(shown.screening, revision, own=shown.own, with_answers=shown.covers(Category.item_answers))


@router.post(
    "/screenings/{screening_id}/discard",
    response_model=ScreeningPublic,
    tags=["screenings"],
    responses=responses(NotFound, Conflict),
)
def discard_screening(
    screening_id: str, data: Discard, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> ScreeningPublic:
    """Discard a draft nobody will finish, with a reason: hidden from lists, no longer resumable, kept in the audit."""
    return service.public(db, keys, revisions.discard(db, keys, user, screening_id, data))
