"""Tables of program evaluation: what was later learned about a screened youth.

An outcome is recorded by the agency that learned it, about its own youth record, with when and how
it was learned. It is never needed for care: nothing in scoring, next steps or sharing reads it. It
is the reference standard the performance report measures each instrument version against
(`app.evaluation`). Imported by `app.models`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.models import UTCDateTime, new_id, utcnow


class OutcomeKind(StrEnum):
    """What was later learned. `confirmed` counts as exploited, `not_indicated` as not; the rest is unknown."""

    confirmed = "confirmed"  # exploitation or trafficking confirmed by a later assessment, investigation or finding
    not_indicated = "not_indicated"  # no indication after a follow-up of `follow_up_months`
    lost_to_follow_up = "lost_to_follow_up"  # the youth could not be followed: counted as unknown


class OutcomeSource(StrEnum):
    """Where the knowledge came from."""

    later_assessment = "later_assessment"
    investigation = "investigation"
    court_finding = "court_finding"
    youth_disclosure = "youth_disclosure"
    service_record = "service_record"
    other = "other"


class Outcome(SQLModel, table=True):
    """One thing an agency later learned about a youth; corrected by withdrawing it, never by editing."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # The recording agency's record. The person is read through it (`youth.person_id`) whenever it is needed, never
    # copied here: undoing a link gives the record another person, and its outcomes must follow.
    youth_id: str = Field(foreign_key="youth.id", index=True, max_length=32)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    kind: str = Field(max_length=32, index=True)
    source: str = Field(max_length=32)
    learned_on: date = Field(index=True)
    follow_up_months: int | None = None  # how long the youth was followed (required for `not_indicated`)
    note_enc: str | None = None  # the recorder's words, encrypted; never in any report
    recorded_by: str = Field(foreign_key="user.id", max_length=32)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    withdrawn_reason_enc: str | None = None
