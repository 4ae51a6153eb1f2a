"""Finding the same person at other agencies, and linking records under consent or break-glass.

A user learns only that a possible match exists and that linking needs the youth's consent,
never whose record it is or where. Records are never merged by themselves: a person's records
are joined by giving them one person id, which a wrong link's undo restores.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import InvalidInput, NotFound
from app.i18n import _
from app.models import Agency, AgencyKind, User, Youth, YouthLink, utcnow
from app.models_sharing import BreakGlass, Category, Consent, MatchKey, RecordLink
from app.records.matching import Identity, blocking_keys, ranked
from app.sharing.breakglass import open_glass
from app.sharing.schemas import BreakGlassCreate


def identity_of(keys: KeyRing, youth: Youth) -> Identity:
    """A record's identifiers, decrypted for matching (never shown to the other agency)."""
    return Identity(
        given_name=keys.decrypt(youth.given_name_enc, "youth", "given_name", youth.id),
        family_name=keys.decrypt(youth.family_name_enc, "youth", "family_name", youth.id),
        birth_date=date.fromisoformat(keys.decrypt(youth.birth_date_enc, "youth", "birth_date", youth.id)),
    )


def index_record(db: Session, keys: KeyRing, youth: Youth) -> None:
    """Store the record's blocking keys (keyed hashes) so later records can find it."""
    rows = [{"youth_id": youth.id, "key": key} for key in blocking_keys(keys, identity_of(keys, youth))]
    if rows:  # plain rows in one INSERT (after the session's pending rows): nothing reads them back as objects
        db.execute(insert(MatchKey), rows)


# Other people's records sharing a match key with a record, each with the agencies holding it and their kinds
# (built once: the values are parameters).
_SHARING_A_KEY = (
    select(Youth, col(YouthLink.agency_id), col(Agency.kind))
    .outerjoin(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
    .outerjoin(Agency, col(Agency.id) == col(YouthLink.agency_id))
    .where(
        col(Youth.id).in_(
            select(MatchKey.youth_id).where(
                col(MatchKey.key).in_(select(MatchKey.key).where(col(MatchKey.youth_id) == bindparam("youth_id")))
            )
        ),
        col(Youth.person_id) != bindparam("person_id"),
    )
)


def candidates(db: Session, keys: KeyRing, user: User, youth_id: str) -> list[Youth]:
    """Other people's records that may be this youth, best first; none held only by victim-service agencies
    that have not consented to this agency (telling that a record exists is itself a disclosure)."""
    youth = access.readable_youth(db, user, youth_id)
    mine = identity_of(keys, youth)
    by_id: dict[str, Youth] = {}
    holders: dict[str, list[tuple[str, str]]] = {}  # record id -> (agency id, agency kind) of each agency holding it
    for other, agency_id, kind in db.exec(_SHARING_A_KEY, params={"youth_id": youth.id, "person_id": youth.person_id}):
        by_id[other.id] = other
        if agency_id is not None:
            holders.setdefault(other.id, []).append((agency_id, kind))
    best: dict[str, Youth] = {}
    for other_id in ranked(mine, {other_id: identity_of(keys, other) for other_id, other in by_id.items()}):
        other = by_id[other_id]
        if _may_learn_of(db, user, other, holders.get(other.id, [])):
            best.setdefault(other.person_id, other)
    return list(best.values())


def _may_learn_of(db: Session, user: User, other: Youth, holders: list[tuple[str, str]]) -> bool:
    if any(kind != AgencyKind.victim_service for _agency, kind in holders):
        return True
    return bool(_linking_consents(db, other.person_id, {agency for agency, _kind in holders}, user.agency_id))


def _linking_consents(db: Session, person_id: str, holders: set[str], agency_id: str) -> list[Consent]:
    """Consents in force to the agency from a holder of the person's records that let it link to them: any
    purpose, covering at least the result summary (a link under which nothing could be read joins nothing)."""
    return access.consents_in_force(db, person_id, agency_id, holders, Category.result_summary)


def link(
    db: Session,
    keys: KeyRing,
    user: User,
    youth_id: str,
    candidate_id: str,
    break_glass: BreakGlassCreate | None = None,
) -> RecordLink:
    """Join this agency's record to a candidate's person, under an active consent to this agency or a break-glass."""
    youth = access.readable_youth(db, user, youth_id)
    if not any(c.id == candidate_id for c in candidates(db, keys, user, youth_id)):
        raise NotFound(_("No such possible match."))
    other = db.get(Youth, candidate_id)
    if other is None:
        raise NotFound(_("No such possible match."))
    _refuse_if_joined(db, youth)  # before a consent is looked for or a break-glass opened: neither would help
    granted = db.exec(
        select(YouthLink.agency_id)
        .join(Youth, col(Youth.id) == col(YouthLink.youth_id))
        .where(Youth.person_id == other.person_id)
    ).all()
    consent = next(iter(_linking_consents(db, other.person_id, set(granted), user.agency_id)), None)
    glass: BreakGlass | None = None
    if consent is None:
        if break_glass is None:
            raise InvalidInput(
                _(
                    "Linking needs the youth's consent: ask the youth which programs they have worked "
                    "with, and ask that program to record their release to your agency."
                )
            )
        glass = open_glass(db, keys, user, youth_id, break_glass)
        glass.person_id = other.person_id
        db.add(glass)
    return join_person(
        db,
        user,
        youth,
        other.person_id,
        consent_id=consent.id if consent else None,
        glass_id=glass.id if glass else None,
    )


def join_person(
    db: Session, user: User, youth: Youth, person_id: str, *, consent_id: str | None, glass_id: str | None = None
) -> RecordLink:
    """Make the agency's record one of `person_id`'s records, under a consent or a break-glass (kept, undoable).

    Called after the authority was checked: by `link`, and when a partner accepts a referral.

    A record that is already one person with another record stays with it: moving it alone to a second person
    would split it from the first program's records (their screenings would leave this record's timeline while
    its links still said they are shared). The other program's record joins this person instead."""
    if person_id != youth.person_id:
        _refuse_if_joined(db, youth)
    record = RecordLink(
        youth_id=youth.id,
        previous_person_id=youth.person_id,
        person_id=person_id,
        linked_by=user.id,
        consent_id=consent_id,
        break_glass_id=glass_id,
    )
    youth.person_id = person_id
    youth.version += 1
    db.add(youth)
    db.add(record)
    db.flush()
    audit.record(
        db,
        "record.link",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="youth",
        object_id=youth.id,
        detail={"under": "consent" if consent_id else "break_glass"},
    )
    return record


ALREADY_JOINED = _(
    "This record is already linked with another record of this youth: linking it to a second one would separate "
    "it from the first. Ask the youth which program holds the other record: that program can link its record to "
    "this youth instead. If the first link was a mistake, the agency that made it can undo it."
)


def joined_with_another(db: Session, youth: Youth) -> bool:
    """Whether the record is already one youth with another record (it was linked to that record, or that record
    to it): then it is not moved to a second youth, which would leave the first record's youth alone (see
    `join_person`); the record page says so instead of offering to link."""
    other = db.exec(
        select(Youth.id).where(col(Youth.person_id) == youth.person_id, col(Youth.id) != youth.id).limit(1)
    ).first()
    return other is not None


def _refuse_if_joined(db: Session, youth: Youth) -> None:
    if joined_with_another(db, youth):
        raise InvalidInput(ALREADY_JOINED)


def undo(db: Session, user: User, link_id: str) -> RecordLink:
    """Undo a wrong link: the record becomes its own person again."""
    record = db.get(RecordLink, link_id)
    if record is None or record.undone_at is not None:
        raise NotFound(_("No such link."))
    try:
        youth = access.readable_youth(db, user, record.youth_id)
    except NotFound:  # the same answer as for a link that does not exist: another agency learns nothing
        raise NotFound(_("No such link.")) from None
    youth.person_id = record.previous_person_id
    youth.version += 1
    record.undone_at, record.undone_by = utcnow(), user.id
    db.add(youth)
    db.add(record)
    audit.record(
        db, "record.unlink", actor_id=user.id, agency_id=user.agency_id, object_type="youth", object_id=youth.id
    )
    return record
