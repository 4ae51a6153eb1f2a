"""API: outcomes recorded after screening, and instrument performance (de-identified)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep, RegistryDep
from app.errors import InvalidInput, NotFound, responses
from app.evaluation import outcomes, report_io
from app.evaluation.schemas import OutcomeCreate, OutcomePublic, OutcomeWithdraw
from app.reports.aggregate import Scope

router = APIRouter(tags=["evaluation"])


@router.get("/youth/{youth_id}/outcomes", response_model=list[OutcomePublic], responses=responses(NotFound))
def list_outcomes(youth_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> list[OutcomePublic]:
    """What was later learned about one of your agency's youth: your agency's outcomes, and another agency's
    only under a consent in force from it covering notes (each such read is written in the ledger)."""
    return outcomes.for_youth(db, keys, user, youth_id)


@router.post(
    "/youth/{youth_id}/outcomes",
    response_model=OutcomePublic,
    status_code=201,
    responses=responses(InvalidInput, NotFound),
)
def record_outcome(
    youth_id: str, data: OutcomeCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> OutcomePublic:
    """Record what was later learned about one of your agency's youth (supervisors, evaluators, agency admins).

    `follow_up_months` is required when `kind` is `not_indicated`. Used only to measure instruments.
    """
    return outcomes.shown(db, keys, user, outcomes.record(db, keys, user, youth_id, data))


@router.post("/outcomes/{outcome_id}/withdraw", response_model=OutcomePublic, responses=responses(NotFound))
def withdraw_outcome(
    outcome_id: str, data: OutcomeWithdraw, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> OutcomePublic:
    """Withdraw one of your agency's outcomes, with the reason; it stays, marked, and is no longer counted."""
    return outcomes.shown(db, keys, user, outcomes.withdraw(db, keys, user, outcome_id, data))


@router.get("/reports/performance", responses=responses(InvalidInput))
def performance_report(
    db: SessionDep,
    registry: RegistryDep,
    user: ApiUserDep,
    instrument: Annotated[str | None, Query(max_length=140, description="instrument id|version")] = None,
    scope: Scope = Scope.agency,
    date_from: Annotated[str | None, Query(max_length=20, description="First month, YYYY-MM")] = None,
    date_to: Annotated[str | None, Query(max_length=20, description="Last month, YYYY-MM")] = None,
    window_days: Annotated[str | None, Query(max_length=5)] = None,
    min_follow_up_months: Annotated[str | None, Query(max_length=5)] = None,
    reference_clear: Annotated[str | None, Query(max_length=10, description="percent")] = None,
    reference_possible: Annotated[str | None, Query(max_length=10, description="percent")] = None,
) -> dict[str, Any]:
    """How well one instrument version's results foretold what was later learned, de-identified (null is a
    suppressed figure): each level as a cut-off with 95% Wilson intervals and counts, the share of "not enough
    information", a ROC curve for instruments with a total, rates by half-year beside a reference, and kappa with
    other instruments. Supervisors, evaluators and agency admins get their agency; system admins may ask for the
    deployment.
    """
    values = {
        "instrument": instrument or "",
        "scope": scope.value,
        "date_from": date_from or "",
        "date_to": date_to or "",
        "window_days": window_days or "",
        "min_follow_up_months": min_follow_up_months or "",
        "reference_clear": reference_clear or "",
        "reference_possible": reference_possible or "",
    }
    return report_io.as_json(report_io.figures(db, registry, user, values, "api"))
