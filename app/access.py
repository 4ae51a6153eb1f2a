"""The one access-decision function for youth data. Every page, API route, search and export asks it.

An agency reads its own records. It reads another agency's screenings of the same person only
when its own record is linked to that person and, at this moment, an active consent from that
agency to it covers the category and the purpose, or the user holds an active break-glass.
The decision is made in the database query, never after it; a denied read is "not found".
Nothing here is cached, so a revocation takes effect on the very next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import _
from app.models import Screening, User, Youth, YouthLink, utcnow
from app.models_sharing import BreakGlass, Category, Consent, Purpose

DEFAULT_PURPOSE = Purpose.care_coordination


@dataclass(frozen=True)
class Grant:
    """Why a read of another agency's screening is allowed: a consent or a break-glass."""

    consent_id: str | None
    break_glass_id: str | None


def youth_readable_clause(user: User) -> ColumnElement[bool]:
    """Youth records the user may read: those their agency has linked (its own records)."""
    return exists().where(col(YouthLink.youth_id) == col(Youth.id), col(YouthLink.agency_id) == user.agency_id)


def _consent_clause(user: User, category: Category, purpose: str) -> ColumnElement[bool]:
    return shared_with_clause(user.agency_id, category, purpose)


def _break_glass_clause(user: User) -> ColumnElement[bool]:
    now = utcnow()
    subject = aliased(Youth)
    return (
        select(BreakGlass.id)
        .join(subject, col(subject.person_id) == col(BreakGlass.person_id))
        .where(
            col(subject.id) == col(Screening.youth_id),
            col(BreakGlass.user_id) == user.id,
            col(BreakGlass.expires_at) > now,
            col(BreakGlass.ended_at).is_(None),
        )
        .correlate(Screening)
        .exists()
    )


def _linked_clause(user: User) -> ColumnElement[bool]:
    """The user's agency holds a record of the screening's person."""
    own, subject = aliased(Youth), aliased(Youth)
    return (
        select(YouthLink.id)
        .join(own, col(own.id) == col(YouthLink.youth_id))
        .join(subject, col(subject.person_id) == col(own.person_id))
        .where(col(YouthLink.agency_id) == user.agency_id, col(subject.id) == col(Screening.youth_id))
        .correlate(Screening)
        .exists()
    )


def screening_readable_clause(
    user: User, category: Category = Category.result_summary, purpose: str = DEFAULT_PURPOSE
) -> ColumnElement[bool]:
    """A WHERE clause selecting the screenings `user` may read for that category and purpose, now."""
    shared = and_(_linked_clause(user), or_(_consent_clause(user, category, purpose), _break_glass_clause(user)))
    return or_(col(Screening.agency_id) == user.agency_id, shared)


def shared_with_clause(recipient_agency_id: str, category: Category, purpose: str) -> ColumnElement[bool]:
    """Screenings that a recipient agency may receive, for an export by their owning agency, right now.

    The same rule as a read by the recipient: an active consent from the screening's agency to the
    recipient about the screening's person covering the category and the purpose. (No break-glass:
    break-glass is one supervisor's emergency view, never a bulk export.)
    """
    now = utcnow()
    subject = aliased(Youth)
    return (
        select(Consent.id)
        .join(subject, col(subject.person_id) == col(Consent.person_id))
        .where(
            col(subject.id) == col(Screening.youth_id),
            col(Consent.from_agency_id) == col(Screening.agency_id),
            col(Consent.to_agency_id) == recipient_agency_id,
            getattr(Consent, category.value).is_(True),
            col(Consent.purpose) == purpose,
            col(Consent.starts_at) <= now,
            col(Consent.ends_at) > now,
            col(Consent.revoked_at).is_(None),
            col(Consent.superseded_at).is_(None),
        )
        .correlate(Screening)
        .exists()
    )


def readable_youth(db: Session, user: User, youth_id: str) -> Youth:
    """The youth record, if `user` may read it; otherwise NotFound."""
    youth = db.exec(select(Youth).where(Youth.id == youth_id, youth_readable_clause(user))).first()
    if youth is None:
        raise NotFound(_("No such youth."))
    return youth


def readable_screening(
    db: Session,
    user: User,
    screening_id: str,
    category: Category = Category.result_summary,
    purpose: str = DEFAULT_PURPOSE,
) -> Screening:
    """The screening, if `user` may read that category of it for that purpose now; otherwise NotFound."""
    screening = db.exec(
        select(Screening).where(Screening.id == screening_id, screening_readable_clause(user, category, purpose))
    ).first()
    if screening is None:
        raise NotFound(_("No such screening."))
    return screening


def may_read(db: Session, user: User, screening_id: str, category: Category, purpose: str = DEFAULT_PURPOSE) -> bool:
    """Whether `user` may read that category of the screening for that purpose now (no exception)."""
    try:
        readable_screening(db, user, screening_id, category, purpose)
    except NotFound:
        return False
    return True


def grant_for(db: Session, user: User, screening: Screening, category: Category, purpose: str) -> Grant | None:
    """The consent or break-glass that lets `user` read another agency's screening (None for their own)."""
    if screening.agency_id == user.agency_id:
        return None
    person = db.get(Youth, screening.youth_id)
    now = utcnow()
    consent = db.exec(
        select(Consent.id).where(
            Consent.person_id == (person.person_id if person else ""),
            Consent.from_agency_id == screening.agency_id,
            Consent.to_agency_id == user.agency_id,
            getattr(Consent, category.value).is_(True),
            Consent.purpose == purpose,
            col(Consent.starts_at) <= now,
            col(Consent.ends_at) > now,
            col(Consent.revoked_at).is_(None),
            col(Consent.superseded_at).is_(None),
        )
    ).first()
    if consent is not None:
        return Grant(consent, None)
    glass = db.exec(
        select(BreakGlass.id).where(
            BreakGlass.user_id == user.id,
            BreakGlass.person_id == (person.person_id if person else ""),
            col(BreakGlass.expires_at) > now,
            col(BreakGlass.ended_at).is_(None),
        )
    ).first()
    return Grant(None, glass) if glass is not None else Grant(None, None)


def writable_screening(db: Session, user: User, screening_id: str) -> Screening:
    """A screening `user` may change: only their own agency's, whatever is shared."""
    screening = db.exec(
        select(Screening).where(Screening.id == screening_id, Screening.agency_id == user.agency_id)
    ).first()
    if screening is None:
        raise NotFound(_("No such screening."))
    return screening
