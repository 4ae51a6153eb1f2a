"""Consent (release of information): record, supersede, revoke, and list. The access function reads it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.models import Agency, User, Youth, utcnow
from app.models_sharing import Category, Consent
from app.sharing import tellonce
from app.sharing.schemas import ConsentCreate, ConsentPublic

MAX_CONSENT_DAYS = 365  # agency policy may shorten it; the end date is always required
MAX_REVOKE_REASON = 1000  # characters: a few sentences, shown to both agencies of the consent


def public(keys: KeyRing, consent: Consent) -> ConsentPublic:
    """A consent for the API (its two agencies see why it was revoked)."""
    return ConsentPublic.model_validate(consent).model_copy(
        update={
            "categories": consent.categories,
            "active": access.is_in_force(consent),
            "revoke_reason": revoke_reason(keys, consent),
        }
    )


def record(db: Session, user: User, data: ConsentCreate, supersedes: Consent | None = None) -> Consent:
    """Record a release from the user's agency about one of its youth to another agency."""
    youth = access.readable_youth(db, user, data.youth_id)
    recipient = db.get(Agency, data.to_agency_id)
    if recipient is None or recipient.id == user.agency_id:
        raise InvalidInput(_("Choose another agency to share with."), {"field": "to_agency_id"})
    starts = data.starts_at or utcnow()
    ends = data.ends_at if data.ends_at.tzinfo else data.ends_at.replace(tzinfo=starts.tzinfo)
    if ends <= utcnow():
        raise InvalidInput(_("The end date must be in the future."), {"field": "ends_at"})
    if ends - starts > timedelta(days=MAX_CONSENT_DAYS):
        raise InvalidInput(
            _("A consent may last at most %(days)d days.") % {"days": MAX_CONSENT_DAYS}, {"field": "ends_at"}
        )
    shared: dict[str, Any] = {c.value: c in data.categories for c in Category}  # one bool column per category
    consent = Consent(
        person_id=youth.person_id,
        from_agency_id=user.agency_id,
        to_agency_id=recipient.id,
        grantor=data.grantor,
        authority=data.authority,
        purpose=data.purpose,
        starts_at=starts,
        ends_at=ends,
        method=data.method,
        recorded_by=user.id,
        supersedes=supersedes.id if supersedes else None,
        **shared,
    )
    db.add(consent)
    db.flush()
    audit.record(
        db,
        "consent.record",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="consent",
        object_id=consent.id,
        detail={
            "to_agency": recipient.id,
            "categories": consent.categories,
            "purpose": consent.purpose,
            "supersedes": consent.supersedes,
        },
    )
    return consent


def owned(db: Session, user: User, consent_id: str) -> Consent:
    """A consent the user's agency recorded (only the disclosing agency changes it)."""
    consent = db.get(Consent, consent_id)
    if consent is None or consent.from_agency_id != user.agency_id:
        raise NotFound(_("No such consent."))
    return consent


def supersede(db: Session, user: User, consent_id: str, data: ConsentCreate) -> Consent:
    """Change a consent: a new one replaces it; the old one is kept, marked superseded."""
    old = owned(db, user, consent_id)
    if old.revoked_at is not None or old.superseded_at is not None:
        raise Conflict(_("This consent is no longer in force; record a new one instead."))
    if access.readable_youth(db, user, data.youth_id).person_id != old.person_id:
        raise InvalidInput(_("A change of a consent must be about the same youth."), {"field": "youth_id"})
    old.superseded_at = utcnow()
    db.add(old)
    return record(db, user, data, supersedes=old)


def revoke(db: Session, keys: KeyRing, user: User, consent_id: str, reason: str) -> Consent:
    """Revoke a consent, saying why: it stops covering anything on the very next request.

    The reason is required and kept encrypted; both agencies of the consent see it. Revoking a consent
    already revoked changes nothing (the first reason stays).
    """
    consent = owned(db, user, consent_id)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REVOKE_REASON:
        raise InvalidInput(
            _("Give the reason the consent is revoked (required, at most %(max)d characters).")
            % {"max": MAX_REVOKE_REASON},
            {"field": "reason", "max_length": MAX_REVOKE_REASON},
        )
    if consent.revoked_at is None:
        consent.revoked_at, consent.revoked_by = utcnow(), user.id
        consent.revoke_reason_enc = keys.encrypt(reason, "consent", "revoke_reason", consent.id)
        db.add(consent)
        db.flush()
        tellonce.withdraw(db, consent)  # carried answers nobody confirmed leave the recipient's open drafts
        from app.referrals.service import consent_revoked  # referrals build on consents

        consent_revoked(db, consent)  # the referrals resting on it are cancelled
        audit.record(
            db,
            "consent.revoke",
            actor_id=user.id,
            agency_id=user.agency_id,
            object_type="consent",
            object_id=consent.id,
        )
    return consent


def revoke_reason(keys: KeyRing, consent: Consent) -> str | None:
    """Why a consent was revoked, as the person who revoked it wrote it (None if not revoked or not told)."""
    if consent.revoke_reason_enc is None:
        return None
    return keys.decrypt(consent.revoke_reason_enc, "consent", "revoke_reason", consent.id)


def for_youth(db: Session, user: User, youth_id: str) -> list[Consent]:
    """Consents about this youth's person that the user's agency gave or received, newest first."""
    youth = access.readable_youth(db, user, youth_id)
    return list(
        db.exec(
            select(Consent)
            .where(Consent.person_id == youth.person_id)
            .where((col(Consent.from_agency_id) == user.agency_id) | (col(Consent.to_agency_id) == user.agency_id))
            .order_by(col(Consent.recorded_at).desc())
        )
    )


def between(db: Session, person_id: str, from_agency_id: str, to_agency_id: str) -> list[Consent]:
    """Every consent from one agency to another about a person, in any state, newest first."""
    return list(
        db.exec(
            select(Consent)
            .where(
                Consent.person_id == person_id,
                Consent.from_agency_id == from_agency_id,
                Consent.to_agency_id == to_agency_id,
            )
            .order_by(col(Consent.recorded_at).desc())
        )
    )


def person_of(db: Session, youth_id: str) -> str:
    """The person a record belongs to."""
    youth = db.get(Youth, youth_id)
    if youth is None:
        raise NotFound(_("No such youth."))
    return youth.person_id
