"""Tell once: a youth's consented timeline across agencies, and answers carried forward with their source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.models import Agency, Answer, Screening, ScreeningStatus, User, Youth, utcnow
from app.models_sharing import Category
from app.screenings.service import CORRECTED
from app.sharing.ledger import disclose
from instruments.compiled import CompiledInstrument
from instruments.model import is_informative
from scoring import answer_problem

LOOK_BACK_DAYS = 365


@dataclass(frozen=True)
class TimelineEntry:
    """One screening of the person, at this agency or one that consented to share its summary."""

    screening_id: str
    agency_name: str
    own: bool
    instrument_id: str
    instrument_version: str
    started_at: datetime
    completed_at: datetime | None
    overall_level: str | None


def _person_screenings(db: Session, user: User, person_id: str, category: Category) -> list[Screening]:
    """The person's screenings the user may read, newest first; discarded drafts are left out."""
    return list(
        db.exec(
            select(Screening)
            .join(Youth, col(Youth.id) == col(Screening.youth_id))
            .where(Youth.person_id == person_id, access.screening_readable_clause(user, category))
            .where(col(Screening.status) != ScreeningStatus.discarded)
            .order_by(col(Screening.started_at).desc())
        )
    )


def timeline(db: Session, user: User, youth_id: str) -> list[TimelineEntry]:
    """The person's screenings the user may see as summaries; other agencies' entries are disclosed in the ledger."""
    youth = access.readable_youth(db, user, youth_id)
    entries = []
    for screening in _person_screenings(db, user, youth.person_id, Category.result_summary):
        agency = db.get(Agency, screening.agency_id)
        own = screening.agency_id == user.agency_id
        if not own:
            grant = access.grant_for(db, user, screening, Category.result_summary, access.DEFAULT_PURPOSE)
            disclose(
                db,
                user,
                owner_agency_id=screening.agency_id,
                person_id=youth.person_id,
                kind="view",
                categories=[Category.result_summary.value],
                purpose=access.DEFAULT_PURPOSE,
                grant=grant,
                screening_id=screening.id,
            )
        entries.append(
            TimelineEntry(
                screening.id,
                agency.name if agency else "",
                own,
                screening.instrument_id,
                screening.instrument_version,
                screening.started_at,
                screening.completed_at,
                screening.overall_level if screening.status == ScreeningStatus.completed else None,
            )
        )
    return entries


def carry_forward(db: Session, keys: KeyRing, user: User, screening: Screening, instrument: CompiledInstrument) -> int:
    """Prefill a new screening with answers the person already gave, where sharing allows; returns how many.

    An answer carries when an earlier completed screening of the same person (this agency's, or another's
    under a consent covering item answers), within the look-back period, answered an item with the same id
    informatively, and that answer is valid for the new instrument. Newest answers win. Each carried answer
    records the screening it came from; it can be confirmed or changed like any other.
    """
    youth = db.get(Youth, screening.youth_id)
    if youth is None:
        return 0
    since = utcnow() - timedelta(days=LOOK_BACK_DAYS)
    earlier = [
        s
        for s in _person_screenings(db, user, youth.person_id, Category.item_answers)
        if s.id != screening.id and s.status == ScreeningStatus.completed and s.started_at >= since
    ]
    carried: dict[str, tuple[Any, Screening]] = {}
    for source in earlier:  # newest first
        for row in db.exec(select(Answer).where(Answer.screening_id == source.id)):
            if row.item_id in carried or row.item_id not in instrument.items or row.source == CORRECTED:
                continue  # a staff correction is not the youth's own words: it never carries
            value = keys.decrypt_json(row.value_enc, "answer", "value", f"{source.id}:{row.item_id}")
            if not is_informative(value):
                continue
            if answer_problem(instrument, row.item_id, value) is None:
                origin = _origin(db, row.carried_from) if row.carried_from else None
                carried[row.item_id] = (value, origin or source)
    by_source: dict[str, list[str]] = {}
    for item_id, (value, source) in carried.items():
        db.add(
            Answer(
                screening_id=screening.id,
                item_id=item_id,
                source="carried",
                carried_from=source.id,
                value_enc=keys.encrypt_json(value, "answer", "value", f"{screening.id}:{item_id}"),
            )
        )
        by_source.setdefault(source.id, []).append(item_id)
    for source_id in by_source:
        source = db.get(Screening, source_id)
        if source is not None and source.agency_id != user.agency_id:
            grant = access.grant_for(db, user, source, Category.item_answers, access.DEFAULT_PURPOSE)
            disclose(
                db,
                user,
                owner_agency_id=source.agency_id,
                person_id=youth.person_id,
                kind="carry_forward",
                categories=[Category.item_answers.value],
                purpose=access.DEFAULT_PURPOSE,
                grant=grant,
                screening_id=source.id,
            )
    db.flush()
    return len(carried)


def _origin(db: Session, screening_id: str) -> Screening | None:
    """Where a carried answer was first given, so provenance survives being carried twice."""
    return db.get(Screening, screening_id)


def provenance(db: Session, screening: Screening) -> dict[str, tuple[str, datetime]]:
    """For each carried answer of a screening: (agency name, date) of where it was given."""
    rows = db.exec(select(Answer).where(Answer.screening_id == screening.id, Answer.source == "carried")).all()
    out: dict[str, tuple[str, datetime]] = {}
    for row in rows:
        source = db.get(Screening, row.carried_from) if row.carried_from else None
        agency = db.get(Agency, source.agency_id) if source else None
        if source is not None and agency is not None:
            out[row.item_id] = (agency.name, source.completed_at or source.started_at)
    return out
