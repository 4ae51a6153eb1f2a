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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, bindparam, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.models import Agency, AgencyKind, Screening, User, Youth, YouthLink, utcnow
from app.models_sharing import Category, Consent, RecordLink
from app.sharing import consent as consents
from app.sharing import views


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


# `known`'s statements, built once (every record page runs them): the values are parameters.
_LINKS = (
    select(RecordLink, User.agency_id)
    .outerjoin(User, col(User.id) == col(RecordLink.linked_by))
    .where(
        or_(
            col(RecordLink.youth_id) == bindparam("youth_id"),
            and_(
                col(RecordLink.person_id) == bindparam("person_id"),
                col(RecordLink.youth_id) != bindparam("youth_id"),
            ),
        )
    )
    .order_by(col(RecordLink.created_at).desc())
)
_IN_FORCE = aliased(RecordLink, name="in_force")
_RECORDS = (
    select(Youth, YouthLink, _IN_FORCE)
    .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
    .outerjoin(
        _IN_FORCE,
        and_(
            col(_IN_FORCE.youth_id) == col(Youth.id),
            col(_IN_FORCE.person_id) == col(Youth.person_id),
            col(_IN_FORCE.undone_at).is_(None),
        ),
    )
    .where(
        or_(
            col(Youth.person_id).in_(bindparam("persons", expanding=True)),
            col(Youth.id).in_(bindparam("records", expanding=True)),
        )
    )
)


@dataclass(frozen=True)
class Known:
    """What the record's sharing section reads once, whatever its number of links: the deployment's agencies,
    the links of the record and to its person, the records of every person those links name, and the consents
    about those persons that the viewer's agency gave or received (every consent the section shows or weighs
    involves the viewer's agency: a link's consent was given to it, or by it)."""

    agencies: dict[str, Agency]
    made_here: list[RecordLink]  # this agency's record's links, newest first
    made_there: list[tuple[RecordLink, str]]  # other records' links to its person, with the linker's agency
    held: dict[str, list[tuple[Youth, YouthLink]]]  # person -> their records and the agency holding each
    joined: dict[str, dict[str, datetime]]  # person -> record -> when a link in force joined it to the person
    records: dict[str, list[YouthLink]]  # record -> the agencies' holdings of it (for a linker's case number)
    consents: list[Consent]  # about those persons, given or received by the viewer's agency, newest first
    by_id: dict[str, Consent]  # the links' own consents

    def given_or_received(self, person_id: str) -> list[Consent]:
        """As `consent.for_youth`: the consents about the person that the viewer's agency gave or received."""
        return [c for c in self.consents if c.person_id == person_id]

    def link_consents(self) -> list[Consent]:
        return list(self.by_id.values())

    def names(self) -> dict[str, str]:
        return {a.id: a.name for a in self.agencies.values()}

    def between(self, person_id: str, from_agency_id: str, to_agency_id: str) -> list[Consent]:
        """As `consent.between`: every consent from one agency to another about a person, newest first."""
        return [
            c
            for c in self.consents
            if (c.person_id, c.from_agency_id, c.to_agency_id) == (person_id, from_agency_id, to_agency_id)
        ]

    def in_force(self, person_id: str, from_agency_id: str, to_agency_id: str) -> list[Consent]:
        """As `access.consents_in_force` from one agency to another, by the same rule (`access.is_in_force`) on the
        consents already loaded."""
        now = utcnow()
        return [c for c in self.between(person_id, from_agency_id, to_agency_id) if access.is_in_force(c, now)]

    def members(self, person_id: str, when: datetime) -> list[YouthLink]:
        """The agency records that were part of the person at `when` (and still are)."""
        joined = self.joined.get(person_id, {})
        return [
            record for youth, record in self.held.get(person_id, []) if joined.get(youth.id, youth.created_at) <= when
        ]


def known(db: Session, user: User, youth_id: str) -> Known:
    """Read, in a constant number of queries, what the sharing section of this agency's record needs."""
    youth = access.readable_youth(db, user, youth_id)
    agencies = {a.id: a for a in db.exec(select(Agency))}
    made_here: list[RecordLink] = []
    made_there: list[tuple[RecordLink, str]] = []
    # The record's own links and other records' links to its person, with the agency of whoever linked.
    for link, linker_agency in db.exec(_LINKS, params={"youth_id": youth.id, "person_id": youth.person_id}).all():
        if link.youth_id == youth.id:
            made_here.append(link)
        elif linker_agency is not None:
            made_there.append((link, linker_agency))
    persons = sorted({youth.person_id} | {link.person_id for link in made_here})
    linked_records = sorted({link.youth_id for link, _agency in made_there})
    # The persons' records, with the agencies holding them and when a link in force joined each to its person;
    # and the records other agencies linked (one may have left the person since).
    held: dict[str, list[tuple[Youth, YouthLink]]] = {}
    joined: dict[str, dict[str, datetime]] = {}
    records: dict[str, list[YouthLink]] = {}
    seen: set[str] = set()
    for record, holding, link in db.exec(_RECORDS, params={"persons": persons, "records": linked_records}).all():
        if link is not None:
            joined.setdefault(link.person_id, {})[link.youth_id] = link.created_at
        if holding.id in seen:
            continue  # the same holding again, beside another link in force
        seen.add(holding.id)
        held.setdefault(record.person_id, []).append((record, holding))
        if record.id in linked_records:
            records.setdefault(record.id, []).append(holding)
    ids = sorted(
        {link.consent_id for link in made_here if link.consent_id}
        | {link.consent_id for link, _agency in made_there if link.consent_id}
    )
    # One read: the consents about those persons that the agency gave or received, and the links' own.
    concerned = col(Consent.person_id).in_(persons) & (
        (col(Consent.from_agency_id) == user.agency_id) | (col(Consent.to_agency_id) == user.agency_id)
    )
    read = db.exec(
        select(Consent)
        .where(or_(concerned, col(Consent.id).in_(ids)) if ids else concerned)
        .order_by(col(Consent.recorded_at).desc())
    ).all()
    wanted = set(ids)
    by_id = {c.id: c for c in read if c.id in wanted}
    consents = [c for c in read if c.person_id in persons and user.agency_id in (c.from_agency_id, c.to_agency_id)]
    return Known(agencies, made_here, made_there, held, joined, records, consents, by_id)


def link_views(keys: KeyRing, user: User, facts: Known, rows: Mapping[str, views.ConsentRow]) -> list[LinkView]:
    """The links of this agency's record: those it made, and those another agency made to it, newest first.

    `rows` holds each link's consent as the section shows it (with any revocation), by id."""
    seen: list[LinkView] = []
    for link in facts.made_here:
        consent = facts.by_id.get(link.consent_id) if link.consent_id else None
        members = facts.members(link.person_id, link.created_at)
        others = sorted({held.agency_id for held in members if held.agency_id != user.agency_id})
        partners = [consent.from_agency_id] if consent is not None else others
        programs = [
            _program(keys, user, facts, link.person_id, agency, [m for m in members if m.agency_id == agency])
            for agency in partners
        ]
        seen.append(_view(user, facts, link, True, programs, consent, rows))
    for link, linker_agency in facts.made_there:
        if linker_agency == user.agency_id:
            continue
        consent = facts.by_id.get(link.consent_id) if link.consent_id else None
        if consent is not None:
            partner = consent.from_agency_id == user.agency_id
        else:
            partner = any(m.agency_id == user.agency_id for m in facts.members(link.person_id, link.created_at))
        if not partner:
            continue  # a link to another agency's record of the person: not this agency's business
        records = [r for r in facts.records.get(link.youth_id, []) if r.agency_id == linker_agency]
        program = _program(keys, user, facts, link.person_id, linker_agency, records)
        if program is None:
            continue  # even "another program linked a record" would tell that a victim-service provider serves them
        seen.append(_view(user, facts, link, False, [program], consent, rows))
    return sorted(seen, key=lambda v: v.link.created_at, reverse=True)


def _view(
    user: User,
    facts: Known,
    link: RecordLink,
    made_here: bool,
    programs: list[Program | None],
    consent: Consent | None,
    rows: Mapping[str, views.ConsentRow],
) -> LinkView:
    row = rows[consent.id] if consent is not None else None
    named = [p for p in programs if p is not None]
    shared_now = None
    if consent is not None:
        now = facts.in_force(link.person_id, consent.from_agency_id, consent.to_agency_id)
        shared_now = sorted({c.purpose for c in now})
    return LinkView(link, made_here, named, row, link.break_glass_id is not None, shared_now)


def _program(
    keys: KeyRing, user: User, facts: Known, person_id: str, agency_id: str, records: list[YouthLink]
) -> Program | None:
    """The other program as this user's agency may know it; None for a victim-service provider it may not."""
    agency = facts.agencies.get(agency_id)
    name = agency.name if agency else ""
    hidden = agency is not None and agency.kind == AgencyKind.victim_service
    if hidden and not facts.between(person_id, agency_id, user.agency_id):
        return None
    if not any(c.result_summary for c in facts.in_force(person_id, agency_id, user.agency_id)):
        return Program(name, [])
    numbers = [keys.decrypt(r.case_number_enc, "youth_link", "case_number", r.id) for r in records]
    return Program(name, numbers)


def ended_share(db: Session, person_id: str, from_agency_id: str, to_agency_id: str) -> EndedShare | None:
    """Whether sharing from one agency to another about a person ended: none of its consents is in force and the
    newest was revoked or has expired. (Told only to the recipient, which already knew of the consent.)"""
    agency = db.get(Agency, from_agency_id)
    return _ended(consents.between(db, person_id, from_agency_id, to_agency_id), agency.name if agency else "")


def _ended(given: list[Consent], program: str) -> EndedShare | None:
    """How sharing ended, from every consent between the two agencies about the person, newest first."""
    now = utcnow()
    if not given or any(access.is_in_force(c, now) for c in given):
        return None
    newest, state = given[0], views.consent_state(given[0])
    if state == "revoked" and newest.revoked_at is not None:
        return EndedShare(program, state, newest.revoked_at.date())
    if state == "expired":
        return EndedShare(program, state, newest.ends_at.date())
    return None


def ended_for_record(user: User, facts: Known, person_id: str, received: list[Consent]) -> list[EndedShare]:
    """The programs that shared this person's records with the user's agency and have stopped."""
    names = facts.names()
    givers = dict.fromkeys(c.from_agency_id for c in received if c.to_agency_id == user.agency_id)
    found = (_ended(facts.between(person_id, giver, user.agency_id), names.get(giver, "")) for giver in givers)
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
