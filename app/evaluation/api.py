"""API: outcomes recorded after screening, and instrument performance (de-identified)."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep
from app.evaluation import outcomes
from app.evaluation.schemas import OutcomeCreate, OutcomePublic, OutcomeWithdraw

router = APIRouter(tags=["evaluation"])


@router.get("/youth/{youth_id}/outcomes", response_model=list[OutcomePublic])
def list_outcomes(youth_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> list[OutcomePublic]:
    """What was later learned about one of your agency's youth: your agency's outcomes, and another agency's
    only under a consent in force from it covering notes (each such read is written in the ledger)."""
    return outcomes.for_youth(db, keys, user, youth_id)


@router.post("/youth/{youth_id}/outcomes", response_model=OutcomePublic, status_code=201)
def record_outcome(
    youth_id: str, data: OutcomeCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> OutcomePublic:
    """Record what was later learned about one of your agency's youth (supervisors and agency admins).

    `follow_up_months` is required when `kind` is `not_indicated`. Used only to measure instruments.
    """
    outcome = outcomes.record(db, keys, user, youth_id, data)
    return next(o for o in outcomes.for_youth(db, keys, user, youth_id) if o.id == outcome.id)


@router.post("/outcomes/{outcome_id}/withdraw", response_model=OutcomePublic)
def withdraw_outcome(
    outcome_id: str, data: OutcomeWithdraw, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> OutcomePublic:
    """Withdraw one of your agency's outcomes, with the reason; it stays, marked, and is no longer counted."""
    outcome = outcomes.withdraw(db, keys, user, outcome_id, data)
    return next(o for o in outcomes.for_youth(db, keys, user, outcome.youth_id) if o.id == outcome.id)
