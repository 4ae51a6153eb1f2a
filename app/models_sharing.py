"""Tables for sharing across agencies: consent, record links, break-glass, the disclosure ledger, and the
identifiers a partner's system uses for an agency's youth (to match the subject of an imported response).

Imported by `app.models`, so every table is on the one metadata.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models import UTCDateTime, new_id, utcnow


class Category(StrEnum):
    """What a consent lets one agency see of another's records."""

    result_summary = "result_summary"
    item_answers = "item_answers"
    notes = "notes"


class Purpose(StrEnum):
    care_coordination = "care_coordination"
    referral = "referral"
    treatment = "treatment"


class Grantor(StrEnum):
    youth = "youth"
    parent_guardian = "parent_guardian"
    custodial_agency = "custodial_agency"
    court = "court"


class ConsentMethod(StrEnum):
    written = "written"
    electronic_signature = "electronic_signature"
    verbal_pending_written = "verbal_pending_written"


class Consent(SQLModel, table=True):
    """A release of information from one agency to another about one person, for a time.

    Modelled close to FHIR Consent. A change creates a new consent that supersedes the old one.
    """

    # "Which consents about this person go from that agency to this one?" is asked for every shared row a page, a
    # referral check or an export reads: one index answers it in a probe (migration 0019).
    __table_args__ = (Index("ix_consent_person_to_from", "person_id", "to_agency_id", "from_agency_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(max_length=32)
    from_agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    to_agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    grantor: str = Field(max_length=32)
    authority: str = Field(max_length=200)
    # One column per category, so the access check filters in SQL the same way on every engine.
    result_summary: bool = False
    item_answers: bool = False
    notes: bool = False
    purpose: str = Field(max_length=32)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    method: str = Field(max_length=32)
    recorded_by: str = Field(foreign_key="user.id", max_length=32)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    revoke_reason_enc: str | None = None  # why it was revoked, as told by the person who revoked it
    supersedes: str | None = Field(default=None, foreign_key="consent.id", max_length=32)
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def categories(self) -> list[str]:
        """The categories this consent covers."""
        return [c.value for c in Category if getattr(self, c.value)]


class RecordLink(SQLModel, table=True):
    """An agency's record joined to a person's record elsewhere, under a consent or a break-glass."""

    __tablename__ = "record_link"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    youth_id: str = Field(foreign_key="youth.id", index=True, max_length=32)
    previous_person_id: str = Field(max_length=32)
    person_id: str = Field(index=True, max_length=32)
    linked_by: str = Field(foreign_key="user.id", max_length=32)
    consent_id: str | None = Field(default=None, foreign_key="consent.id", max_length=32)
    break_glass_id: str | None = Field(default=None, foreign_key="break_glass.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)


class BreakGlass(SQLModel, table=True):
    """A supervisor's time-limited, reasoned, always-audited access to another agency's records."""

    __tablename__ = "break_glass"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)
    reason_enc: str
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Disclosure(SQLModel, table=True):
    """One cross-agency view or export: who saw what of whom, when, and under which authority."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    person_id: str = Field(index=True, max_length=32)
    viewer_id: str = Field(foreign_key="user.id", max_length=32)
    viewer_agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    owner_agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    screening_id: str | None = Field(default=None, foreign_key="screening.id", max_length=32)
    revision: int | None = None  # which revision of the screening's result was disclosed
    kind: str = Field(max_length=16)  # view | export | carry_forward
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=32)
    consent_id: str | None = Field(default=None, foreign_key="consent.id", max_length=32)
    break_glass_id: str | None = Field(default=None, foreign_key="break_glass.id", max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MatchKey(SQLModel, table=True):
    """A keyed blind index of one normalized or variant form of a record's identifiers."""

    __tablename__ = "match_key"
    youth_id: str = Field(foreign_key="youth.id", primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64, index=True)


class YouthIdentifier(SQLModel, table=True):
    """An identifier a partner's system uses for one of an agency's youth (e.g. its MRN system and value), so that an
    imported QuestionnaireResponse whose subject carries it is matched to this record.

    The value is kept only as a keyed hash (bound to the agency and the system, `app.records.identifiers`): the table
    says which identifier belongs to whom only to someone who already has the identifier and the index key. Each
    agency has its own: another agency's identifiers are never used to match its imports.
    """

    __tablename__ = "youth_identifier"
    __table_args__ = (UniqueConstraint("agency_id", "system", "value_index", name="uq_youth_identifier_value"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agency.id", max_length=32)
    youth_id: str = Field(foreign_key="youth.id", index=True, max_length=32)
    system: str = Field(max_length=255)  # the identifier's namespace, a URI (not personal data)
    value_index: str = Field(max_length=64)
    recorded_by: str = Field(foreign_key="user.id", max_length=32)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
