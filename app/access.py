"""The one gate for youth data. Every page, API route, search, export and carry-forward asks it.

An agency reads its own records. It reads another agency's screenings of the same person only
when it knows that person (its own record is linked to them, or a live referral to it shares the
screening) and, at this moment, a consent in force from that agency to it covers the category and
the purpose, or the user holds an active break-glass.
The decision is made in the database query, never after it; a denied read is "not found".
A read of another agency's data is written in the disclosure ledger by the same call, in the same
transaction, naming the consent or break-glass it rests on; there is no disclosure without one.
Nothing here is cached, so a revocation takes effect on the very next request.

An answer carried from one agency to another keeps its origin. Another agency sees it (in a
screening, an export or a new screening's carried answers) only under a consent from the agency
where it was given: consent to B never passes A's answers on to C.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, bindparam, case, or_, true
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, aliased
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import audit
from app.errors import Forbidden, NotFound
from app.i18n import _
from app.models import Role, Screening, User, UTCDateTime, Youth, YouthLink, utcnow
from app.models_evaluation import Outcome
from app.models_referrals import Referral, ReferralScreening, ReferralStatus
from app.models_sharing import BreakGlass, Category, Consent, Purpose
from app.sharing import ledger
from app.sharing.ledger import Grant
from app.typed_sql import unindexed

DEFAULT_PURPOSE = Purpose.care_coordination
T = TypeVar("T")


@dataclass(frozen=True)
class Viewer:
    """What the clauses for lists read of a user: who they are and their agency (a cache key, unlike a User)."""

    id: str
    agency_id: str


def per_viewer(build: Callable[[Viewer], T]) -> Callable[[User | Viewer], T]:
    """A statement built once per user and agency and reused by later requests (building a statement that holds
    an access clause, and working out its cache key, cost more than running it). `build` gets the viewer; every
    other value goes in as a bound parameter, and the time through `_at`, so nothing stale is kept."""
    built = lru_cache(maxsize=256)(build)

    def statement(user: User | Viewer) -> T:
        return built(Viewer(user.id, user.agency_id))

    return statement


__all__ = ["DEFAULT_PURPOSE", "Grant", "Read", "consent_in_force", "is_in_force", "open_screening"]


# The rule of a consent in force: the one place it is written -------------------------------------------


def _now() -> datetime:
    """The time, as this module's `utcnow` gives it when called (a clock swapped in later is the one read)."""
    return utcnow()


def _at(now: datetime | None) -> Any:
    """`now` as a value, or when none is given the moment the statement runs (a bound parameter whose value is
    read at execution): a clause built once and reused by later requests never holds a stale time. It calls
    `_now`, never the `utcnow` there was when the clause was built: a statement cached while a test's frozen clock
    was in place went on reading that clock in every later test of the process."""
    return now if now is not None else bindparam("access_now", callable_=_now, type_=UTCDateTime())


def consent_in_force(now: datetime | None = None) -> ColumnElement[bool]:
    """A consent in force at `now` (default: when the statement runs): started, not ended, not revoked, not
    superseded."""
    at = _at(now)
    return and_(
        col(Consent.starts_at) <= at,
        col(Consent.ends_at) > at,
        col(Consent.revoked_at).is_(None),
        col(Consent.superseded_at).is_(None),
    )


def is_in_force(consent: Consent, now: datetime | None = None) -> bool:
    """The same rule for a consent already loaded (pages and exports show whether it is active)."""
    now = now or utcnow()
    return consent.starts_at <= now < consent.ends_at and consent.revoked_at is None and consent.superseded_at is None


def consent_covers(
    *,
    person_id: Any,
    from_agency_id: Any,
    to_agency_id: Any,
    category: Category | None = None,
    purpose: Any = None,
    now: datetime | None = None,
) -> ColumnElement[bool]:
    """Consents in force from one agency to another about a person, covering a category and a purpose.

    Each argument is a value or a column (so the clause can be correlated with an outer query);
    no category (or purpose) means any.
    """
    return and_(
        col(Consent.person_id) == person_id,
        col(Consent.from_agency_id) == from_agency_id,
        col(Consent.to_agency_id) == to_agency_id,
        getattr(Consent, category.value).is_(True) if category is not None else true(),
        col(Consent.purpose) == purpose if purpose is not None else true(),
        consent_in_force(now),
    )


def consents_in_force(
    db: Session,
    person_id: str,
    to_agency_id: str | None,
    from_agency_ids: Collection[str] | None = None,
    category: Category | None = None,
    purpose: str | None = None,
) -> list[Consent]:
    """The consents in force now to an agency (None: any) about a person (from the given agencies), newest first."""
    query = _in_force(to_agency_id is not None, from_agency_ids is not None, category, purpose is not None)
    values: dict[str, Any] = {"person_id": person_id}
    if to_agency_id is not None:
        values["to_agency_id"] = to_agency_id
    if from_agency_ids is not None:
        values["from_agency_ids"] = list(from_agency_ids)
    if purpose is not None:
        values["purpose"] = purpose
    return list(db.exec(query, params=values))


@lru_cache(maxsize=64)
def _in_force(to_one: bool, from_some: bool, category: Category | None, by_purpose: bool) -> SelectOfScalar[Consent]:
    """`consents_in_force`'s statement for one shape, built once (every screening started and every list of
    shared screenings asks it): the person, agencies and purpose are parameters."""
    query = select(Consent).where(
        consent_covers(
            person_id=bindparam("person_id"),
            from_agency_id=col(Consent.from_agency_id),
            to_agency_id=bindparam("to_agency_id") if to_one else col(Consent.to_agency_id),
            category=category,
            purpose=bindparam("purpose") if by_purpose else None,
        )
    )
    if from_some:
        query = query.where(col(Consent.from_agency_id).in_(bindparam("from_agency_ids", expanding=True)))
    return query.order_by(col(Consent.recorded_at).desc())


# Clauses for lists -----------------------------------------------------------------------------------


def youth_readable_clause(user: User | Viewer) -> ColumnElement[bool]:
    """Youth records the user may read: those their agency has linked (its own records)."""
    return (
        select(YouthLink.id)
        .where(col(YouthLink.youth_id) == col(Youth.id), col(YouthLink.agency_id) == user.agency_id)
        .exists()
    )


def _break_glass_clause(user: User | Viewer) -> ColumnElement[bool]:
    subject = aliased(Youth)
    return (
        select(BreakGlass.id)
        .join(subject, col(subject.person_id) == col(BreakGlass.person_id))
        .where(col(subject.id) == col(Screening.youth_id), _glass_open(user, col(BreakGlass.person_id)))
        .correlate(Screening)
        .exists()
    )


def _glass_open(user: User | Viewer, person_id: Any) -> ColumnElement[bool]:
    return and_(
        col(BreakGlass.user_id) == user.id,
        col(BreakGlass.person_id) == person_id,
        col(BreakGlass.expires_at) > _at(None),
        col(BreakGlass.ended_at).is_(None),
    )


def _linked_clause(user: User | Viewer) -> ColumnElement[bool]:
    """The user's agency holds a record of the screening's person."""
    own, subject = aliased(Youth), aliased(Youth)
    # The person's records first, then one probe of (youth_id, agency_id) each: written as a join, SQLite (with
    # no statistics) read the agency's every link for each screening tested.
    records = (
        select(own.id)
        .join(subject, col(subject.person_id) == col(own.person_id))
        .where(col(subject.id) == col(Screening.youth_id))
        .correlate(Screening)
    )
    return (
        select(YouthLink.id)
        .where(col(YouthLink.agency_id) == user.agency_id, col(YouthLink.youth_id).in_(records))
        .correlate(Screening)
        .exists()
    )


# A referral's recipient reads the screenings it shares (under a consent, as anyone else) while the
# referral is live or done; a declined or cancelled referral opens nothing.
REFERRAL_OPENS = (
    ReferralStatus.requested,
    ReferralStatus.received,
    ReferralStatus.accepted,
    ReferralStatus.in_progress,
    ReferralStatus.completed,
)


def _live_to(agency_id: str) -> ColumnElement[bool]:
    """The referral is live and sent to the agency, its two columns compared as `typed_sql.unindexed` gives them, so
    that the database finds a screening's referrals by `referral_screening.screening_id` (a screening is in few) and
    not every referral to the agency (`ix_referral_to_changed`) or every live one (`ix_referral_status`) for each
    screening it checks. SQLite did: 1.3 ms per screening read at an agency that had received 2,000 referrals,
    growing with each."""
    return and_(
        unindexed(col(Referral.to_agency_id)) == agency_id,
        unindexed(col(Referral.status)).in_([s.value for s in REFERRAL_OPENS]),
    )


def _referred_clause(user: User | Viewer, purpose: str | None = None) -> ColumnElement[bool]:
    """The screening is shared by a live referral to the user's agency (for `purpose`, if given)."""
    return (
        select(ReferralScreening.screening_id)
        .join(Referral, col(Referral.id) == col(ReferralScreening.referral_id))
        .where(
            col(ReferralScreening.screening_id) == col(Screening.id),
            _live_to(user.agency_id),
            col(Referral.purpose) == purpose if purpose is not None else true(),
        )
        .correlate(Screening)
        .exists()
    )


def _known_clause(user: User | Viewer) -> ColumnElement[bool]:
    """The user's agency knows the screening's person: it holds a linked record, or was referred the screening."""
    return or_(_linked_clause(user), _referred_clause(user))


def _referred_categories(db: Session, user: User, screening_id: str, purpose: str | None) -> set[str]:
    """The categories live referrals to the user's agency share of a screening (for `purpose`, if given)."""
    query = (
        select(Referral.categories)
        .join(ReferralScreening, col(ReferralScreening.referral_id) == col(Referral.id))
        .where(
            col(ReferralScreening.screening_id) == screening_id,
            _live_to(user.agency_id),
        )
    )
    if purpose is not None:
        query = query.where(col(Referral.purpose) == purpose)
    return {category for categories in db.exec(query) for category in categories}


def referral_consent(
    db: Session, person_id: str, from_agency_id: str, to_agency_id: str, categories: Collection[Category], purpose: str
) -> Consent | None:
    """The newest consent in force from one agency to another about a person that covers every category
    and the purpose: what a referral rests on (None: the referral may not be sent)."""
    query = select(Consent).where(
        consent_covers(person_id=person_id, from_agency_id=from_agency_id, to_agency_id=to_agency_id, purpose=purpose)
    )
    for category in categories:
        query = query.where(getattr(Consent, Category(category).value).is_(True))
    return db.exec(query.order_by(col(Consent.recorded_at).desc()).limit(1)).first()


@lru_cache(maxsize=256)
def referral_grant_of(agency_id: str) -> Any:
    """For a referral to the agency (correlated with `Referral`): the consent in force now from the sender that
    covers at least the result summary for the referral's purpose, while the referral is live or done; else
    NULL. The recipient sees who the youth is and why only with it. (Built once per agency.)"""
    consent = (
        select(Consent.id)
        .where(
            consent_covers(
                person_id=col(Referral.person_id),
                from_agency_id=col(Referral.from_agency_id),
                to_agency_id=agency_id,
                category=Category.result_summary,
                purpose=col(Referral.purpose),
            )
        )
        .order_by(col(Consent.recorded_at).desc())
        .limit(1)
        .correlate(Referral)
        .scalar_subquery()
    )
    opens = and_(
        col(Referral.to_agency_id) == agency_id,
        col(Referral.status).in_([s.value for s in REFERRAL_OPENS]),
    )
    return case((opens, consent), else_=None)


def shared_with_clause(recipient_agency_id: str, category: Category, purpose: str) -> ColumnElement[bool]:
    """Screenings whose agency has a consent in force to the recipient about their person for that category
    and purpose (a read by the recipient, and an export to it by the screening's agency; no break-glass:
    break-glass is one supervisor's emergency view, never a bulk export)."""
    subject = aliased(Youth)
    return (
        select(Consent.id)
        .join(subject, col(subject.person_id) == col(Consent.person_id))
        .where(
            col(subject.id) == col(Screening.youth_id),
            consent_covers(
                person_id=col(subject.person_id),
                from_agency_id=col(Screening.agency_id),
                to_agency_id=recipient_agency_id,
                category=category,
                purpose=purpose,
            ),
        )
        .correlate(Screening)
        .exists()
    )


def screening_readable_clause(
    user: User | Viewer, category: Category = Category.result_summary, purpose: str = DEFAULT_PURPOSE
) -> ColumnElement[bool]:
    """A WHERE clause selecting the screenings `user` may read for that category and purpose, when the statement
    runs. Built once per user, agency, category and purpose and reused (building it cost more than running it);
    it holds no time (see `_at`) and nothing else about the user."""
    return _screenings_readable(Viewer(user.id, user.agency_id), Category(category), str(purpose))


@lru_cache(maxsize=256)
def _screenings_readable(user: Viewer, category: Category, purpose: str) -> ColumnElement[bool]:
    # Read for a referral, a consent opens only what a live referral for that purpose shares (as in `decide`).
    known = _known_clause(user)
    consented = and_(
        _referred_clause(user, purpose) if purpose == Purpose.referral else known,
        shared_with_clause(user.agency_id, category, purpose),
    )
    return or_(col(Screening.agency_id) == user.agency_id, consented, and_(known, _break_glass_clause(user)))


# One record ------------------------------------------------------------------------------------------


_READ = "access.readable_youth"  # {(user, agency, role, youth id): Youth} decided since the session last wrote


def readable_youth(db: Session, user: User, youth_id: str) -> Youth:
    """The youth record, if `user` may read it; otherwise NotFound.

    A page asks this for one youth from each of its sections; the answer is decided by one query and kept
    until the session next writes anything (a write may change who may read what: a link, a consent).
    """
    known: dict[tuple[str, str, str, str], Youth] = db.info.setdefault(_READ, {})
    key = (user.id, user.agency_id, user.role, youth_id)
    youth = known.get(key)
    if youth is None:
        youth = db.exec(_readable_youth(user), params={"youth_id": youth_id}).first()
        if youth is None:
            audit.denied(db, user, Youth, youth_id)
            raise NotFound(_("No such youth."))
        known[key] = youth
    return youth


@per_viewer
def _readable_youth(viewer: Viewer) -> SelectOfScalar[Youth]:
    return select(Youth).where(col(Youth.id) == bindparam("youth_id"), youth_readable_clause(viewer))


@sa_event.listens_for(OrmSession, "after_flush")
@sa_event.listens_for(OrmSession, "after_soft_rollback")
def _forget_decisions(session: OrmSession, *_args: Any) -> None:
    session.info.pop(_READ, None)


@sa_event.listens_for(OrmSession, "do_orm_execute")
def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_READ, None)


# Built once (every write to a screening asks it): the values are parameters.
_OWN_SCREENING = select(Screening).where(
    col(Screening.id) == bindparam("screening_id"), col(Screening.agency_id) == bindparam("agency_id")
)


def writable_screening(db: Session, user: User, screening_id: str) -> Screening:
    """A screening `user` may change: only their own agency's, whatever is shared."""
    own = {"screening_id": screening_id, "agency_id": user.agency_id}
    screening = db.exec(_OWN_SCREENING, params=own).first()
    if screening is None:
        audit.denied(db, user, Screening, screening_id)
        raise NotFound(_("No such screening."))
    return screening


@dataclass(frozen=True)
class Read:
    """What `user` may see of one screening now, and on what authority.

    `categories` are the wanted categories the user may see; `grants` names, for another agency's
    screening, the consent or break-glass behind each. `answer_origins` are the agencies whose answers
    (given there, wherever they were carried since) the user may see in it; None means every origin.
    """

    screening: Screening
    person_id: str
    own: bool
    categories: frozenset[Category]
    purpose: str = DEFAULT_PURPOSE
    grants: dict[Category, Grant] = field(default_factory=dict)
    answer_origins: dict[str, Grant] | None = None

    def covers(self, category: Category) -> bool:
        return category in self.categories

    def shows_answer_from(self, origin_agency_id: str | None) -> bool:
        """Whether an answer given at `origin_agency_id` may be shown in this read."""
        if not self.covers(Category.item_answers):
            return False
        return self.answer_origins is None or (origin_agency_id or self.screening.agency_id) in self.answer_origins


def disclose_origins(
    db: Session, user: User, read: Read, origin_agency_ids: Collection[str], kind: str = "view"
) -> None:
    """Write in the ledger that answers given at other agencies than the screening's were shown in `read`
    (each under that agency's own consent, or the reader's break-glass)."""
    for origin in set(origin_agency_ids) - {read.screening.agency_id, user.agency_id}:
        if not read.shows_answer_from(origin):
            continue
        grant = read.answer_origins[origin] if read.answer_origins is not None else read.grants[Category.item_answers]
        ledger.disclose(
            db,
            user,
            owner_agency_id=origin,
            person_id=read.person_id,
            kind=kind,
            categories=[Category.item_answers.value],
            purpose=read.purpose,
            grant=grant,
            screening_id=read.screening.id,
        )


@lru_cache(maxsize=256)
def _decision(user: Viewer, wanted: tuple[Category, ...], purpose: str) -> Any:
    """`decide`'s one statement for a user, categories and purpose, the screening a parameter: built once and
    reused (building it cost more than running it), holding no time (see `_at`)."""
    consent_ids = [
        select(Consent.id)
        .where(
            consent_covers(
                person_id=col(Youth.person_id),
                from_agency_id=col(Screening.agency_id),
                to_agency_id=user.agency_id,
                category=category,
                purpose=purpose,
            )
        )
        .order_by(col(Consent.recorded_at).desc())
        .limit(1)
        .correlate(Screening, Youth)
        .scalar_subquery()
        for category in wanted
    ]
    glass_id = (
        select(BreakGlass.id).where(_glass_open(user, col(Youth.person_id))).limit(1).correlate(Youth).scalar_subquery()
    )
    return (
        select(Screening, col(Youth.person_id), glass_id, _linked_clause(user), *consent_ids)
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .where(col(Screening.id) == bindparam("decided_screening"))
        .where(or_(col(Screening.agency_id) == user.agency_id, _known_clause(user)))
    )


def decide(
    db: Session,
    user: User,
    screening_id: str,
    want: Iterable[Category] = (Category.result_summary,),
    purpose: str = DEFAULT_PURPOSE,
    break_glass: bool = True,
    record_denial: bool = True,
) -> Read:
    """The decision alone, in one query: NotFound unless the first wanted category is readable
    (audited as a denied read unless `record_denial` is false: a question, not a read)."""
    wanted = list(dict.fromkeys(want))
    row = db.exec(
        _decision(Viewer(user.id, user.agency_id), tuple(Category(c) for c in wanted), str(purpose)),
        params={"decided_screening": screening_id},
    ).first()
    if row is None:
        if record_denial:
            audit.denied(db, user, Screening, screening_id)
        raise NotFound(_("No such screening."))
    screening, person_id, glass, linked = row[0], row[1], row[2], row[3]
    consents: list[str | None] = list(row[4:])
    if screening.agency_id == user.agency_id:
        return Read(screening, person_id, True, frozenset(wanted), purpose)
    glass = glass if break_glass else None
    grants = {
        category: Grant(consent, None) if consent else Grant(None, glass)
        for category, consent in zip(wanted, consents, strict=True)
        if consent or glass
    }
    if not linked or purpose == Purpose.referral:
        # Known through a referral, or read for a referral: a consent opens only what a live referral shares.
        shared = _referred_categories(db, user, screening.id, purpose if purpose == Purpose.referral else None)
        kept = {c: g for c, g in grants.items() if g.break_glass_id or c.value in shared}
        grants = {c: kept.get(c, Grant(None, glass)) for c in grants if c in kept or glass}  # else the break-glass
    if not wanted or wanted[0] not in grants:
        if record_denial:
            audit.denied(db, user, Screening, screening_id)
        raise NotFound(_("No such screening."))
    origins: dict[str, Grant] | None = None
    if Category.item_answers in grants and not grants[Category.item_answers].break_glass_id:
        origins = answers_shared_by(db, user.agency_id, person_id, purpose)
        origins.setdefault(user.agency_id, grants[Category.item_answers])  # what it was told itself, carried back
    return Read(screening, person_id, False, frozenset(grants), purpose, grants, origins)


def open_screening(
    db: Session,
    user: User,
    screening_id: str,
    want: Iterable[Category] = (Category.result_summary,),
    purpose: str = DEFAULT_PURPOSE,
    kind: str = "view",
    revision: int | None = None,
    break_glass: bool = True,
) -> Read:
    """Decide what `user` may see of a screening and, for another agency's, write it in the ledger.

    The ledger gets one entry per authority (consent or break-glass) with the categories it covered.
    `kind` is view, export or carry_forward; `revision` the revision of the result shown, if not the current.
    """
    read = decide(db, user, screening_id, want, purpose, break_glass)
    if not read.own:
        by_grant: dict[Grant, list[str]] = {}
        for category, grant in read.grants.items():
            by_grant.setdefault(grant, []).append(category.value)
        for grant, categories in by_grant.items():
            ledger.disclose(
                db,
                user,
                owner_agency_id=read.screening.agency_id,
                person_id=read.person_id,
                kind=kind,
                categories=categories,
                purpose=purpose,
                grant=grant,
                screening_id=read.screening.id,
                revision=revision,
            )
    return read


def readable_screening(
    db: Session,
    user: User,
    screening_id: str,
    category: Category = Category.result_summary,
    purpose: str = DEFAULT_PURPOSE,
) -> Screening:
    """The screening, if `user` may read that category of it for that purpose now (no ledger entry:
    for own-agency work, and for checks before a read that goes through `open_screening`)."""
    return decide(db, user, screening_id, (category,), purpose).screening


def may_read(db: Session, user: User, screening_id: str, category: Category, purpose: str = DEFAULT_PURPOSE) -> bool:
    """Whether `user` may read that category of the screening for that purpose now (no exception, no ledger)."""
    try:
        decide(db, user, screening_id, (category,), purpose, record_denial=False)
    except NotFound:
        return False
    return True


def answers_shared_by(db: Session, agency_id: str, person_id: str, purpose: str = DEFAULT_PURPOSE) -> dict[str, Grant]:
    """Agencies whose answers about a person `agency_id` may receive now (carried into a new screening,
    shown as context, or inside another agency's screening), each with its consent.

    Only consents: a break-glass lets one supervisor look in an emergency, it never fills a new screening.
    """
    found: dict[str, Grant] = {}
    for consent in consents_in_force(db, person_id, agency_id, category=Category.item_answers, purpose=purpose):
        found.setdefault(consent.from_agency_id, Grant(consent.id, None))
    return found


def disclose_listed(
    db: Session,
    user: User,
    person_id: str,
    screenings: Iterable[Screening],
    category: Category,
    purpose: str = DEFAULT_PURPOSE,
    kind: str = "view",
    grants: dict[str, Grant] | None = None,
) -> None:
    """Write a list's reads of other agencies' screenings in the ledger, the grants looked up once for all.

    `screenings` were selected with `screening_readable_clause` (or, with `grants`, from agencies in it).
    """
    others = [s for s in screenings if s.agency_id != user.agency_id]
    if not others:
        return
    if grants is None:
        consents = consents_in_force(db, person_id, user.agency_id, {s.agency_id for s in others}, category, purpose)
        grants = {}
        for consent in consents:
            grants.setdefault(consent.from_agency_id, Grant(consent.id, None))
        glass = db.exec(select(BreakGlass.id).where(_glass_open(user, person_id))).first()
        if glass is not None:
            grants = {s.agency_id: grants.get(s.agency_id, Grant(None, glass)) for s in others}
    for screening in others:
        ledger.disclose(
            db,
            user,
            owner_agency_id=screening.agency_id,
            person_id=person_id,
            kind=kind,
            categories=[category.value],
            purpose=purpose,
            grant=grants.get(screening.agency_id),
            screening_id=screening.id,
        )


# Outcomes (program evaluation) ---------------------------------------------------------------------


OUTCOME_CATEGORY = Category.notes
"""What a consent must cover for another agency to see an agency's outcomes: what staff later learned is
closer to their notes than to a screening's result, and as sensitive."""


def outcomes_readable_clause(user: User | Viewer, person_id: Any) -> ColumnElement[bool]:
    """Outcomes about a person `user` may read: the agency's own, and another agency's under a consent in
    force from it to the user's agency covering notes for care coordination, when the user's agency holds
    a linked record of the person. Never under a break-glass or a referral: outcomes are never needed for care.
    The person is the outcome's record's person now (a link undone moves the outcome with its record); it is a
    value or a bound parameter (a statement built once per viewer).
    """
    # Never correlated: a caller whose statement joins youth must not narrow it to "this outcome's own record".
    records = select(Youth.id).where(col(Youth.person_id) == person_id).correlate(None)
    holds_record = (
        select(YouthLink.id)
        .where(col(YouthLink.agency_id) == user.agency_id, col(YouthLink.youth_id).in_(records))
        .exists()
    )
    consented = (
        select(Consent.id)
        .where(
            consent_covers(
                person_id=person_id,
                from_agency_id=col(Outcome.agency_id),
                to_agency_id=user.agency_id,
                category=OUTCOME_CATEGORY,
                purpose=DEFAULT_PURPOSE,
            )
        )
        .correlate(Outcome)
        .exists()
    )
    # The person's records, not correlated: the statement starts from them instead of testing every outcome.
    return and_(
        col(Outcome.youth_id).in_(records),
        or_(col(Outcome.agency_id) == user.agency_id, and_(holds_record, consented)),
    )


def disclose_outcomes(db: Session, user: User, person_id: str, owner_agency_ids: Collection[str]) -> None:
    """Write in the ledger that `user` saw other agencies' outcomes about a person (selected with
    `outcomes_readable_clause`), naming each agency's consent."""
    others = {a for a in owner_agency_ids if a != user.agency_id}
    if not others:
        return
    consents = consents_in_force(db, person_id, user.agency_id, others, OUTCOME_CATEGORY, DEFAULT_PURPOSE)
    grants: dict[str, Grant] = {}
    for consent in consents:
        grants.setdefault(consent.from_agency_id, Grant(consent.id, None))
    for agency_id in sorted(others):
        ledger.disclose(
            db,
            user,
            owner_agency_id=agency_id,
            person_id=person_id,
            kind="view",
            categories=[OUTCOME_CATEGORY.value],
            purpose=DEFAULT_PURPOSE,
            grant=grants.get(agency_id),
        )


def require_role(user: User, *roles: Role) -> None:
    """Refuse a user whose role is not among `roles` (services check it too, so it is not in app.deps)."""
    if user.role not in roles:
        raise Forbidden(_("Your role does not allow this."))
