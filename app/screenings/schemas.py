"""Screening shapes, shared by pages and API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainValidator, StringConstraints, WithJsonSchema, field_validator

from app.fields import Code, Id, IsoDateTime
from app.versions import Version

MAX_ANSWER = 10**12  # no instrument asks for a larger number; beyond it no number answer is read
MAX_TEXT_ANSWER = 20000
ANSWER_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_TEXT_ANSWER},
        {"type": "number", "minimum": -MAX_ANSWER, "maximum": MAX_ANSWER},
        {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 200},
        {"type": "null"},
    ]
}


def answer_value(value: Any) -> Any:
    """An answer as it was sent: text, a finite number within ±10^12, a list of option codes, or null.

    Strict, so JSON `true` is never the number 1 nor "12" the number 12 (the answer checks then say what
    each item takes); one error per answer, at the answer's item id.
    """
    if value is None or (isinstance(value, str) and len(value) <= MAX_TEXT_ANSWER):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and -MAX_ANSWER <= value <= MAX_ANSWER:
        return value  # NaN fails the comparison
    if isinstance(value, list) and len(value) <= 200 and all(isinstance(v, str) and len(v) <= 100 for v in value):
        return value
    raise ValueError("must be an answer: text, a number within ±10^12, a list of option codes, or null")


AnswerValue = Annotated[
    str | int | float | list[str] | None, PlainValidator(answer_value), WithJsonSchema(ANSWER_SCHEMA)
]
AnswerKey = Annotated[str, StringConstraints(max_length=100)]
MAX_ANSWERS = 1000  # items answered in one request


class ScreeningCreate(BaseModel):
    youth_id: Id
    instrument_id: Code
    instrument_version: Code | None = None
    mode: Literal["practitioner", "interview", "self"]
    language: Code = "en"


class AnswersSave(BaseModel):
    """Answers to save: item id -> answer (None clears it). `version` is the one you last read."""

    version: Version
    answers: dict[AnswerKey, AnswerValue] = Field(default_factory=dict, max_length=MAX_ANSWERS)
    notes: str | None = Field(default=None, max_length=20000)
    confirm: list[AnswerKey] = Field(
        default_factory=list,
        max_length=MAX_ANSWERS,
        description="Carried answers (item ids) that staff confirmed with the youth are still true: "
        "a carried answer counts in the result only once confirmed.",
    )


class Complete(BaseModel):
    version: Version


GivenBy = Literal["self_report", "interview", "staff"]


class StoredAnswer(BaseModel):
    """An answer with where it was first given: `origin_*` is this screening's own agency and screening for a
    given answer, and the earlier screening for a carried one (kept through any number of hops)."""

    value: Any
    source: str
    carried_from: str | None = None
    updated_at: datetime
    origin_agency_id: str | None = None
    given_at: datetime | None = None
    given_by: GivenBy = "staff"
    confirmed: bool = True  # False for a carried answer nobody has confirmed yet: shown, never scored

    @property
    def youth_words(self) -> bool:
        """Said by the youth (self-report or interview), not a staff member's rating or correction."""
        return self.given_by != "staff" and self.source != "corrected"


class ScreeningPublic(BaseModel):
    id: str
    youth_id: str
    instrument_id: str
    instrument_version: str
    content_hash: str
    mode: str
    language: str
    status: str
    started_by: str
    started_at: datetime
    completed_at: datetime | None
    overall_level: str | None
    version: Version
    revision: int = 1  # the current revision of the result (an amendment adds one)
    discarded_at: datetime | None = None
    discard_reason: str | None = None
    answers: dict[str, StoredAnswer] = Field(default_factory=dict)
    notes: str | None = None


class DashboardFilter(BaseModel):
    """Filters of the dashboard; a date-time without a time zone is taken as UTC."""

    level: (
        Literal["clear_concern", "possible_concern", "insufficient_information", "no_concern", "not_scored"] | None
    ) = None
    instrument_id: str | None = None
    screener_id: str | None = None
    status: Literal["in_progress", "completed"] | None = None
    date_from: IsoDateTime | None = None
    date_to: IsoDateTime | None = None

    @field_validator("date_from", "date_to")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Amend(BaseModel):
    """A correction of a completed screening: the answers to change (None clears one), why, and the
    `version` you last read. The screening is rescored on the same instrument version."""

    version: Version
    answers: dict[AnswerKey, AnswerValue] = Field(min_length=1, max_length=MAX_ANSWERS)
    reason: Reason


class Discard(BaseModel):
    """Discard a draft nobody will finish, saying why; `version` is the one you last read."""

    version: Version
    reason: Reason


class RevisionSummary(BaseModel):
    """One revision in a screening's history (reason and author: the owning agency only)."""

    number: int
    created_at: datetime
    overall_level: str
    amended: bool
    author_id: str | None = None
    reason: str | None = None


class RevisionPublic(RevisionSummary):
    """One revision with its result, "revision `number` of `of`"; its answers for the owning agency only."""

    screening_id: str
    of: int
    engine_version: str
    result: dict[str, Any]
    answers: dict[str, Any] | None = None
