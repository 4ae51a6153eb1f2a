"""Follow-up due dates: when a result's next steps say to screen again, and which youth are due.

A completed screening stores `rescreen_due_on`: its completion day plus the soonest `screen_again` among
the next steps of its overall level (see `CompiledInstrument.rescreen`), or none. The date stands while
that screening is the youth's latest completed one at the agency and no screening of the youth was started
there after it was completed: starting one (whatever the instrument) is the re-screen. A discarded draft
is not: nobody screened the youth. Only the agency's own screenings count, in both directions: another
program's screening neither sets a date here nor settles one.

Dates are UTC calendar days, like every time the staff pages show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, String, and_, bindparam, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.crypto import KeyRing
from app.models import Screening, ScreeningStatus, User, Youth, YouthLink, utcnow
from app.records import service as records
from app.records.schemas import YouthPublic
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry

DUE_SOON_DAYS = 7
"""The dashboard lists youth due within this many days, and every youth overdue."""
DUE_LIST_LIMIT = 100
"""The most youth the dashboard lists as due; past it, the list says there are more."""


def set_due(screening: Screening, instrument: CompiledInstrument) -> None:
    """Store when to screen again, from the screening's completion day and overall level (or none)."""
    level, completed = screening.overall_level, screening.completed_at
    rescreen = instrument.rescreen(level) if level and completed else None
    if rescreen is None or completed is None:
        screening.rescreen_due_on, screening.rescreen_instrument_id = None, None
        return
    screening.rescreen_due_on = completed.date() + timedelta(days=rescreen.days)
    screening.rescreen_instrument_id = rescreen.instrument_id


@dataclass(frozen=True)
class Due:
    """A youth to screen again: by when, with which instrument, and the screening that asked for it."""

    youth_id: str
    screening_id: str
    due_on: date
    overdue: bool
    instrument_id: str
    instrument_title: Mapping[str, str] | None  # the instrument's title in each language; None if not loaded
    youth: YouthPublic | None = None  # on the dashboard: the record as the agency sees it, decrypted


@dataclass(frozen=True)
class DueList:
    """The agency's youth due soon or overdue, oldest due first; `more` when the list was cut short."""

    due: list[Due]
    more: bool


@lru_cache(maxsize=1)  # the same for everyone: built once, reused by every request
def _still_due() -> ColumnElement[bool]:
    """The outer query's screening is its youth's latest completed one at its agency, and no screening of the
    youth was started there after it was completed (a discarded draft does not count)."""
    later = aliased(Screening, name="later_screening")
    superseded = (
        select(col(later.id))
        .where(
            col(later.youth_id) == col(Screening.youth_id),
            col(later.agency_id) == col(Screening.agency_id),
            col(later.id) != col(Screening.id),
            col(later.status) != ScreeningStatus.discarded,
            or_(
                col(later.started_at) > col(Screening.completed_at),
                col(later.completed_at) > col(Screening.completed_at),
                and_(col(later.completed_at) == col(Screening.completed_at), col(later.id) > col(Screening.id)),
            ),
        )
        .correlate(Screening)
        .exists()
    )
    return and_(
        col(Screening.status) == ScreeningStatus.completed,
        col(Screening.rescreen_due_on).is_not(None),
        ~superseded,
    )


def _due(registry: Registry, screening: Screening, today: date, youth: YouthPublic | None = None) -> Due:
    assert screening.rescreen_due_on is not None  # noqa: S101 (the query selects only these)
    instrument_id = screening.rescreen_instrument_id or screening.instrument_id
    compiled = registry.get(instrument_id)
    return Due(
        youth_id=screening.youth_id,
        screening_id=screening.id,
        due_on=screening.rescreen_due_on,
        overdue=screening.rescreen_due_on < today,
        instrument_id=instrument_id,
        instrument_title=compiled.definition.title if compiled else None,
        youth=youth,
    )


def due_for_youth(db: Session, registry: Registry, user: User, youth_id: str, today: date | None = None) -> Due | None:
    """When the user's agency should screen this youth again, if its latest screening of them says so."""
    today = today or utcnow().date()
    of = {"youth_id": youth_id, "agency_id": user.agency_id}
    screening = db.exec(_latest_due(), params=of).first()
    return _due(registry, screening, today) if screening is not None else None


@lru_cache(maxsize=1)
def _latest_due() -> SelectOfScalar[Screening]:
    """A youth's screening at an agency that is still due for a repeat (built once: the values are parameters)."""
    return select(Screening).where(
        col(Screening.youth_id) == bindparam("youth_id"),
        col(Screening.agency_id) == bindparam("agency_id"),
        _still_due(),
    )


# The agency's own link of each youth listed: its case number, and proof the record is the agency's.
_LINK = aliased(YouthLink, name="own_link")


@lru_cache(maxsize=1)
def _due_rows() -> Any:
    """`due_list`'s statement, built once (every dashboard view runs it): the agency, the last due date shown and
    how many rows are its parameters."""
    agency = bindparam("agency_id", type_=String())
    return (
        select(Screening, Youth, _LINK)
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .join(_LINK, and_(col(_LINK.youth_id) == col(Youth.id), col(_LINK.agency_id) == agency))
        .where(
            col(Screening.agency_id) == agency,
            col(Screening.rescreen_due_on) <= bindparam("due_by", type_=Date()),
            _still_due(),
        )
        .order_by(col(Screening.rescreen_due_on), col(Screening.completed_at), col(Screening.id))
        .limit(bindparam("rows", type_=Integer()))
    )


def due_list(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    today: date | None = None,
    limit: int = DUE_LIST_LIMIT,
) -> DueList:
    """The agency's youth due within DUE_SOON_DAYS or overdue, oldest due first, with their records decrypted.

    One query, whatever the number of youth: the due screenings with their youth and the agency's link."""
    today = today or utcnow().date()
    by = {"agency_id": user.agency_id, "due_by": today + timedelta(days=DUE_SOON_DAYS), "rows": limit + 1}
    rows = db.exec(_due_rows(), params=by).all()
    due: dict[str, Due] = {}
    for screening, youth, link in rows:
        if screening.youth_id not in due:  # one line per youth, even were a record linked twice
            due[screening.youth_id] = _due(registry, screening, today, records.public_of(keys, youth, link))
    listed = list(due.values())
    return DueList(due=listed[:limit], more=len(listed) > limit)
