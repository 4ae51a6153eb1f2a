"""The aggregate report's one flow, for the API and the pages: who may ask, which filters, what is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from app import audit
from app.errors import InvalidInput
from app.i18n import _
from app.models import User
from app.reports import aggregate
from app.reports.aggregate import ReportFilter, ReportRow
from instruments.loader import Registry


@dataclass(frozen=True)
class Report:
    """A report as asked for: its filter, its published rows, the invalid filters (left out of the filter),
    and the instruments not counted because they have no scoring rules."""

    filter: ReportFilter
    rows: list[ReportRow]
    errors: dict[str, str]
    not_counted: list[str]


def run(
    db: Session, user: User, registry: Registry, values: Mapping[str, str], fmt: str, *, strict: bool = True
) -> Report:
    """Refuse a role that does not report (before anything is parsed or counted), read the filters, count, and
    write the audit event. `strict`: invalid filters are refused (InvalidInput); otherwise the report of the
    valid ones is returned with the errors, for a page to show beside its form."""
    aggregate.require_reporter(user)
    report_filter, errors = aggregate.parse_filter(values, {c.id for c in registry.latest()})
    if errors and strict:
        raise InvalidInput(_("Some filters are not valid."), errors)
    rows = aggregate.report(db, user, report_filter)
    detail = {k: v for k, v in report_filter.as_dict().items() if v} | {"format": fmt, "rows": len(rows)}
    audit.record(db, "report.aggregate", actor_id=user.id, agency_id=user.agency_id, detail=detail)
    return Report(report_filter, rows, errors, aggregate.unscored_instruments(registry, report_filter))
