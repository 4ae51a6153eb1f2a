"""Shapes for consent, linking, break-glass and the disclosure ledger, shared by pages and API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.fields import Id, IsoDateTime, WholeNumber
from app.models_sharing import Category, ConsentMethod, Grantor, Purpose


class ConsentTerms(BaseModel):
    """What a release says: to whom, what, why, from when and until when, given how (the API's body)."""

    model_config = ConfigDict(str_strip_whitespace=True)
    to_agency_id: Id
    grantor: Grantor
    authority: str = Field(min_length=2, max_length=200)
    categories: list[Category] = Field(min_length=1, max_length=10)
    purpose: Purpose
    starts_at: IsoDateTime | None = None
    ends_at: IsoDateTime
    method: ConsentMethod

    @model_validator(mode="after")
    def _ends_after_start(self) -> ConsentTerms:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("the end date must be after the start date")
        return self


class ConsentCreate(ConsentTerms):
    """A release from the recording user's agency to another agency, about one of its youth."""

    youth_id: Id


class ConsentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    from_agency_id: str
    to_agency_id: str
    grantor: str
    authority: str
    categories: list[str]
    purpose: str
    starts_at: datetime
    ends_at: datetime
    method: str
    recorded_by: str
    recorded_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    supersedes: str | None
    superseded_at: datetime | None
    active: bool = False


class ConsentRevoke(BaseModel):
    """Why a consent is revoked (required: the consent service refuses a blank or overlong reason with a 400)."""

    reason: str | None = Field(default=None, max_length=2000)


class BreakGlassCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    reason: str = Field(min_length=20, max_length=2000)
    hours: WholeNumber = Field(default=24, ge=1, le=72)


class LinkRequest(BaseModel):
    """Link this record to a possible match (an opaque handle), under consent or, failing that, break-glass."""

    candidate: str = Field(min_length=1, max_length=64)
    break_glass: BreakGlassCreate | None = None


class CandidatePublic(BaseModel):
    """A possible match: an opaque handle, nothing about whose record it is or where."""

    candidate: str


class RecordLinkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    youth_id: str
    created_at: datetime
    consent_id: str | None
    break_glass_id: str | None
    undone_at: datetime | None


class BreakGlassPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class TimelineEntryPublic(BaseModel):
    """One screening of the person, here or at an agency that shares its summary (the API's and the pages' shape)."""

    model_config = ConfigDict(from_attributes=True)
    screening_id: str
    agency_name: str
    own: bool
    instrument_id: str
    instrument_version: str
    started_at: datetime
    completed_at: datetime | None
    overall_level: str | None


class DisclosurePublic(BaseModel):
    """One line of the account of disclosures: who saw what of the person's records, when, and why."""

    at: datetime
    kind: str
    viewer_agency: str
    viewer_name: str
    viewer_role: str
    owner_agency: str
    categories: list[str]
    purpose: str
    consent_id: str | None
    break_glass_id: str | None
    revision: int | None = None  # which revision of a screening's result was disclosed
    # What allowed it, in words a youth or guardian can check against their papers: who gave the consent and
    # from when it ran; when the emergency access began.
    consent_grantor: str | None = None
    consent_starts_at: datetime | None = None
    break_glass_at: datetime | None = None
    # Which screening was seen: its instrument and the day it was completed (or started, for a draft).
    instrument_id: str | None = None
    screening_on: datetime | None = None
