"""Tables of referrals: one agency asks a partner to see a youth, and the partner's answer comes back.

Statuses are the FHIR Task codes used for referral management in HL7's SDOH Clinical Care guide, so
an export is a ServiceRequest with a Task whose status both sides update. Imported by `app.models`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models import UTCDateTime, new_id, utcnow


class ReferralStatus(StrEnum):
    """FHIR Task.status codes of a referral's life (SDOHCC TaskForReferralManagement)."""

    requested = "requested"
    received = "received"
    accepted = "accepted"
    rejected = "rejected"  # declined by the recipient, with a reason
    in_progress = "in-progress"
    completed = "completed"
    cancelled = "cancelled"  # by the sender, or because the consent it rests on ended


class Urgency(StrEnum):
    """FHIR ServiceRequest.priority codes."""

    routine = "routine"
    urgent = "urgent"
    asap = "asap"


class Referral(SQLModel, table=True):
    """A request from one agency to a partner to see a youth, with the screenings it shares."""

    # The referral lists: an agency's received (or sent) referrals, latest change first, a page at a time.
    __table_args__ = (
        Index("ix_referral_to_changed", "to_agency_id", "status_changed_at", "id"),
        Index("ix_referral_from_changed", "from_agency_id", "status_changed_at", "id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)
    youth_id: str = Field(foreign_key="youth.id", index=True, max_length=32)  # the sender's record
    from_agency_id: str = Field(foreign_key="agency.id", max_length=32)
    to_agency_id: str = Field(foreign_key="agency.id", max_length=32)
    consent_id: str = Field(foreign_key="consent.id", max_length=32)  # the consent it rests on
    purpose: str = Field(max_length=32)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    urgency: str = Field(default=Urgency.routine, max_length=16)
    reason_enc: str  # why the youth is referred, in the sender's words
    recipient_contact_enc: str | None = None  # a named person or desk at the recipient, if any
    prepared_by: str = Field(foreign_key="user.id", max_length=32)
    preparer_contact_enc: str  # how the recipient reaches the person who prepared it
    status: str = Field(default=ReferralStatus.requested, max_length=16, index=True)
    status_reason_enc: str | None = None  # why it was declined or cancelled, or the partner's note
    status_changed_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    recipient_case_ref_enc: str | None = None  # the recipient's case number, once it has one
    recipient_youth_id: str | None = Field(default=None, foreign_key="youth.id", max_length=32)
    due_on: date | None = None  # when the sender would like an answer, if it said
    version: int = 1


class ReferralScreening(SQLModel, table=True):
    """A screening a referral shares (read by the recipient through the one access gate)."""

    __tablename__ = "referral_screening"
    referral_id: str = Field(foreign_key="referral.id", primary_key=True, max_length=32)
    screening_id: str = Field(foreign_key="screening.id", primary_key=True, index=True, max_length=32)


class ReferralEvent(SQLModel, table=True):
    """One change of a referral's status: who, when, from what to what, why, and how it reached us."""

    __tablename__ = "referral_event"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    referral_id: str = Field(foreign_key="referral.id", index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by_user_id: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    by_agency_id: str = Field(foreign_key="agency.id", max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason_enc: str | None = None
    via: str = Field(default="app", max_length=16)  # app | by_hand (sender, for an external partner) | fhir | consent
