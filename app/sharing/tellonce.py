"""Tell once: a youth's consented timeline across agencies, and what the youth already said, carried forward.

What carries into a new screening is only what the youth said (self-report or interview answers), given
at another agency that consents now to share its answers with this one, within the look-back the
instrument allows for that question (present-state questions never carry). Each carried answer names
where and when it was given and counts only once the youth (or staff, in a staff-administered mode)
confirms it is still true. Staff ratings from elsewhere are context for staff, never prefilled.
A repeat screening at the same agency asks again: the point is to see change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app import access
from app.crypto import KeyRing
from app.models import Agency, Answer, Screening, ScreeningStatus, User, Youth, utcnow
from app.models_sharing import Category, Consent
from app.screenings import service
from app.sharing.schemas import TimelineEntryPublic
from instruments.compiled import CompiledInstrument
from instruments.model import is_informative
from scoring import answer_problem

# The modes whose answers are the youth's own words ("practitioner" answers are staff's judgement).
YOUTH_MODES = frozenset(mode for mode, given_by in service.GIVEN_BY.items() if given_by != "staff")


@dataclass(frozen=True)
class Told:
    """Where a carried answer was given: the program (None: this one), when, and whether it was confirmed."""

    agency: str | None
    at: datetime
    confirmed: bool


@dataclass(frozen=True)
class Context:
    """An earlier answer shown to staff beside a question, never filled in: this agency's own earlier
    answer (a repeat screening asks again), or another agency's staff rating under its consent."""

    agency: str
    own: bool
    by_staff: bool
    at: datetime
    value: Any


def _person_of(db: Session, screening: Screening) -> str | None:
    youth = db.get(Youth, screening.youth_id)
    return youth.person_id if youth else None


def timeline(db: Session, user: User, youth_id: str) -> list[TimelineEntryPublic]:
    """The person's screenings the user may see as summaries; other agencies' entries are disclosed in the ledger.

    Another agency's screening is listed once it is completed: a draft has no result to share, and listing it
    would tell a partner that the youth is being screened elsewhere right now."""
    youth = access.readable_youth(db, user, youth_id)
    summary = Category.result_summary
    # The person's screenings are few: the statement starts from their youth records and nothing else, and which
    # are listed, and their order, is decided here. An OR in the statement ("this agency's, or any completed
    # one") made SQLite read every completed screening anywhere, and an ORDER BY made it walk every screening in
    # time order: either way a scan that grew with the deployment, not with the person.
    found = db.exec(_timeline(user), params={"person_id": youth.person_id}).all()
    rows = sorted(
        ((s, name) for s, name in found if s.agency_id == user.agency_id or s.status == ScreeningStatus.completed),
        key=lambda row: (row[0].started_at, row[0].id),
        reverse=True,
    )
    access.disclose_listed(db, user, youth.person_id, [s for s, _name in rows], summary)
    return [
        TimelineEntryPublic(
            screening_id=s.id,
            agency_name=name,
            own=s.agency_id == user.agency_id,
            instrument_id=s.instrument_id,
            instrument_version=s.instrument_version,
            started_at=s.started_at,
            completed_at=s.completed_at,
            overall_level=s.overall_level if s.status == ScreeningStatus.completed else None,
        )
        for s, name in rows
    ]


@access.per_viewer
def _timeline(viewer: access.Viewer) -> Select[Screening, str]:
    records = select(Youth.id).where(col(Youth.person_id) == bindparam("person_id")).correlate(None)
    return (
        select(Screening, Agency.name)
        .join(Agency, col(Agency.id) == col(Screening.agency_id))
        .where(col(Screening.youth_id).in_(records), access.screening_readable_clause(viewer, Category.result_summary))
        .where(col(Screening.status) != ScreeningStatus.discarded)
    )


def _originals(
    db: Session, keys: KeyRing, person_id: str, agencies: set[str], items: set[str]
) -> list[tuple[Screening, Answer, Any]]:
    """Answers as first given (not carried, not corrected) in completed screenings of the person at these
    agencies, newest screening first, decrypted."""
    if not agencies or not items:
        return []
    rows = db.exec(
        select(Screening, Answer)
        .join(Answer, col(Answer.screening_id) == col(Screening.id))
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .where(Youth.person_id == person_id, col(Screening.agency_id).in_(agencies))
        .where(Screening.status == ScreeningStatus.completed, Answer.source == "given")
        .where(col(Answer.item_id).in_(items))
        .order_by(col(Screening.completed_at).desc())
    ).all()
    return [(s, a, keys.decrypt_json(a.value_enc, "answer", "value", f"{s.id}:{a.item_id}")) for s, a in rows]


def carry_forward(db: Session, keys: KeyRing, user: User, screening: Screening, instrument: CompiledInstrument) -> int:
    """Prefill a new screening with what the youth already told other agencies, where sharing allows; returns how
    many. Carried answers are unconfirmed: shown, never scored, until kept (see the module's rules)."""
    person_id = _person_of(db, screening)
    if person_id is None:
        return 0
    shared = access.answers_shared_by(db, user.agency_id, person_id)
    shared.pop(user.agency_id, None)  # a repeat screening here asks again
    now = utcnow()
    askable = {i for i, item in instrument.items.items() if item.type not in ("notice", "indicator_rating")}
    carried: dict[str, Screening] = {}
    for source, row, value in _originals(db, keys, person_id, set(shared), askable):
        days = instrument.carry_days(row.item_id)
        if row.item_id in carried or source.mode not in YOUTH_MODES or days is None:
            continue
        if not is_informative(value) or (source.completed_at or now) < now - timedelta(days=days):
            continue
        if answer_problem(instrument, row.item_id, value) is None:
            carried[row.item_id] = source
            db.add(
                Answer(
                    screening_id=screening.id,
                    item_id=row.item_id,
                    source=service.CARRIED,
                    carried_from=source.id,
                    value_enc=keys.encrypt_json(value, "answer", "value", f"{screening.id}:{row.item_id}"),
                )
            )
    sources = {s.id: s for s in carried.values()}.values()
    access.disclose_listed(db, user, person_id, sources, Category.item_answers, kind="carry_forward", grants=shared)
    db.flush()
    return len(carried)


def context(
    db: Session, keys: KeyRing, user: User, screening: Screening, instrument: CompiledInstrument
) -> dict[str, Context]:
    """For staff: the newest earlier answer to each question that was not carried into this screening —
    this agency's own (a repeat screening asks again), or another agency's staff rating under its consent
    (a view of it, in the ledger). Never filled in, never counted."""
    person_id = _person_of(db, screening)
    if person_id is None:
        return {}
    shared = access.answers_shared_by(db, user.agency_id, person_id)
    agencies = {user.agency_id, *shared}
    present = set(db.exec(select(Answer.item_id).where(Answer.screening_id == screening.id)).all())
    names = dict(db.exec(select(Agency.id, Agency.name).where(col(Agency.id).in_(agencies))).all())
    found: dict[str, Context] = {}
    shown: dict[str, Screening] = {}
    for source, row, value in _originals(db, keys, person_id, agencies, set(instrument.items) - present):
        own = source.agency_id == user.agency_id
        by_staff = source.mode not in YOUTH_MODES
        if source.id == screening.id or row.item_id in found or not (own or by_staff):
            continue  # another agency's youth answers carry instead, on their own terms
        at = source.completed_at or source.started_at
        found[row.item_id] = Context(names.get(source.agency_id, ""), own, by_staff, at, value)
        if not own:
            shown[source.id] = source
    access.disclose_listed(db, user, person_id, shown.values(), Category.item_answers, grants=shared)
    return found


def told(db: Session, user_agency_id: str, screening: Screening) -> dict[str, Told]:
    """For each carried answer of a screening: the program where it was given (None when it is the screening's
    own program), when, and whether it was confirmed."""
    origin = aliased(Screening)
    rows = db.exec(
        select(Answer, origin, Agency.name)
        .join(origin, col(origin.id) == col(Answer.carried_from))
        .join(Agency, col(Agency.id) == col(origin.agency_id))
        .where(Answer.screening_id == screening.id, Answer.source == service.CARRIED)
    ).all()
    return {
        a.item_id: Told(
            None if o.agency_id == user_agency_id else name, o.completed_at or o.started_at, a.confirmed_at is not None
        )
        for a, o, name in rows
    }


def withdraw(db: Session, consent: Consent) -> int:
    """After a consent is revoked: drop unconfirmed carried answers from the recipient's open drafts of the
    person, unless another consent from the same agency still covers them; returns how many."""
    drafts = db.exec(
        select(Screening)
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .where(Youth.person_id == consent.person_id, Screening.agency_id == consent.to_agency_id)
        .where(Screening.status == ScreeningStatus.in_progress)
    ).all()
    return sum(service.prune_carried(db, draft) for draft in drafts)
