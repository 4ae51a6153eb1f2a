"""API: the de-identified aggregate report as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.db import SessionDep
from app.deps import ApiUserDep, RegistryDep
from app.errors import InvalidInput, responses
from app.reports import aggregate, service
from app.reports.aggregate import Scope

router = APIRouter()


@router.get("/reports/aggregate", tags=["reports"], responses=responses(InvalidInput))
def aggregate_report(
    db: SessionDep,
    registry: RegistryDep,
    user: ApiUserDep,
    scope: Scope = Scope.agency,
    date_from: Annotated[str | None, Query(max_length=20, description="First month, YYYY-MM")] = None,
    date_to: Annotated[str | None, Query(max_length=20, description="Last month, YYYY-MM")] = None,
    instrument_id: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Completed screenings by month, instrument and agency kind, with small cells suppressed (null).

    Supervisors and agency admins get their agency; system admins may ask for `scope=deployment`.
    """
    values = {"scope": scope.value, "date_from": date_from or "", "date_to": date_to or ""}
    report = service.run(db, user, registry, values | {"instrument_id": instrument_id or ""}, "api")
    return aggregate.as_json(report.rows, report.filter, report.not_counted)
