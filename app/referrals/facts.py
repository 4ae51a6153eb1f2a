"""What a referral says, decrypted for one reader: the summary, the pages and the FHIR export show these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Identity:
    """Who the youth is, as the consent allows the reader to know."""

    given_name: str
    family_name: str
    birth_date: date | None
    sender_case_ref: str | None = None  # the case number at the agency that holds the screening (the sender)
    recipient_case_ref: str | None = None  # the case number at the reader's agency (the recipient), once known


@dataclass(frozen=True)
class ReferralFacts:
    """One referral as its sender or recipient reads it."""

    id: str
    status: str  # a ReferralStatus value (FHIR Task code)
    urgency: str  # an Urgency value (FHIR ServiceRequest.priority)
    reason: str
    sender: str  # agency names
    recipient: str
    recipient_external: bool  # a partner outside TellOnce: the sender records its answers by hand
    recipient_contact: str | None  # the named person or desk, and the partner's intake contact
    preparer: str  # who prepared it, and how to reach them
    preparer_contact: str
    sent_at: datetime
    status_changed_at: datetime
    status_reason: str | None
    due_on: date | None
    identity: Identity
    categories: list[str] = field(default_factory=list)
    screening_ids: list[str] = field(default_factory=list)
