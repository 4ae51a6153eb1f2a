"""API: the de-identified aggregate report as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import audit
from app.db import SessionDep
from app.deps import ApiUserDep, RegistryDep, require_role
from app.errors import InvalidInput
from app.reports import aggregate
from app.reports.aggregate import Scope

router = APIRouter()


@router.get("/reports/aggregate", tags=["reports"])
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
    require_role(user, *aggregate.ROLES)
    values = {"scope": scope.value, "date_from": date_from or "", "date_to": date_to or ""}
    values["instrument_id"] = instrument_id or ""
    report_filter, errors = aggregate.parse_filter(values, {c.id for c in registry.latest()})
    if errors:
        raise InvalidInput("Some filters are not valid.", errors)
    rows = aggregate.report(db, user, report_filter)
    detail = {k: v for k, v in report_filter.as_dict().items() if v} | {"format": "api", "rows": len(rows)}
    audit.record(db, "report.aggregate", actor_id=user.id, agency_id=user.agency_id, detail=detail)
    return aggregate.as_json(rows, report_filter, aggregate.unscored_instruments(registry, report_filter))
