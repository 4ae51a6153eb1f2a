"""API: send a referral, list the inbox and the sent ones with counts per status, read one, change its status."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlmodel import Session

from app import paging
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep
from app.errors import Conflict, InvalidInput, NotFound, responses
from app.models import User
from app.models_referrals import ReferralStatus
from app.referrals import service
from app.referrals.schemas import (
    PartnerPublic,
    ReferralCreate,
    ReferralEventPublic,
    ReferralList,
    ReferralPublic,
    StatusChange,
)

router = APIRouter(tags=["referrals"])


def public(db: Session, keys: KeyRing, user: User, item: service.Loaded, with_events: bool = False) -> ReferralPublic:
    """One referral as the caller's agency sees it (a recipient's view goes in the ledger)."""
    service.record_views(db, user, [item])
    return _public(db, keys, user, [item], with_events)[0]


def _public(
    db: Session, keys: KeyRing, user: User, items: list[service.Loaded], with_events: bool = False
) -> list[ReferralPublic]:
    out = []
    own = service.own_youth_ids(db, user, [i.referral for i in items if i.shown])
    for item, facts in zip(items, service.facts(db, keys, user, items), strict=True):
        r, who = item.referral, facts.identity
        out.append(
            ReferralPublic(
                id=r.id,
                status=r.status,
                urgency=r.urgency,
                reason=facts.reason,
                from_agency_id=r.from_agency_id,
                from_agency=facts.sender,
                to_agency_id=r.to_agency_id,
                to_agency=facts.recipient,
                to_external=facts.recipient_external,
                recipient_contact=facts.recipient_contact if item.shown else None,
                prepared_by=facts.preparer,
                preparer_contact=facts.preparer_contact,
                youth_id=own.get(r.person_id) if item.shown else None,
                given_name=who.given_name,
                family_name=who.family_name,
                birth_date=who.birth_date,
                sender_case_ref=who.sender_case_ref,
                recipient_case_ref=who.recipient_case_ref,
                screening_ids=facts.screening_ids if item.shown else [],
                categories=facts.categories,
                purpose=r.purpose,
                consent_id=r.consent_id,
                sent_at=r.created_at,
                status_changed_at=r.status_changed_at,
                status_reason=facts.status_reason,
                due_on=r.due_on,
                version=r.version,
                events=[ReferralEventPublic(**e) for e in service.events(db, keys, r)] if with_events else [],
            )
        )
    return out


@router.get("/referrals/partners", response_model=list[PartnerPublic], responses=responses())
def list_partners(db: SessionDep, user: ApiUserDep) -> list[PartnerPublic]:
    """The agencies your agency may refer to (each needs the youth's consent, checked when you send)."""
    return [PartnerPublic.model_validate(a) for a in service.partners(db, user)]


@router.post("/referrals", response_model=ReferralPublic, status_code=201, responses=responses(InvalidInput, NotFound))
def send_referral(data: ReferralCreate, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> ReferralPublic:
    """Refer one of your agency's youth to a partner, sharing completed screenings.

    Refused (400, `detail.field = "consent"`) unless a consent in force from your agency to the partner
    covers every category and the purpose.
    """
    referral = service.send(db, keys, user, data)
    return public(db, keys, user, service.load(db, user, referral.id), with_events=True)


@router.get("/referrals", response_model=ReferralList, responses=responses(InvalidInput, NotFound))
def list_referrals(
    db: SessionDep,
    keys: KeysDep,
    user: ApiUserDep,
    box: Literal["inbox", "sent"] = "inbox",
    status: ReferralStatus | None = None,
    after: str | None = None,
) -> ReferralList:
    """A page of the referrals your agency received (`inbox`) or sent (`sent`), latest change first, with
    counts per status. `next` is given when there are more: pass it as `after` for the next page."""
    page = service.listed(db, user, box, status.value if status else None, after=paging.parse(after))
    service.record_views(db, user, page.items)
    return ReferralList(
        items=_public(db, keys, user, page.items), counts=service.counts(db, user, box), next=page.next_token
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic, responses=responses(NotFound))
def read_referral(referral_id: str, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> ReferralPublic:
    """One referral your agency sent or received, with its history of status changes (the partner's first read
    marks it received)."""
    return public(db, keys, user, service.opened(db, keys, user, referral_id), with_events=True)


@router.post(
    "/referrals/{referral_id}/status",
    response_model=ReferralPublic,
    responses=responses(InvalidInput, NotFound, Conflict),
)
def change_status(
    referral_id: str, change: StatusChange, db: SessionDep, keys: KeysDep, user: ApiUserDep
) -> ReferralPublic:
    """Move a referral on: the recipient marks it received, accepted, declined (reason required), in progress,
    completed; the sender cancels it (reason required), or, for a partner outside TellOnce, records its answers."""
    service.change_status(db, keys, user, referral_id, change)
    return public(db, keys, user, service.load(db, user, referral_id), with_events=True)
