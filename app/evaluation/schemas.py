"""Shapes of an outcome, shared by the pages and the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.fields import IsoDate, WholeNumber, no_control
from app.models_evaluation import OutcomeKind, OutcomeSource

MAX_NOTE = 2000
MAX_FOLLOW_UP_MONTHS = 240


class OutcomeCreate(BaseModel):
    """What was later learned about a youth, when, and from where."""

    model_config = ConfigDict(str_strip_whitespace=True)
    kind: OutcomeKind
    source: OutcomeSource
    learned_on: IsoDate
    follow_up_months: WholeNumber | None = Field(default=None, ge=1, le=MAX_FOLLOW_UP_MONTHS, validate_default=True)
    note: str | None = Field(default=None, max_length=MAX_NOTE)

    @field_validator("note")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return no_control(value) or None

    @field_validator("follow_up_months")
    @classmethod
    def _follow_up_when_not_indicated(cls, value: int | None, info: ValidationInfo) -> int | None:
        """ "No indication" means nothing without how long the youth was followed (located on this field)."""
        if value is None and info.data.get("kind") is OutcomeKind.not_indicated:
            raise ValueError("is required when the outcome is not_indicated: how many months the youth was followed")
        return value


class OutcomeWithdraw(BaseModel):
    """Why a recorded outcome is withdrawn (it stays, marked, for the audit)."""

    model_config = ConfigDict(str_strip_whitespace=True)
    reason: str = Field(min_length=3, max_length=MAX_NOTE)

    _text = field_validator("reason")(no_control)


class OutcomePublic(BaseModel):
    """An outcome as its reader may see it: another agency's only under a consent covering notes."""

    id: str
    youth_id: str | None  # the reader's own record; None for another agency's outcome
    agency_id: str
    agency_name: str
    own: bool
    kind: OutcomeKind
    source: OutcomeSource
    learned_on: date
    follow_up_months: int | None
    note: str | None
    recorded_at: datetime
    recorded_by: str | None  # the recorder's display name; None for another agency's outcome
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
