"""Tables of program evaluation: what was later learned about a screened youth.

An outcome is recorded by the agency that learned it, about its own youth record, with when and how
it was learned. It is never needed for care: nothing in scoring, next steps or sharing reads it. It
is the reference standard the performance report measures each instrument version against
(`app.evaluation`). Imported by `app.models`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
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


class EvaluationFact(SQLModel, table=True):
    """One completed screening as the performance report counts it, kept in step by `app.evaluation.rollup`.

    Derived, never edited by hand: everything here can be computed again from screenings, records and outcomes
    (`rollup.refresh`), and is, whenever one of them changes for the person. The report counts these rows instead
    of classifying every screening of a cohort against its person's outcomes on each request."""

    __tablename__ = "evaluation_fact"
    __table_args__ = (
        # The cohort (one instrument version, in scope, in the months), with what it is counted by, from the index.
        Index(
            "ix_evaluation_fact_cohort",
            "instrument_id",
            "instrument_version",
            "agency_id",
            "completed_at",
            "level",
            "total",
            "half_year",
            "condition_all",
            "condition_own",
        ),
    )
    screening_id: str = Field(foreign_key="screening.id", primary_key=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)  # the person of the screening's record when it was derived
    instrument_id: str = Field(max_length=100)
    instrument_version: str = Field(max_length=32)
    agency_id: str = Field(max_length=32)
    completed_at: datetime = Field(sa_type=UTCDateTime)
    half_year: int  # year * 2 + (0 for January to June, 1 for July to December), UTC
    level: str | None = Field(default=None, max_length=32)
    total: float | None = None
    # WITH, WITHOUT or UNKNOWN by the reference standard with the report's default follow-up, counting every
    # agency's outcomes about the person (deployment scope) or only those of the screening's agency (agency scope).
    condition_all: str = Field(max_length=20)
    condition_own: str = Field(max_length=20)


class EvaluationPair(SQLModel, table=True):
    """A completed screening's nearest screening with another instrument, by the same person, within the report's
    default window: the agreement figures count these. `code_*` is the pair's days apart times the number of
    levels plus the other's level rank (`rollup.PAIRED_LEVELS`); None when there is none in that scope."""

    __tablename__ = "evaluation_pair"
    __table_args__ = (
        Index(
            "ix_evaluation_pair_cohort",
            "instrument_id",
            "instrument_version",
            "agency_id",
            "completed_at",
            "other_instrument",
            "level",
            "code_all",
            "code_own",
        ),
    )
    screening_id: str = Field(foreign_key="screening.id", primary_key=True, max_length=32)
    other_instrument: str = Field(primary_key=True, max_length=100)
    person_id: str = Field(index=True, max_length=32)
    instrument_id: str = Field(max_length=100)
    instrument_version: str = Field(max_length=32)
    agency_id: str = Field(max_length=32)
    completed_at: datetime = Field(sa_type=UTCDateTime)
    level: str | None = Field(default=None, max_length=32)
    code_all: int | None = None  # nearest among every agency's screenings (deployment scope)
    code_own: int | None = None  # nearest among the screening's agency's screenings (agency scope)
