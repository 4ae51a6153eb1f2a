"""What the sharing pages and API show: opaque handles for possible matches, consent states, the account lines.

Reads go through the sharing services and `app.access`; nothing here decides access on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.errors import NotFound
from app.i18n import _
from app.models import Agency, Screening, User, utcnow
from app.models_sharing import BreakGlass, Consent
from app.sharing import consent as consents
from app.sharing import ledger, links
from app.sharing.schemas import DisclosurePublic

HANDLE_LENGTH = 32


def handle(keys: KeyRing, user: User, youth_id: str, candidate_id: str) -> str:
    """An opaque handle for a possible match: meaningless outside this agency and this record."""
    return keys.blind_index("candidate", f"{user.agency_id}|{youth_id}|{candidate_id}")[:HANDLE_LENGTH]


def candidate_handles(db: Session, keys: KeyRing, user: User, youth_id: str) -> list[str]:
    """The possible matches of one of the agency's records, best first, as opaque handles only."""
    return [handle(keys, user, youth_id, other.id) for other in links.candidates(db, keys, user, youth_id)]


def candidate_by_handle(db: Session, keys: KeyRing, user: User, youth_id: str, given: str) -> str:
    """The record behind a handle, if it is still a possible match of this record for this user."""
    for other in links.candidates(db, keys, user, youth_id):
        if handle(keys, user, youth_id, other.id) == given:
            return other.id
    raise NotFound(_("No such possible match."))


def agency_names(db: Session) -> dict[str, str]:
    """Agency id -> name."""
    return {a.id: a.name for a in db.exec(select(Agency))}


def recipients(db: Session, user: User) -> list[Agency]:
    """The agencies a release from the user's agency can name."""
    return recipients_among(db.exec(select(Agency)), user)


def recipients_among(agencies: Iterable[Agency], user: User) -> list[Agency]:
    """As `recipients`, from agencies already read: by name, in the same order on every database engine."""
    return sorted((a for a in agencies if a.id != user.agency_id), key=lambda a: (a.name.casefold(), a.name, a.id))


def consent_state(consent: Consent) -> str:
    """active (in force: the rule is `access.is_in_force`), else why not: revoked, superseded, expired or
    scheduled (starts later)."""
    now = utcnow()
    if access.is_in_force(consent, now):
        return "active"
    if consent.revoked_at is not None:
        return "revoked"
    if consent.superseded_at is not None:
        return "superseded"
    if consent.ends_at <= now:
        return "expired"
    return "scheduled"


@dataclass(frozen=True)
class Revocation:
    """When a consent was revoked, by whom, and why: both agencies of the consent see it."""

    at: datetime
    by: str  # the person's name
    by_agency: str
    reason: str | None


def revocation(keys: KeyRing, consent: Consent, names: dict[str, str], users: Mapping[str, User]) -> Revocation | None:
    """The revocation of a consent, for the agencies that gave or received it (None if it is not revoked).
    `users` holds the user who revoked it, by id (see `revokers`)."""
    if consent.revoked_at is None:
        return None
    who = users.get(consent.revoked_by) if consent.revoked_by else None
    agency = names.get(who.agency_id if who else consent.from_agency_id, "")
    reason = consents.revoke_reason(keys, consent)
    return Revocation(consent.revoked_at, who.display_name if who else "", agency, reason)


def revokers(db: Session, found: Iterable[Consent]) -> dict[str, User]:
    """The users who revoked these consents, by id, in one query."""
    ids = sorted({c.revoked_by for c in found if c.revoked_by})
    return {u.id: u for u in db.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}


@dataclass(frozen=True)
class ConsentRow:
    """A consent as the youth page lists it."""

    consent: Consent
    from_agency: str
    to_agency: str
    state: str
    given_here: bool  # the agency that gave it is the one that may revoke or change it
    revoked: Revocation | None = None

    @property
    def changeable(self) -> bool:
        return self.given_here and self.state in ("active", "scheduled")


def consent_rows(
    db: Session, keys: KeyRing, found: list[Consent], user: User, names: dict[str, str]
) -> list[ConsentRow]:
    """Consents the user's agency gave or received, with their agencies' names, their state now and any revocation."""
    users = revokers(db, found)
    return [
        ConsentRow(
            c,
            names.get(c.from_agency_id, ""),
            names.get(c.to_agency_id, ""),
            consent_state(c),
            c.from_agency_id == user.agency_id,
            revocation(keys, c, names, users),
        )
        for c in found
    ]


def account(db: Session, person_id: str, agency_id: str) -> list[DisclosurePublic]:
    """The ledger's entries about a person that concern this agency, oldest first, with agency and user names."""
    entries = ledger.account(db, person_id, agency_id)
    names = agency_names(db)
    viewer_ids = {e.viewer_id for e in entries}
    viewers = {u.id: u for u in db.exec(select(User).where(col(User.id).in_(viewer_ids)))} if viewer_ids else {}
    consent_ids = {e.consent_id for e in entries if e.consent_id}
    grants = {c.id: c for c in db.exec(select(Consent).where(col(Consent.id).in_(consent_ids)))} if consent_ids else {}
    glass_ids = {e.break_glass_id for e in entries if e.break_glass_id}
    glasses = (
        {g.id: g for g in db.exec(select(BreakGlass).where(col(BreakGlass.id).in_(glass_ids)))} if glass_ids else {}
    )
    screening_ids = {e.screening_id for e in entries if e.screening_id}
    seen = {}
    if screening_ids:
        seen = {s.id: s for s in db.exec(select(Screening).where(col(Screening.id).in_(screening_ids)))}
    lines = []
    for entry in entries:
        viewer = viewers.get(entry.viewer_id)
        screening = seen.get(entry.screening_id) if entry.screening_id else None
        grant = grants.get(entry.consent_id) if entry.consent_id else None
        glass = glasses.get(entry.break_glass_id) if entry.break_glass_id else None
        lines.append(
            DisclosurePublic(
                at=entry.at,
                kind=entry.kind,
                viewer_agency=names.get(entry.viewer_agency_id, ""),
                viewer_name=viewer.display_name if viewer else "",
                viewer_role=viewer.role if viewer else "",
                owner_agency=names.get(entry.owner_agency_id, ""),
                categories=list(entry.categories),
                purpose=entry.purpose,
                consent_id=entry.consent_id,
                break_glass_id=entry.break_glass_id,
                revision=entry.revision,
                consent_grantor=grant.grantor if grant else None,
                consent_starts_at=grant.starts_at if grant else None,
                break_glass_at=glass.started_at if glass else None,
                instrument_id=screening.instrument_id if screening else None,
                screening_on=(screening.completed_at or screening.started_at) if screening else None,
            )
        )
    return lines
