"""The disclosure ledger: every cross-agency view and export, and the account a youth can be given."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.access import Grant
from app.models import User
from app.models_sharing import Disclosure


def disclose(
    db: Session,
    viewer: User,
    *,
    owner_agency_id: str,
    person_id: str,
    kind: str,
    categories: list[str],
    purpose: str,
    grant: Grant | None,
    screening_id: str | None = None,
) -> Disclosure | None:
    """Record that `viewer` saw another agency's data (nothing is recorded for the agency's own)."""
    if owner_agency_id == viewer.agency_id:
        return None
    entry = Disclosure(
        person_id=person_id,
        viewer_id=viewer.id,
        viewer_agency_id=viewer.agency_id,
        owner_agency_id=owner_agency_id,
        screening_id=screening_id,
        kind=kind,
        categories=categories,
        purpose=purpose,
        consent_id=grant.consent_id if grant else None,
        break_glass_id=grant.break_glass_id if grant else None,
    )
    db.add(entry)
    db.flush()
    return entry


def account(db: Session, person_id: str) -> list[Disclosure]:
    """Who has seen this person's records, oldest first: the basis of an accounting of disclosures."""
    return list(db.exec(select(Disclosure).where(Disclosure.person_id == person_id).order_by(col(Disclosure.at))))
