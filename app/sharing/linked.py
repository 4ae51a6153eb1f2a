"""Linked records as each side sees them.

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
from datetime import datetime

from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.models import Agency, AgencyKind, User, Youth, YouthLink
from app.models_sharing import Consent, RecordLink
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
    return LinkView(link, made_here, named, row, link.break_glass_id is not None)


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
