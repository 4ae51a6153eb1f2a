"""Shapes for consent, linking, break-glass and the disclosure ledger, shared by pages and API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models_sharing import Category, ConsentMethod, Grantor, Purpose


class ConsentCreate(BaseModel):
    """A release from the recording user's agency to another agency, about one of its youth."""

    model_config = ConfigDict(str_strip_whitespace=True)
    youth_id: str
    to_agency_id: str
    grantor: Grantor
    authority: str = Field(min_length=2, max_length=200)
    categories: list[Category] = Field(min_length=1)
    purpose: Purpose
    starts_at: datetime | None = None
    ends_at: datetime
    method: ConsentMethod

    @model_validator(mode="after")
    def _ends_after_start(self) -> ConsentCreate:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("the end date must be after the start date")
        return self


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
    supersedes: str | None
    superseded_at: datetime | None
    active: bool = False


class BreakGlassCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    reason: str = Field(min_length=20, max_length=2000)
    hours: int = Field(default=24, ge=1, le=72)
