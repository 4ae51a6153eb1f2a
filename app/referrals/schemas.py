"""Shapes of a referral, shared by the pages and the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.fields import Id, IsoDate, WholeNumber, no_control
from app.models_referrals import ReferralStatus, Urgency
from app.models_sharing import Category, Purpose

MAX_REASON = 2000


class ReferralCreate(BaseModel):
    """A referral of one of the sender's youth to a partner, with the screenings and categories it shares."""

    model_config = ConfigDict(str_strip_whitespace=True)
    youth_id: Id
    to_agency_id: Id
    screening_ids: list[Id] = Field(min_length=1, max_length=20)
    categories: list[Category] = Field(default=[Category.result_summary], min_length=1, max_length=10)
    purpose: Purpose = Purpose.referral
    urgency: Urgency = Urgency.routine
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    recipient_contact: str | None = Field(default=None, max_length=500)
    preparer_contact: str = Field(min_length=3, max_length=300)
    due_on: IsoDate | None = None

    @field_validator("categories")
    @classmethod
    def _with_result_summary(cls, value: list[Category]) -> list[Category]:
        """A referral always shares the result; answers and notes only on top of it."""
        unique = list(dict.fromkeys(value))
        if Category.result_summary not in unique:
            unique.insert(0, Category.result_summary)
        return unique

    @field_validator("screening_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("recipient_contact")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    _text = field_validator("reason", "recipient_contact", "preparer_contact")(no_control)


class StatusChange(BaseModel):
    """A new status for a referral; a reason is needed to decline or cancel."""

    model_config = ConfigDict(str_strip_whitespace=True)
    status: ReferralStatus
    reason: str | None = Field(default=None, max_length=MAX_REASON)
    recipient_case_ref: str | None = Field(default=None, max_length=64)
    version: WholeNumber | None = None  # the version the person saw; a stale one is refused (409)

    _text = field_validator("reason", "recipient_case_ref")(no_control)


class PartnerPublic(BaseModel):
    """An agency a referral may go to: in this deployment, or outside TellOnce (`external`)."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str
    external: bool
    contact: str | None


class ReferralEventPublic(BaseModel):
    at: datetime
    by_agency: str
    by: str | None
    from_status: str | None
    to_status: str
    reason: str | None
    via: str


class ReferralPublic(BaseModel):
    """A referral as its sender or recipient sees it."""

    id: str
    status: str
    urgency: str
    reason: str
    from_agency_id: str
    from_agency: str
    to_agency_id: str
    to_agency: str
    to_external: bool
    recipient_contact: str | None
    prepared_by: str
    preparer_contact: str
    youth_id: str | None  # the reader's own record of the youth, if it holds one
    given_name: str
    family_name: str
    birth_date: date | None
    sender_case_ref: str | None
    recipient_case_ref: str | None
    screening_ids: list[str]
    categories: list[str]
    purpose: str
    consent_id: str
    sent_at: datetime
    status_changed_at: datetime
    status_reason: str | None
    due_on: date | None
    version: int
    events: list[ReferralEventPublic] = []


class ReferralList(BaseModel):
    """A page of referrals and the count per status of all of them (the filters aside)."""

    items: list[ReferralPublic]
    counts: dict[str, int]
    next: str | None = Field(default=None, description="The `after` value of the next page; none on the last.")
