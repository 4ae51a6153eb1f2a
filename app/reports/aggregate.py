"""The aggregate report: completed screenings counted by month, instrument and agency kind.

For a program evaluator or funder (DESIGN §1, §8): counts and shares of clear, possible and no
concern, never an identity. The counting is one SQL GROUP BY in the database (UTC calendar month of
completion, instrument id, the agency's kind), scoped to the user's agency, or to the whole
deployment for system admins. Rows hold no youth, screening, user or agency id or name.

Small-cell suppression (SUPPRESSION_RULE below says the same in words a reader of the CSV gets):

1. Each row's cells partition its total: total = clear + possible + none + insufficient ("not enough
   information"; a completed screening without one of the three levels).
2. A row whose total is from 1 to 10 is suppressed whole: its total, every count and every share.
3. Otherwise each count from 1 to 10 is suppressed (primary suppression). Zero is shown.
4. Complementary suppression: while a row has suppressed counts and either only one of them, or
   suppressed counts that add up to less than 11, the smallest count still shown and not zero is
   suppressed too (ties: in the order clear, possible, none, insufficient). As the total is shown, the
   suppressed counts' sum is known to anyone; with at least two suppressed counts of at least 1
   each summing to 11 or more, none of them can be worked out by subtraction, and the suppressed
   group is itself no small cell. (This always ends: a count of 1 to 10 in a total of 11 or more
   leaves another count that is not zero.)
5. A share is shown only where its count and the total are shown.
6. Every suppressed cell looks the same (null in JSON, "suppressed" in CSV and on the page), so a
   complementary cell cannot be told from a primary one; it is not labelled "<11" because a
   complementary cell may be 11 or more.
7. No margins (totals over months, instruments or kinds) are published: a margin minus the shown
   cells would give the suppressed ones back. Date ranges are whole months, so two reports over
   ranges a day apart cannot be subtracted to reveal one day's screenings.

A form without scoring rules concludes no level, so its screenings are not counted at all: counted,
they would read as "not enough information" (a conclusion they never reached). The report names
such instruments instead (`NOT_COUNTED`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col

from app.errors import Forbidden
from app.i18n import _
from app.models import Agency, Role, Screening, ScreeningStatus, User
from app.typed_sql import select_rows
from instruments.loader import Registry
from instruments.model import NOT_SCORED

THRESHOLD = 11  # counts from 1 to THRESHOLD - 1 are suppressed
CATEGORIES = ("clear", "possible", "none", "insufficient")
LEVEL_OF = {"clear": "clear_concern", "possible": "possible_concern", "none": "no_concern"}
FIELDS = (
    "month",
    "instrument",
    "agency_kind",
    "total",
    *CATEGORIES,
    *(f"share_{c}" for c in CATEGORIES),
)
SUPPRESSION_RULE = _(
    "Counts from 1 to 10 are suppressed; a row whose total is under 11 is suppressed whole; where a row has "
    "suppressed counts, further counts are suppressed until at least two are and they add up to 11 or more, so "
    "none can be recovered from the total; shares are shown only where their count is; zero is shown; no totals "
    "across rows are published."
)
NOT_COUNTED = _(
    "Not counted: instruments without scoring rules. Their screenings conclude no level, so there is nothing of "
    "them to count here; read their answers instead."
)
ROLES = (Role.system_admin, Role.agency_admin, Role.supervisor, Role.evaluator)
MIN_YEAR, MAX_YEAR = 1900, 2999  # months outside these years are typos
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class Scope(StrEnum):
    agency = "agency"
    deployment = "deployment"


@dataclass(frozen=True)
class ReportFilter:
    """What to count: a scope, an optional range of whole months (first days), an optional instrument."""

    scope: Scope = Scope.agency
    month_from: date | None = None
    month_to: date | None = None
    instrument_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The filter as query values (months as YYYY-MM)."""
        return {
            "scope": self.scope.value,
            "date_from": self.month_from.strftime("%Y-%m") if self.month_from else None,
            "date_to": self.month_to.strftime("%Y-%m") if self.month_to else None,
            "instrument_id": self.instrument_id,
        }


@dataclass(frozen=True)
class ReportRow:
    """One published row; None is a suppressed cell."""

    month: str
    instrument: str
    agency_kind: str
    total: int | None
    counts: dict[str, int | None] = field(default_factory=dict)
    shares: dict[str, float | None] = field(default_factory=dict)

    @property
    def suppressed(self) -> list[str]:
        """The names of this row's suppressed cells."""
        return [name for name, value in self.as_dict().items() if value is None]

    def as_dict(self) -> dict[str, Any]:
        """The row with the fields of FIELDS, in that order."""
        return {
            "month": self.month,
            "instrument": self.instrument,
            "agency_kind": self.agency_kind,
            "total": self.total,
            **{c: self.counts[c] for c in CATEGORIES},
            **{f"share_{c}": self.shares[c] for c in CATEGORIES},
        }


def parse_filter(values: Mapping[str, str], instrument_ids: set[str]) -> tuple[ReportFilter, dict[str, str]]:
    """A filter from query values, and a message per invalid field (an invalid field is left out).

    Dates are months, `YYYY-MM`; a full date `YYYY-MM-DD` stands for its whole month.
    """
    errors: dict[str, str] = {}
    scope = Scope.agency
    raw_scope = (values.get("scope") or "").strip()
    if raw_scope:
        try:
            scope = Scope(raw_scope)
        except ValueError:
            errors["scope"] = _("Choose one of the listed values.")
    months: dict[str, date | None] = {"date_from": None, "date_to": None}
    for name in months:
        raw = (values.get(name) or "").strip()
        if not raw:
            continue
        match = _MONTH.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            day = date(int(match[1]), int(match[2]), int(match[3] or 1))
            if not MIN_YEAR <= day.year <= MAX_YEAR:  # a typo, and 9999-12 would have no month after it
                raise ValueError(raw)
        except ValueError:
            errors[name] = _("Enter a month, for example 2026-01.")
            continue
        months[name] = day.replace(day=1)
    if months["date_from"] and months["date_to"] and months["date_from"] > months["date_to"]:
        errors["date_to"] = _("The last month is before the first.")
        months["date_to"] = None
    instrument = (values.get("instrument_id") or "").strip() or None
    if instrument is not None and instrument not in instrument_ids:
        errors["instrument_id"] = _("Choose one of the listed values.")
        instrument = None
    return ReportFilter(scope, months["date_from"], months["date_to"], instrument), errors


def require_reporter(user: User) -> None:
    """Refuse a role that does not report (a screener)."""
    if user.role not in ROLES:
        raise Forbidden(_("Your role does not allow this."))


def authorize(user: User, scope: Scope) -> None:
    """Supervisors and admins report on their agency; only system admins on the whole deployment."""
    require_reporter(user)
    if scope is Scope.deployment and user.role != Role.system_admin:
        raise Forbidden(_("Only system admins may report on the whole deployment."))


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def grouped_counts(db: Session, user: User, report: ReportFilter) -> list[tuple[str, str, str, dict[str, int]]]:
    """(month, instrument, agency kind, counts by category) per non-empty group, counted in the database.

    Counted from stored columns only (the month of completion, the instrument, the overall level), first per
    agency from `ix_screening_report` alone, then summed by the agencies' kinds: a few rows per agency are
    joined, not every screening."""
    month, instrument, level = (
        col(Screening.completed_month),
        col(Screening.instrument_id),
        col(Screening.overall_level),
    )
    agency_id = col(Screening.agency_id)

    def count_of(code: str) -> Any:
        return func.coalesce(func.sum(case((level == code, 1), else_=0)), 0)

    per_agency = (
        select_rows(
            month.label("month"),
            instrument.label("instrument"),
            agency_id.label("agency_id"),
            func.count().label("total"),
            *(count_of(LEVEL_OF[c]).label(c) for c in CATEGORIES[:3]),
        )
        .where(
            col(Screening.status) == ScreeningStatus.completed, month.is_not(None), level.is_distinct_from(NOT_SCORED)
        )
        .group_by(month, instrument, agency_id)
    )
    if report.scope is Scope.agency:
        per_agency = per_agency.where(agency_id == user.agency_id)
    if report.month_from is not None:
        per_agency = per_agency.where(month >= report.month_from)
    if report.month_to is not None:
        per_agency = per_agency.where(month <= report.month_to)
    if report.instrument_id is not None:
        per_agency = per_agency.where(instrument == report.instrument_id)
    groups_of = per_agency.subquery()
    kind = col(Agency.kind)
    statement = (
        select_rows(
            groups_of.c.month,
            groups_of.c.instrument,
            kind,
            func.sum(groups_of.c.total),
            *(func.sum(groups_of.c[c]) for c in CATEGORIES[:3]),
        )
        .join(Agency, col(Agency.id) == groups_of.c.agency_id)
        .group_by(groups_of.c.month, groups_of.c.instrument, kind)
        .order_by(groups_of.c.month, groups_of.c.instrument, kind)
    )
    groups = []
    for first_day, instrument_id, agency_kind, total, clear, possible, none in db.exec(statement).all():
        counts = {"clear": int(clear), "possible": int(possible), "none": int(none)}
        counts["insufficient"] = int(total) - sum(counts.values())  # insufficient_information
        groups.append((f"{first_day.year:04d}-{first_day.month:02d}", instrument_id, agency_kind, counts))
    return groups


def suppress_cells(counts: Mapping[str, int], order: Sequence[str]) -> tuple[int | None, dict[str, int | None]]:
    """The total and the cells of one row of counts that partition it, with rules 2–4 of the module docstring
    applied (None is suppressed); ties broken in `order`. Every de-identified table uses this rule."""
    total = sum(counts[c] for c in order)
    if total < THRESHOLD:
        return None, dict.fromkeys(order)
    hidden = {c for c in order if 1 <= counts[c] < THRESHOLD}
    while hidden and (len(hidden) < 2 or sum(counts[c] for c in hidden) < THRESHOLD):
        shown = [c for c in order if c not in hidden and counts[c] > 0]
        hidden.add(min(shown, key=lambda c: (counts[c], list(order).index(c))))
    return total, {c: None if c in hidden else counts[c] for c in order}


def suppress(month: str, instrument: str, agency_kind: str, counts: Mapping[str, int]) -> ReportRow:
    """One published row from one group's counts, with the rule of the module docstring applied."""
    total, shown_counts = suppress_cells(counts, CATEGORIES)
    if total is None:
        return ReportRow(month, instrument, agency_kind, None, dict.fromkeys(CATEGORIES), dict.fromkeys(CATEGORIES))
    shares = {c: None if shown_counts[c] is None else round(counts[c] / total, 4) for c in CATEGORIES}
    return ReportRow(month, instrument, agency_kind, total, shown_counts, shares)


def report(db: Session, user: User, report_filter: ReportFilter) -> list[ReportRow]:
    """The published rows for a user and a filter (refuses screeners, and others the deployment)."""
    authorize(user, report_filter.scope)
    return [suppress(*group) for group in grouped_counts(db, user, report_filter)]


def unscored_instruments(registry: Registry, report_filter: ReportFilter) -> list[str]:
    """The ids of the loaded instruments (the filter's one, if it names one) without scoring rules: not counted."""
    unscored = sorted({c.id for c in registry.all() if not c.scored})
    return [i for i in unscored if report_filter.instrument_id in (None, i)]


def as_json(rows: list[ReportRow], report_filter: ReportFilter, not_counted: list[str] | None = None) -> dict[str, Any]:
    """The report as a JSON document: the filter, the rule, the rows (null is suppressed), and the instruments
    left out because they have no scoring rules."""
    return {
        "filter": report_filter.as_dict(),
        "threshold": THRESHOLD,
        "suppression": SUPPRESSION_RULE,
        "months": "calendar months of completion, UTC",
        "rows": [row.as_dict() | {"suppressed": row.suppressed} for row in rows],
        "not_counted": {"instruments": not_counted or [], "why": NOT_COUNTED},
    }
