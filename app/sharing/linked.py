"""Linked records as each side sees them, and a plain word when a program stopped sharing.

Each side of a link learns the other program's name, when the records were linked and under which
consent (or break-glass). What it learns stays within what its agency already knows:
- a victim-service provider is named only to an agency it has given a consent about the person
  (in any state: that agency has seen its name in the consent); otherwise it is left out;
- another program's case number shows only while a consent from that program to the viewer's
  agency covers result summaries; an agency always sees its own.
Nothing here grants a read of a screening: that is `app.access`'s alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.models import Agency, AgencyKind, Screening, User, Youth, YouthLink
from app.models_sharing import Category, Consent, RecordLink
from app.sharing import consent as consents
from app.sharing import links, views


@dataclass(frozen=True)
class Program:
    """The other side of a link, as far as the viewer's agency may know it."""

    name: str
    case_numbers: list[str]  # empty unless a consent in force from that program covers result summaries


@dataclass(frozen=True)
class LinkView:
    """One link of a record, from the side of the viewer's agency."""

    link: RecordLink
    made_here: bool  # this agency linked its record (and may undo the link)
    programs: list[Program]  # the other side; empty when it may not be named
    consent: views.ConsentRow | None  # the consent it was linked under, with its state and any revocation
    break_glass: bool
    # The purposes for which the consent's giver shares with its recipient now, under this consent or another
    # (empty: nothing is shared now, whatever the link's own consent says); None for a link without a consent.
    shared_now: list[str] | None = None


@dataclass(frozen=True)
class EndedShare:
    """A program that shared with the viewer's agency and stopped: its last consent was revoked or expired."""

    program: str
    state: str  # "revoked" or "expired"
    on: date


def link_views(db: Session, keys: KeyRing, user: User, youth_id: str) -> list[LinkView]:
    """The links of this agency's record: those it made, and those another agency made to it, newest first."""
    youth = access.readable_youth(db, user, youth_id)
    names = views.agency_names(db)
    kinds = {a.id: a.kind for a in db.exec(select(Agency))}
    seen: list[LinkView] = []
    for link in links.links_of(db, user, youth.id):
        consent = db.get(Consent, link.consent_id) if link.consent_id else None
        members = _members(db, link.person_id, link.created_at)
        others = sorted({held.agency_id for held in members if held.agency_id != user.agency_id})
        partners = [consent.from_agency_id] if consent is not None else others
        programs = [
            _program(
                db, keys, user, link.person_id, agency, [m for m in members if m.agency_id == agency], names, kinds
            )
            for agency in partners
        ]
        seen.append(_view(db, keys, user, link, True, programs, consent, names))
    for link in db.exec(
        select(RecordLink).where(RecordLink.person_id == youth.person_id, RecordLink.youth_id != youth.id)
    ):
        linker = db.get(User, link.linked_by)
        if linker is None or linker.agency_id == user.agency_id:
            continue
        consent = db.get(Consent, link.consent_id) if link.consent_id else None
        if consent is not None:
            partner = consent.from_agency_id == user.agency_id
        else:
            partner = any(m.agency_id == user.agency_id for m in _members(db, link.person_id, link.created_at))
        if not partner:
            continue  # a link to another agency's record of the person: not this agency's business
        records = list(
            db.exec(
                select(YouthLink).where(YouthLink.youth_id == link.youth_id, YouthLink.agency_id == linker.agency_id)
            )
        )
        program = _program(db, keys, user, link.person_id, linker.agency_id, records, names, kinds)
        if program is None:
            continue  # even "another program linked a record" would tell that a victim-service provider serves them
        seen.append(_view(db, keys, user, link, False, [program], consent, names))
    return sorted(seen, key=lambda v: v.link.created_at, reverse=True)


def _view(
    db: Session,
    keys: KeyRing,
    user: User,
    link: RecordLink,
    made_here: bool,
    programs: list[Program | None],
    consent: Consent | None,
    names: dict[str, str],
) -> LinkView:
    row = views.consent_rows(db, keys, [consent], user, names)[0] if consent is not None else None
    named = [p for p in programs if p is not None]
    shared_now = None
    if consent is not None:
        now = access.consents_in_force(db, link.person_id, consent.to_agency_id, [consent.from_agency_id])
        shared_now = sorted({c.purpose for c in now})
    return LinkView(link, made_here, named, row, link.break_glass_id is not None, shared_now)


def _members(db: Session, person_id: str, when: datetime) -> list[YouthLink]:
    """The agency records that were part of the person at `when` (and still are)."""
    held = db.exec(
        select(Youth, YouthLink)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(Youth.person_id == person_id)
    ).all()
    joined = {
        r.youth_id: r.created_at
        for r in db.exec(
            select(RecordLink).where(RecordLink.person_id == person_id, col(RecordLink.undone_at).is_(None))
        )
    }
    return [record for youth, record in held if joined.get(youth.id, youth.created_at) <= when]


def _program(
    db: Session,
    keys: KeyRing,
    user: User,
    person_id: str,
    agency_id: str,
    records: list[YouthLink],
    names: dict[str, str],
    kinds: dict[str, str],
) -> Program | None:
    """The other program as this user's agency may know it; None for a victim-service provider it may not."""
    if kinds.get(agency_id) == AgencyKind.victim_service and not consents.between(
        db, person_id, agency_id, user.agency_id
    ):
        return None
    in_force = consents.active_from(db, person_id, agency_id, user.agency_id)
    if not any(c.result_summary for c in in_force):
        return Program(names.get(agency_id, ""), [])
    numbers = [keys.decrypt(r.case_number_enc, "youth_link", "case_number", r.id) for r in records]
    return Program(names.get(agency_id, ""), numbers)


def ended_share(db: Session, person_id: str, from_agency_id: str, to_agency_id: str) -> EndedShare | None:
    """Whether sharing from one agency to another about a person ended: none of its consents is in force and the
    newest was revoked or has expired. (Told only to the recipient, which already knew of the consent.)"""
    if consents.active_from(db, person_id, from_agency_id, to_agency_id):
        return None
    given = consents.between(db, person_id, from_agency_id, to_agency_id)
    if not given:
        return None
    newest, state = given[0], views.consent_state(given[0])
    if state == "revoked" and newest.revoked_at is not None:
        on = newest.revoked_at.date()
    elif state == "expired":
        on = newest.ends_at.date()
    else:
        return None
    agency = db.get(Agency, from_agency_id)
    return EndedShare(agency.name if agency else "", state, on)


def ended_for_record(db: Session, user: User, person_id: str, received: list[Consent]) -> list[EndedShare]:
    """The programs that shared this person's records with the user's agency and have stopped."""
    givers = dict.fromkeys(c.from_agency_id for c in received if c.to_agency_id == user.agency_id)
    found = (ended_share(db, person_id, giver, user.agency_id) for giver in givers)
    return [ended for ended in found if ended is not None]


def ended_for_screening(db: Session, user: User, screening_id: str) -> tuple[EndedShare, str | None] | None:
    """When the user's agency may no longer read another agency's screening because that agency's consent to it
    ended: how it ended, and the agency's own record of the person (if any). None for anyone it was never shared
    with (they get the ordinary "not found"), and while anything still lets the user read it."""
    screening = db.get(Screening, screening_id)
    if screening is None or screening.agency_id == user.agency_id:
        return None
    if access.may_read(db, user, screening.id, Category.result_summary):
        return None
    subject = db.get(Youth, screening.youth_id)
    if subject is None:
        return None
    ended = ended_share(db, subject.person_id, screening.agency_id, user.agency_id)
    if ended is None:
        return None
    own = db.exec(
        select(Youth.id)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(Youth.person_id == subject.person_id, YouthLink.agency_id == user.agency_id)
    ).first()
    return ended, own
