"""Recording what was later learned about a screened youth, and reading it back under the one gate.

Supervisors, evaluators and agency admins record outcomes for their agency's own youth records; anyone at the
agency who may read the record sees them on it. Another agency sees them only as `app.access` says
(a consent in force covering notes), and each such read is written in the disclosure ledger. An
outcome is never edited: a mistaken one is withdrawn with a reason and stays, marked, for the audit.
Nothing for care reads outcomes; the performance report does (`app.evaluation.performance`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Forbidden, InvalidInput, NotFound
from app.evaluation.schemas import OutcomeCreate, OutcomePublic, OutcomeWithdraw
from app.i18n import _
from app.models import Agency, Role, User, utcnow
from app.models_evaluation import Outcome

RECORDERS = (Role.supervisor, Role.evaluator, Role.agency_admin)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC).date()


def may_record(user: User) -> bool:
    """Whether the user's role records and withdraws outcomes."""
    return user.role in RECORDERS


def _require_recorder(user: User) -> None:
    if not may_record(user):
        raise Forbidden(_("Only supervisors, evaluators and agency admins record what was later learned."))


def record(db: Session, keys: KeyRing, user: User, youth_id: str, data: OutcomeCreate) -> Outcome:
    """Record an outcome for one of the agency's youth records (audited; the note encrypted)."""
    _require_recorder(user)
    youth = access.readable_youth(db, user, youth_id)
    today = utcnow().date()
    if data.learned_on > today:
        raise InvalidInput(_("The date it was learned cannot be in the future."), {"field": "learned_on"})
    if data.learned_on < EARLIEST:
        raise InvalidInput(_("Check the date it was learned: it is before 1990."), {"field": "learned_on"})
    outcome = Outcome(
        youth_id=youth.id,
        agency_id=user.agency_id,
        kind=data.kind,
        source=data.source,
        learned_on=data.learned_on,
        follow_up_months=data.follow_up_months,
        recorded_by=user.id,
    )
    if data.note:
        outcome.note_enc = keys.encrypt(data.note, "outcome", "note", outcome.id)
    db.add(outcome)
    db.flush()
    audit.record(
        db, "outcome.record", actor_id=user.id, agency_id=user.agency_id, object_type="outcome", object_id=outcome.id
    )
    return outcome


def own(db: Session, user: User, outcome_id: str) -> Outcome:
    """One of the agency's own outcomes, for a recorder to change; others get 403, other agencies' 404."""
    _require_recorder(user)
    outcome = db.exec(select(Outcome).where(Outcome.id == outcome_id, Outcome.agency_id == user.agency_id)).first()
    if outcome is None:
        audit.denied(db, user, Outcome, outcome_id)
        raise NotFound(_("No such outcome."))
    return outcome


def withdraw(db: Session, keys: KeyRing, user: User, outcome_id: str, data: OutcomeWithdraw) -> Outcome:
    """Withdraw one of the agency's outcomes, with the reason; a withdrawn one is no longer counted."""
    outcome = own(db, user, outcome_id)
    if outcome.withdrawn_at is not None:
        return outcome  # withdrawing twice changes nothing
    outcome.withdrawn_at, outcome.withdrawn_by = utcnow(), user.id
    outcome.withdrawn_reason_enc = keys.encrypt(data.reason, "outcome", "withdrawn_reason", outcome.id)
    db.add(outcome)
    db.flush()
    audit.record(
        db, "outcome.withdraw", actor_id=user.id, agency_id=user.agency_id, object_type="outcome", object_id=outcome.id
    )
    return outcome


def for_youth(db: Session, keys: KeyRing, user: User, youth_id: str) -> list[OutcomePublic]:
    """The outcomes about the youth's person the user may read, newest first (one query; others' in the ledger)."""
    youth = access.readable_youth(db, user, youth_id)
    rows = db.exec(_readable(user), params={"person_id": youth.person_id}).all()
    access.disclose_outcomes(db, user, youth.person_id, {o.agency_id for o, _name, _by in rows})
    return [_public(keys, user, outcome, agency_name, recorder) for outcome, agency_name, recorder in rows]


@access.per_viewer
def _readable(viewer: access.Viewer) -> Select[Outcome, str, str]:
    return (
        select(Outcome, Agency.name, User.display_name)
        .join(Agency, col(Agency.id) == col(Outcome.agency_id))
        .join(User, col(User.id) == col(Outcome.recorded_by))
        .where(access.outcomes_readable_clause(viewer, bindparam("person_id")))
        .order_by(col(Outcome.learned_on).desc(), col(Outcome.recorded_at).desc())
    )


def shown(db: Session, keys: KeyRing, user: User, outcome: Outcome) -> OutcomePublic:
    """One of the agency's own outcomes as the API answers it after recording or withdrawing it."""
    agency, recorder = db.get(Agency, outcome.agency_id), db.get(User, outcome.recorded_by)
    return _public(keys, user, outcome, agency.name if agency else "", recorder.display_name if recorder else "")


def _public(keys: KeyRing, user: User, outcome: Outcome, agency_name: str, recorder: str) -> OutcomePublic:
    own = outcome.agency_id == user.agency_id
    note = keys.decrypt(outcome.note_enc, "outcome", "note", outcome.id) if outcome.note_enc else None
    reason = outcome.withdrawn_reason_enc
    return OutcomePublic(
        id=outcome.id,
        youth_id=outcome.youth_id if own else None,
        agency_id=outcome.agency_id,
        agency_name=agency_name,
        own=own,
        kind=outcome.kind,
        source=outcome.source,
        learned_on=outcome.learned_on,
        follow_up_months=outcome.follow_up_months,
        note=note,
        recorded_at=outcome.recorded_at,
        recorded_by=recorder if own else None,  # another agency's staff stay unnamed
        withdrawn_at=outcome.withdrawn_at,
        withdrawn_reason=keys.decrypt(reason, "outcome", "withdrawn_reason", outcome.id) if reason else None,
    )
