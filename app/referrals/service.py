"""Referrals: send one to a partner under the youth's consent, and follow its status both ways.

The sender chooses a partner, the screenings and categories to share, and says why and how urgent.
It may send only under a consent in force from it to the partner that covers the categories and the
purpose (`access.referral_consent`). The partner reads the shared screenings through the one gate,
like any other shared read, and moves the referral through the FHIR Task lifecycle: received,
accepted or declined (with a reason), in progress, completed. The sender may cancel; for a partner
outside TellOnce it records the partner's answers by hand. Revoking the consent a referral rests on
cancels it. Every change is an event and an audit entry; every view by the partner is in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, bindparam, func
from sqlmodel import Session, col, select

from app import access, audit, paging
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.models import Agency, Screening, ScreeningStatus, User, UTCDateTime, Youth, YouthLink, utcnow
from app.models_referrals import Referral, ReferralEvent, ReferralScreening, ReferralStatus
from app.models_sharing import Category, Consent
from app.records import service as records
from app.records.schemas import YouthCreate, YouthPublic
from app.referrals.facts import Identity, ReferralFacts
from app.referrals.labels import STATUS_LABELS
from app.referrals.schemas import ReferralCreate, StatusChange
from app.sharing import ledger
from app.sharing.ledger import Grant

S = ReferralStatus
# What the receiving side may do from each status (FHIR Task referral lifecycle, as in SDOHCC).
RECIPIENT_MOVES: dict[str, tuple[str, ...]] = {
    S.requested: (S.received, S.accepted, S.rejected),
    S.received: (S.accepted, S.rejected),
    S.accepted: (S.in_progress, S.completed),
    S.in_progress: (S.completed,),
}
FINAL = (S.rejected, S.completed, S.cancelled)
NEEDS_REASON = (S.rejected, S.cancelled)
WAITING = (S.requested, S.received)  # the partner has not answered yet
VIA = ("app", "by_hand", "fhir", "consent")


@dataclass(frozen=True)
class Loaded:
    """A referral with what the reader's agency may see of it: `grant` is the consent the recipient
    reads it under now (None: it sees only the status); the sender always sees its own."""

    referral: Referral
    sender: bool
    grant: str | None

    @property
    def shown(self) -> bool:
        return self.sender or self.grant is not None


# Sending -----------------------------------------------------------------------------------------------


def send(db: Session, keys: KeyRing, user: User, data: ReferralCreate) -> Referral:
    """Send a referral of one of the user's agency's youth; refused without a covering consent."""
    youth = access.readable_youth(db, user, data.youth_id)
    recipient = db.get(Agency, data.to_agency_id)
    if recipient is None or recipient.id == user.agency_id:
        raise InvalidInput(_("Choose the partner to refer to."), {"field": "to_agency_id"})
    screenings = db.exec(
        select(Screening).where(
            col(Screening.id).in_(data.screening_ids),
            Screening.agency_id == user.agency_id,
            Screening.youth_id == youth.id,
            Screening.status == ScreeningStatus.completed,
        )
    ).all()
    if len(screenings) != len(data.screening_ids):
        raise InvalidInput(
            _("Choose completed screenings of this youth made at your agency."), {"field": "screening_ids"}
        )
    if data.due_on is not None and data.due_on < utcnow().date():
        raise InvalidInput(_("The answer-by date is in the past."), {"field": "due_on"})
    settle_lapsed(db, user)  # a referral whose consent ended is no longer open
    open_already = db.exec(
        select(Referral).where(
            Referral.person_id == youth.person_id,
            Referral.from_agency_id == user.agency_id,
            Referral.to_agency_id == recipient.id,
            Referral.purpose == data.purpose.value,
            col(Referral.status).in_([s.value for s in ReferralStatus if s not in FINAL]),
        )
    ).first()
    if open_already is not None:
        raise InvalidInput(
            _(
                "A referral of this youth to %(program)s is still open (sent %(day)s). Open it and update it, "
                "or cancel it, instead of sending another."
            )
            % {"program": recipient.name, "day": open_already.created_at.date().isoformat()},
            {"field": "to_agency_id"},
        )
    consent = access.referral_consent(
        db, youth.person_id, user.agency_id, recipient.id, data.categories, data.purpose.value
    )
    if consent is None:
        raise InvalidInput(_no_consent_message(db, youth.person_id, user, recipient, data), {"field": "consent"})
    referral = Referral(
        person_id=youth.person_id,
        youth_id=youth.id,
        from_agency_id=user.agency_id,
        to_agency_id=recipient.id,
        consent_id=consent.id,
        purpose=data.purpose.value,
        categories=[c.value for c in data.categories],
        urgency=data.urgency.value,
        reason_enc="",
        prepared_by=user.id,
        preparer_contact_enc="",
        due_on=data.due_on,
    )
    referral.reason_enc = keys.encrypt(data.reason, "referral", "reason", referral.id)
    referral.preparer_contact_enc = keys.encrypt(data.preparer_contact, "referral", "preparer_contact", referral.id)
    if data.recipient_contact:
        referral.recipient_contact_enc = keys.encrypt(
            data.recipient_contact, "referral", "recipient_contact", referral.id
        )
    db.add(referral)
    db.flush()
    db.add_all(ReferralScreening(referral_id=referral.id, screening_id=s.id) for s in screenings)
    db.add(
        ReferralEvent(referral_id=referral.id, by_user_id=user.id, by_agency_id=user.agency_id, to_status=S.requested)
    )
    audit.record(
        db,
        "referral.send",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="referral",
        object_id=referral.id,
        detail={"to_agency_id": recipient.id, "screenings": len(screenings), "categories": referral.categories},
    )
    db.flush()
    return referral


def _no_consent_message(db: Session, person_id: str, user: User, recipient: Agency, data: ReferralCreate) -> str:
    """Say what is missing: any consent to that partner at all, the purpose, or the categories."""
    names = {"program": recipient.name}
    to_them = access.consents_in_force(db, person_id, recipient.id, {user.agency_id})
    if not to_them:
        return (
            _(
                "No consent in force lets your agency share this youth's information with %(program)s. "
                "Record the youth's release to %(program)s first (Sharing, on the youth's record)."
            )
            % names
        )
    if not any(c.purpose == data.purpose.value for c in to_them):
        return (
            _(
                "The consent to %(program)s does not cover this purpose. Record a release for it, or choose "
                "the purpose the youth agreed to."
            )
            % names
        )
    return (
        _(
            "The consent to %(program)s does not cover everything chosen to share. Share less, or record a "
            "release that covers it."
        )
        % names
    )


def partners(db: Session, user: User) -> list[Agency]:
    """Every agency but the user's own: the deployment's, then those outside TellOnce, by name."""
    query = select(Agency).where(Agency.id != user.agency_id).order_by(col(Agency.external), col(Agency.name))
    return list(db.exec(query))


# Reading -------------------------------------------------------------------------------------------------


def _query(user: User) -> Any:
    return _query_of(user.agency_id)


def _query_of(agency_id: str) -> Any:
    """The referrals an agency sent or received, each with its recipient's grant (`access.referral_grant_of`)."""
    grant = access.referral_grant_of(agency_id).label("grant")
    mine = (col(Referral.from_agency_id) == agency_id) | (col(Referral.to_agency_id) == agency_id)
    return select(Referral, grant).where(mine)


def _loaded(user: User, row: Any) -> Loaded:
    referral, grant = row[0], row[1]
    return Loaded(referral, referral.from_agency_id == user.agency_id, grant)


def load(db: Session, user: User, referral_id: str) -> Loaded:
    """A referral the user's agency sent or received; otherwise NotFound."""
    settle_lapsed(db, user)
    row = db.exec(_query(user).where(col(Referral.id) == referral_id)).first()
    if row is None:
        raise NotFound(_("No such referral."))
    return _loaded(user, row)


def opened(db: Session, keys: KeyRing, user: User, referral_id: str) -> Loaded:
    """A referral opened by a person: the partner's first look marks it received (audited, in its history)."""
    item = load(db, user, referral_id)
    if not item.sender and item.referral.status == S.requested and item.grant is not None:
        _apply(db, keys, item.referral, S.received, None, user=user, by_agency_id=user.agency_id, via="app")
    return item


def listed(
    db: Session,
    user: User,
    box: str,
    status: str | None = None,
    youth_id: str | None = None,
    after: paging.Cursor | None = None,
    size: int = paging.PAGE_SIZE,
) -> paging.Page[Loaded]:
    """A page of the referrals the agency received (`inbox`) or sent (`sent`), or both (`all`) about one youth,
    latest change first."""
    settle_lapsed(db, user)
    values: dict[str, Any] = {"status": status} if status else {}
    if youth_id is not None:
        values["person_id"] = access.readable_youth(db, user, youth_id).person_id
    query = _listing(user.agency_id, box, bool(status), youth_id is not None, after is not None, size)
    rows = db.exec(query, params=values | paging.after_parameters(after)).all()
    page = paging.page_of(rows, size, lambda row: (row[0].status_changed_at, row[0].id))
    return paging.Page([_loaded(user, row) for row in page.items], page.next)


@lru_cache(maxsize=256)
def _listing(agency_id: str, box: str, by_status: bool, by_person: bool, paged: bool, size: int) -> Any:
    """`listed`'s statement for one agency and one shape, built once: the status, person and cursor are
    parameters."""
    query = _query_of(agency_id)
    if box == "inbox":
        query = query.where(col(Referral.to_agency_id) == agency_id)
    elif box == "sent":
        query = query.where(col(Referral.from_agency_id) == agency_id)
    if by_status:
        query = query.where(col(Referral.status) == bindparam("status"))
    if by_person:
        query = query.where(col(Referral.person_id) == bindparam("person_id"))
    changed, referral_id = col(Referral.status_changed_at), col(Referral.id)
    if paged:
        query = query.where(paging.older_than_parameters(changed, referral_id))
    return query.order_by(changed.desc(), referral_id.desc()).limit(size + 1)


def counts(db: Session, user: User, box: str) -> dict[str, int]:
    """How many referrals the agency received (or sent) are in each status."""
    side = Referral.to_agency_id if box == "inbox" else Referral.from_agency_id
    rows = db.exec(
        select(Referral.status, func.count()).where(col(side) == user.agency_id).group_by(col(Referral.status))
    ).all()
    found = {status: int(n) for status, n in rows}
    return {s.value: found.get(s.value, 0) for s in ReferralStatus}


@lru_cache(maxsize=256)
def _dashboard_rows(agency_id: str) -> Any:
    """`dashboard`'s statement, built once per agency (every dashboard view runs it); its two moments are
    parameters."""
    lately, this_week = bindparam("lately", type_=UTCDateTime()), bindparam("week", type_=UTCDateTime())
    live = [s.value for s in ReferralStatus if s not in FINAL]
    return (
        _query_of(agency_id)
        .where(
            ((col(Referral.to_agency_id) == agency_id) & (col(Referral.status) == S.requested))
            | (
                (col(Referral.from_agency_id) == agency_id)
                & (
                    col(Referral.status).in_(live)
                    | ((col(Referral.status) == S.rejected) & (col(Referral.status_changed_at) >= lately))
                    | ((col(Referral.status) == S.completed) & (col(Referral.status_changed_at) >= this_week))
                )
            )
        )
        .order_by(col(Referral.status_changed_at))
        .limit(500)
    )


def dashboard(db: Session, user: User, stale_days: int) -> dict[str, list[Loaded]]:
    """What the dashboard lists: new in the inbox, sent ones a partner answered this week (accepted, in
    progress, completed), sent ones waiting on a partner, declined lately, and live ones with no change for
    `stale_days` days (in one query)."""
    settle_lapsed(db, user)
    this_week = utcnow() - timedelta(days=7)
    moments = {"lately": utcnow() - timedelta(days=30), "week": this_week}
    rows = db.exec(_dashboard_rows(user.agency_id), params=moments).all()
    out: dict[str, list[Loaded]] = {"new": [], "answered": [], "waiting": [], "declined": [], "stale": []}
    cutoff = utcnow() - timedelta(days=stale_days)
    for row in rows:
        item = _loaded(user, row)
        r = item.referral
        if not item.sender:
            out["new"].append(item)
            continue
        if r.status == S.rejected:
            out["declined"].append(item)
            continue
        if r.status in WAITING:
            out["waiting"].append(item)
        elif r.status_changed_at >= this_week:
            out["answered"].append(item)
        if r.status != S.completed and r.status_changed_at < cutoff:
            out["stale"].append(item)
    for name in ("declined", "answered"):  # the latest answer first; what waits longest first
        out[name].reverse()
    return out


def facts(db: Session, keys: KeyRing, user: User, items: Sequence[Loaded]) -> list[ReferralFacts]:
    """What each referral says to the user's agency, decrypted, in a constant number of queries."""
    if not items:
        return []
    referrals = [i.referral for i in items]
    agencies = {a.id: a for a in db.exec(select(Agency).where(col(Agency.id).in_(_agency_ids(referrals))))}
    users = {u.id: u for u in db.exec(select(User).where(col(User.id).in_({r.prepared_by for r in referrals})))}
    shown = [i.referral for i in items if i.shown]
    youth = {y.id: y for y in db.exec(select(Youth).where(col(Youth.id).in_({r.youth_id for r in shown})))}
    sender_links = {
        (link.youth_id, link.agency_id): link
        for link in db.exec(select(YouthLink).where(col(YouthLink.youth_id).in_({r.youth_id for r in shown})))
    }
    own_records = _own_records(db, keys, user, {r.person_id for r in shown})
    shared = _screening_ids(db, [r.id for r in referrals])
    out = []
    for item in items:
        r = item.referral
        identity = Identity("", "", None)
        if item.shown:
            record = records.public_of(keys, youth[r.youth_id], sender_links.get((r.youth_id, r.from_agency_id)))
            own = own_records.get(r.person_id)
            recipient_ref = decrypt(keys, r, "recipient_case_ref")
            if own is not None and not item.sender:
                recipient_ref = own.case_number or recipient_ref
            identity = Identity(
                record.given_name, record.family_name, record.birth_date, record.case_number, recipient_ref
            )
        recipient = agencies.get(r.to_agency_id)
        contact = decrypt(keys, r, "recipient_contact")
        if recipient is not None and recipient.contact:
            contact = f"{contact}; {recipient.contact}" if contact else recipient.contact
        preparer = users.get(r.prepared_by)
        out.append(
            ReferralFacts(
                id=r.id,
                status=r.status,
                urgency=r.urgency,
                reason=decrypt(keys, r, "reason") or "" if item.shown else "",
                sender=agencies[r.from_agency_id].name if r.from_agency_id in agencies else "",
                recipient=recipient.name if recipient else "",
                recipient_external=bool(recipient and recipient.external),
                recipient_contact=contact,
                preparer=preparer.display_name if preparer else "",
                preparer_contact=decrypt(keys, r, "preparer_contact") or "",
                sent_at=r.created_at,
                status_changed_at=r.status_changed_at,
                status_reason=decrypt(keys, r, "status_reason"),
                due_on=r.due_on,
                identity=identity,
                categories=list(r.categories),
                screening_ids=shared.get(r.id, []),
            )
        )
    return out


def _agency_ids(referrals: Iterable[Referral]) -> set[str]:
    return {a for r in referrals for a in (r.from_agency_id, r.to_agency_id)}


def decrypt(keys: KeyRing, referral: Referral, name: str) -> str | None:
    """One of the referral's encrypted fields (`reason`, `recipient_contact`, ...), or None if not given."""
    value: str | None = getattr(referral, f"{name}_enc")
    return keys.decrypt(value, "referral", name, referral.id) if value else None


def _own_records(db: Session, keys: KeyRing, user: User, persons: set[str]) -> dict[str, YouthPublic]:
    """The user's agency's own records of these people (with its case numbers), by person."""
    if not persons:
        return {}
    rows = db.exec(
        select(Youth, YouthLink)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(col(YouthLink.agency_id) == user.agency_id, col(Youth.person_id).in_(persons))
    ).all()
    return {youth.person_id: records.public_of(keys, youth, link) for youth, link in rows}


def own_youth_ids(db: Session, user: User, referrals: Iterable[Referral]) -> dict[str, str]:
    """The user's agency's own record of each referred person, if it holds one: person id -> youth id."""
    persons = {r.person_id for r in referrals}
    if not persons:
        return {}
    rows = db.exec(
        select(Youth.person_id, Youth.id)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(col(YouthLink.agency_id) == user.agency_id, col(Youth.person_id).in_(persons))
    ).all()
    return dict(rows)


def _screening_ids(db: Session, referral_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in db.exec(select(ReferralScreening).where(col(ReferralScreening.referral_id).in_(referral_ids))):
        found.setdefault(row.referral_id, []).append(row.screening_id)
    return found


def events(db: Session, keys: KeyRing, referral: Referral) -> list[dict[str, Any]]:
    """The referral's status changes, oldest first, with who made them."""
    rows = db.exec(
        select(ReferralEvent, User, Agency)
        .join(Agency, col(Agency.id) == col(ReferralEvent.by_agency_id))
        .join(User, col(User.id) == col(ReferralEvent.by_user_id), isouter=True)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(col(ReferralEvent.at))
    ).all()
    return [
        {
            "at": event.at,
            "by_agency": agency.name,
            "by": by.display_name if by else None,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "reason": keys.decrypt(event.reason_enc, "referral_event", "reason", event.id)
            if event.reason_enc
            else None,
            "via": event.via,
        }
        for event, by, agency in rows
    ]


def record_views(db: Session, user: User, items: Iterable[Loaded]) -> None:
    """Write in the ledger that the recipient was shown who a referred youth is and why."""
    for item in items:
        if item.sender or item.grant is None:
            continue
        r = item.referral
        ledger.disclose(
            db,
            user,
            owner_agency_id=r.from_agency_id,
            person_id=r.person_id,
            kind="view",
            categories=["referral"],
            purpose=r.purpose,
            grant=Grant(item.grant, None),
        )


# Status --------------------------------------------------------------------------------------------------


def _settable(item: Loaded, external: bool) -> set[str]:
    """Every status the reader's side may ever set (a repeat of one of its own answers changes nothing)."""
    partner = {s for targets in RECIPIENT_MOVES.values() for s in targets}
    if item.sender:
        return {S.cancelled.value} | (partner if external else set())
    return partner


def moves(item: Loaded, external: bool) -> tuple[str, ...]:
    """The statuses the reader's agency may move the referral to now."""
    status = item.referral.status
    if status in FINAL:
        return ()
    if item.sender:
        by_hand = RECIPIENT_MOVES.get(status, ()) if external else ()
        return (*by_hand, S.cancelled)
    return RECIPIENT_MOVES.get(status, ())


def change_status(
    db: Session, keys: KeyRing, user: User, referral_id: str, change: StatusChange, via: str = "app"
) -> Referral:
    """Move a referral to a new status, if the reader's side may; audited and kept as an event."""
    item = load(db, user, referral_id)
    referral = item.referral
    recipient = db.get(Agency, referral.to_agency_id)
    external = bool(recipient and recipient.external)
    target = ReferralStatus(change.status)
    if target.value == referral.status and target.value in _settable(item, external):
        return referral  # the same answer twice (a double click, a repeated import) changes nothing
    if change.version is not None and change.version != referral.version:
        raise Conflict(_("This referral changed since you opened it. Look at it again before you change it."))
    if target.value not in moves(item, external):
        raise InvalidInput(
            _("A referral that is %(now)s cannot be marked %(then)s by your agency.")
            % {"now": status_label(referral.status), "then": status_label(target.value)},
            {"field": "status"},
        )
    if item.sender and via == "app" and target != S.cancelled:
        via = "by_hand"  # the sender records what a partner outside TellOnce told it
    reason = (change.reason or "").strip() or None
    if target in NEEDS_REASON and not reason:
        raise InvalidInput(_("Say why (the other agency reads it)."), {"field": "reason"})
    by_partner = not item.sender or external  # the partner's case number comes from the partner (or, by hand)
    if change.recipient_case_ref and not (target == S.accepted and by_partner):
        raise InvalidInput(
            _("The partner's case number is given when the partner accepts the referral."),
            {"field": "recipient_case_ref"},
        )
    if target == S.accepted and not item.sender:
        _take_on(db, keys, user, item, change.recipient_case_ref)
    elif change.recipient_case_ref:
        referral.recipient_case_ref_enc = keys.encrypt(
            change.recipient_case_ref, "referral", "recipient_case_ref", referral.id
        )
    _apply(db, keys, referral, target, reason, user=user, by_agency_id=user.agency_id, via=via)
    return referral


def _apply(
    db: Session,
    keys: KeyRing | None,
    referral: Referral,
    target: ReferralStatus,
    reason: str | None,
    *,
    user: User | None,
    by_agency_id: str,
    via: str,
) -> None:
    event = ReferralEvent(
        referral_id=referral.id,
        by_user_id=user.id if user else None,
        by_agency_id=by_agency_id,
        from_status=referral.status,
        to_status=target.value,
        via=via,
    )
    if reason and keys is not None:
        event.reason_enc = keys.encrypt(reason, "referral_event", "reason", event.id)
        referral.status_reason_enc = keys.encrypt(reason, "referral", "status_reason", referral.id)
    referral.status, referral.status_changed_at = target.value, utcnow()
    referral.version += 1
    db.add_all((event, referral))
    audit.record(
        db,
        "referral.status",
        actor_id=user.id if user else None,
        agency_id=by_agency_id,
        object_type="referral",
        object_id=referral.id,
        detail={"from": event.from_status, "to": target.value, "via": via},
    )
    db.flush()


def _take_on(db: Session, keys: KeyRing, user: User, item: Loaded, case_ref: str | None) -> None:
    """On accepting, the recipient holds a record of the youth: its own, or one made from the referral."""
    referral = item.referral
    if item.grant is None:
        raise InvalidInput(_("Sharing of this referral has ended; it cannot be accepted."), {"field": "status"})
    held = db.exec(
        select(Youth, YouthLink)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(col(YouthLink.agency_id) == user.agency_id, col(Youth.person_id) == referral.person_id)
    ).first()
    own = held[0] if held else None
    if held is not None:  # the partner's own record says its case number; a typed one does not override it
        case_ref = records.public_of(keys, held[0], held[1]).case_number
    if own is None:
        if not case_ref:
            raise InvalidInput(
                _("Give your agency's case number for this youth: accepting adds the youth to your records."),
                {"field": "recipient_case_ref"},
            )
        sender_youth = db.get(Youth, referral.youth_id)
        if sender_youth is None:
            raise NotFound(_("No such referral."))
        shared = records.public_of(keys, sender_youth, None)
        own = records.create(
            db,
            keys,
            user,
            YouthCreate(
                given_name=shared.given_name,
                family_name=shared.family_name,
                birth_date=shared.birth_date,
                case_number=case_ref,
            ),
        )
        from app.sharing.links import join_person  # sharing builds on records and referrals on both

        join_person(db, user, own, referral.person_id, consent_id=item.grant)
    if case_ref:
        referral.recipient_case_ref_enc = keys.encrypt(case_ref, "referral", "recipient_case_ref", referral.id)
    referral.recipient_youth_id = own.id


def consent_revoked(db: Session, consent: Consent) -> int:
    """Cancel the live referrals between the consent's two agencies about its person that no consent in force
    covers any more (the one revoked, or one it replaced); returns how many."""
    return _cancel_lapsed(
        db,
        _lapsed(
            (col(Referral.person_id) == consent.person_id)
            & (col(Referral.from_agency_id) == consent.from_agency_id)
            & (col(Referral.to_agency_id) == consent.to_agency_id)
        ),
    )


def settle_lapsed(db: Session, user: User) -> int:
    """Cancel the agency's live referrals (sent or received) whose consent ended without a revocation (it
    expired, or a change narrowed it): run before the agency's referrals are read."""
    return _cancel_lapsed(db, _lapsed_at_agency(), {"agency_id": user.agency_id})


@lru_cache(maxsize=1)
def _lapsed_at_agency() -> Any:
    """`settle_lapsed`'s statement, built once: it runs before every read of referrals, and building it (and the
    key SQLAlchemy caches its SQL under) cost more than running it."""
    agency: BindParameter[str] = bindparam("agency_id")
    return _lapsed((col(Referral.from_agency_id) == agency) | (col(Referral.to_agency_id) == agency))


@lru_cache(maxsize=1)  # the same for every request (it holds no time: see access._at)
def _covered() -> Any:
    """For the outer referral: a consent in force covers it."""
    return (
        select(Consent.id)
        .where(
            access.consent_covers(
                person_id=col(Referral.person_id),
                from_agency_id=col(Referral.from_agency_id),
                to_agency_id=col(Referral.to_agency_id),
                category=Category.result_summary,
                purpose=col(Referral.purpose),
            )
        )
        .correlate(Referral)
        .exists()
    )


def _lapsed(which: Any) -> Any:
    """The ids of the live referrals among `which` that no consent in force covers."""
    live = [s.value for s in ReferralStatus if s not in FINAL]
    return select(col(Referral.id)).where(which, col(Referral.status).in_(live), ~_covered())


def _cancel_lapsed(db: Session, query: Any, params: dict[str, Any] | None = None) -> int:
    # Ids first: nearly always none, and loading whole referrals (a wide row each) cost more than the question,
    # which every page that lists referrals asks.
    ids = db.exec(query, params=params or {}).all()
    rows = db.exec(select(Referral).where(col(Referral.id).in_(ids))).all() if ids else []
    for referral in rows:
        _apply(  # no free-text reason: the event's `via` says the consent was revoked
            db,
            None,
            referral,
            S.cancelled,
            None,
            user=None,
            by_agency_id=referral.from_agency_id,
            via="consent",
        )
    return len(rows)


def status_label(code: str) -> str:
    """The status in words, translated when shown (kept lazy: an error message is read in the reader's language)."""
    return STATUS_LABELS.get(code, code)
