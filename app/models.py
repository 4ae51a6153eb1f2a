"""Every table, in one module (SQLModel's advice against circular imports).

Identifiers, answers, notes and results are stored encrypted (see `app.crypto`); the `*_enc`
columns hold AES-GCM ciphertext bound to their table, column and row. Ids are random UUIDs,
known before insert (encryption binds to them) and revealing no counts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, MetaData, UniqueConstraint, event
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def new_id() -> str:
    """A random id for a new row."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite has no time zones, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AgencyKind(StrEnum):
    child_welfare = "child_welfare"
    probation = "probation"
    health = "health"
    school = "school"
    shelter = "shelter"
    youth_program = "youth_program"
    victim_service = "victim_service"
    other = "other"


class Role(StrEnum):
    system_admin = "system_admin"
    agency_admin = "agency_admin"
    supervisor = "supervisor"
    # Follows up screened youth and measures the program: reads the agency's records as staff do, records what
    # was later learned, reads the de-identified reports; never exports, breaks glass or administers.
    evaluator = "evaluator"
    screener = "screener"


class ScreeningStatus(StrEnum):
    in_progress = "in_progress"
    completed = "completed"
    discarded = "discarded"  # a draft nobody will finish: kept for the audit, hidden from lists, not resumable


class Agency(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    resources: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    confidentiality_notice: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = 1
    # A partner outside TellOnce (no accounts): consents name it, referrals to it go out as a PDF and a
    # FHIR bundle, and the sender records its answers by hand. `contact` is how to reach its intake.
    external: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    contact: str | None = Field(default=None, max_length=500)


class User(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=32)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    # The language this person reads TellOnce in (app.i18n.LANGUAGES), whatever language a youth answers in.
    language: str = Field(default="en", max_length=8, sa_column_kwargs={"server_default": "en"})


class AuthSession(SQLModel, table=True):
    """A server-side sign-in: a browser session or an API token. Only a hash of the token is kept."""

    __tablename__ = "auth_session"
    id: str = Field(primary_key=True, max_length=64)  # sha256 of the token
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    kind: str = Field(max_length=8)  # web | api
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_for: str | None = Field(default=None, max_length=32)  # a screening handed to a youth on this device


class RateLimit(SQLModel, table=True):
    """Attempts per key in a window; kept in the database so limits hold across app servers."""

    __tablename__ = "rate_limit"
    key: str = Field(primary_key=True, max_length=128)
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    count: int = 0


class Youth(SQLModel, table=True):
    """One youth's record; identifiers encrypted, with keyed blind indexes for matching."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    given_name_enc: str
    family_name_enc: str
    birth_date_enc: str
    name_index: str = Field(index=True, max_length=64)
    birth_date_index: str = Field(index=True, max_length=64)
    # Records with the same person_id are one person, linked across agencies under consent
    # (never automatically). A new record is its own person.
    person_id: str = Field(index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(foreign_key="user.id", max_length=32)
    version: int = 1


class YouthLink(SQLModel, table=True):
    """An agency's link to a youth record, under its own case number."""

    __tablename__ = "youth_link"
    __table_args__ = (
        UniqueConstraint("agency_id", "case_number_index", name="uq_youth_link_case_number"),
        # The youth list: an agency's records, newest added first, a page at a time by (created_at, id).
        Index("ix_youth_link_agency_created", "agency_id", "created_at", "id"),
        # Every access check: does this agency hold a link to this record? Both columns, so no engine reads the
        # agency's every link to answer it (SQLite, without statistics, did with an index on one of them).
        Index("ix_youth_link_youth_agency", "youth_id", "agency_id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    youth_id: str = Field(foreign_key="youth.id", max_length=32)
    agency_id: str = Field(foreign_key="agency.id", max_length=32)
    case_number_enc: str
    case_number_index: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(foreign_key="user.id", max_length=32)


class Screening(SQLModel, table=True):
    """One administration of one instrument version to one youth, by one agency."""

    # Each list, report and export reads its screenings in its own order; these indexes give each its order (or its
    # groups) straight from the index, so a page or a batch costs the same at a thousand rows or a million. They make
    # plain indexes on agency_id and on status redundant (each is a prefix of one of them).
    __table_args__ = (
        # The dashboard: an agency's newest first (filtered by date or not).
        Index("ix_screening_agency_started", "agency_id", "started_at", "id"),
        # Exports: an agency's completed screenings by completion time, paged by (completed_at, id).
        Index("ix_screening_agency_completed", "agency_id", "status", "completed_at", "id"),
        # Aggregate reports: completed screenings counted by agency, month, instrument and level from the index alone,
        # for one agency or (status alone) the whole deployment.
        Index("ix_screening_report", "status", "agency_id", "completed_month", "instrument_id", "overall_level"),
        # A youth record's screenings (at the agency, completed, newest first): the record page's follow-up and the
        # referral form ask for them, and a person's timeline or pairs go through them (migration 0020).
        Index("ix_screening_youth", "youth_id", "agency_id", "status", "completed_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    youth_id: str = Field(foreign_key="youth.id", max_length=32)
    agency_id: str = Field(foreign_key="agency.id", max_length=32)
    instrument_id: str = Field(max_length=100, index=True)
    instrument_version: str = Field(max_length=32)
    content_hash: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    language: str = Field(max_length=8)
    status: str = Field(default=ScreeningStatus.in_progress, max_length=16)
    notes_enc: str | None = None
    started_by: str = Field(foreign_key="user.id", index=True, max_length=32)
    started_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first day of the UTC month of completion, kept in step with completed_at on every write (see
    # `_keep_completed_month`): reports group on it instead of computing a month from every row.
    completed_month: date | None = None
    overall_level: str | None = Field(default=None, max_length=32, index=True)
    # The instrument's declared total (e.g. the count of 'yes'), for instruments that declare one; kept
    # beside the level so an evaluation reads it without decrypting the result (ROC curves, cut-offs).
    total_score: float | None = None
    version: int = 1
    # The self-administered page the youth last had open (1-based): resuming returns there.
    youth_page: int | None = None
    # The number of the current (latest) revision of the result; an amendment adds one.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    discarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    discarded_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    discard_reason_enc: str | None = None
    # When to screen the youth again (UTC day), from the next steps of the overall level; with which instrument.
    rescreen_due_on: date | None = Field(default=None, index=True)
    rescreen_instrument_id: str | None = Field(default=None, max_length=100)


def month_of(at: datetime | None) -> date | None:
    """The first day of the UTC calendar month of a moment (None for none)."""
    if at is None:
        return None
    at = at.astimezone(UTC) if at.tzinfo is not None else at  # a naive one is refused when it is written
    return date(at.year, at.month, 1)


@event.listens_for(Screening, "before_insert")
@event.listens_for(Screening, "before_update")
def _keep_completed_month(_mapper: Any, _connection: Any, screening: Screening) -> None:
    """Whoever sets completed_at (completing, importing, the demo's back-dating), its month follows."""
    screening.completed_month = month_of(screening.completed_at)


class ScreeningLevel(SQLModel, table=True):
    """The level of one domain of a completed screening's current result, stored in the clear beside the
    encrypted result (as `screening.overall_level` is) so reports count levels by domain without decrypting.

    Written at completion and replaced at each amendment; results stored before this table existed get theirs
    from `app.screenings.report_levels.backfill`. Levels use the words pages show (`app.levels.shown`).
    """

    __tablename__ = "screening_level"
    screening_id: str = Field(foreign_key="screening.id", primary_key=True, max_length=32)
    domain_id: str = Field(primary_key=True, max_length=100)
    level: str = Field(max_length=32)


class Answer(SQLModel, table=True):
    """One stored answer; its value is encrypted JSON."""

    screening_id: str = Field(foreign_key="screening.id", primary_key=True, max_length=32)
    item_id: str = Field(primary_key=True, max_length=100)
    value_enc: str
    source: str = Field(default="given", max_length=16)  # given | carried | corrected (by staff, after completion)
    carried_from: str | None = Field(default=None, foreign_key="screening.id", max_length=32)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    # A carried answer counts only once confirmed: kept by the youth ("still true"), or by staff in a
    # staff-administered mode. Until then it is shown, never scored. (Given answers need no confirming.)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)


class ScreeningResult(SQLModel, table=True):
    """The scored result of a completed screening, with its reasons (encrypted JSON)."""

    __tablename__ = "screening_result"
    screening_id: str = Field(foreign_key="screening.id", primary_key=True, max_length=32)
    overall_level: str = Field(max_length=32)
    result_enc: str
    engine_version: str = Field(max_length=16)
    scored_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScreeningRevision(SQLModel, table=True):
    """One revision of a completed screening's answers and result: the original, then each correction.

    The `answer` and `screening_result` rows always hold the latest revision, so every reader of them
    sees the current result; earlier revisions stay readable here. Answers, result and reason are
    encrypted JSON/text bound to this row.
    """

    __tablename__ = "screening_revision"
    __table_args__ = (UniqueConstraint("screening_id", "number", name="uq_screening_revision_number"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    screening_id: str = Field(foreign_key="screening.id", max_length=32)
    number: int  # 1 is the result as first completed
    answers_enc: str  # {item id: {"value", "source", "carried_from"}} as they stood in this revision
    result_enc: str
    overall_level: str = Field(max_length=32)
    engine_version: str = Field(max_length=16)
    reason_enc: str | None = None  # why it was amended (None for the original)
    author_id: str | None = Field(default=None, foreign_key="user.id", max_length=32)  # None: the youth, on their own
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of who did what; never names or answers.

    Each event is one link of its chain (its agency's, or "system"): `position` counts from 0 within the
    chain and `prev_hash` is the hash of the link before. `seq` orders events across chains for display.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_chain_position", "chain", "position", unique=True),)
    seq: int | None = Field(default=None, primary_key=True)
    chain: str = Field(default="system", max_length=64)
    position: int = Field(default=-1)  # set when the event is appended, at commit
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    actor_id: str | None = Field(default=None, max_length=32, index=True)
    agency_id: str | None = Field(default=None, max_length=32, index=True)
    action: str = Field(max_length=64)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="ok", max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditChain(SQLModel, table=True):
    """The head of one audit chain: its last event's position and hash (-1 and the genesis hash before any).

    Appending takes this row's lock, so two transactions never extend a chain from the same link.
    """

    __tablename__ = "audit_chain"
    name: str = Field(primary_key=True, max_length=64)
    position: int
    hash: str = Field(max_length=64)


class YouthAccess(SQLModel, table=True):
    """How a youth opens a self-administered screening: handed an agency device, or a private link and code.

    Only keyed hashes of the link token and the resume code are stored.
    """

    __tablename__ = "youth_access"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    screening_id: str = Field(foreign_key="screening.id", index=True, max_length=32)
    kind: str = Field(max_length=16)  # handoff | link
    link_index: str = Field(max_length=64, unique=True)
    code_index: str = Field(max_length=64, index=True)
    created_by: str = Field(foreign_key="user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)


class YouthSession(SQLModel, table=True):
    """A youth's session on the self-administered pages; only a hash of the cookie token is kept."""

    __tablename__ = "youth_session"
    id: str = Field(primary_key=True, max_length=64)
    access_id: str = Field(foreign_key="youth_access.id", index=True, max_length=32)
    screening_id: str = Field(foreign_key="screening.id", index=True, max_length=32)
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_reason: str | None = Field(default=None, max_length=16)  # exit | pause | finished | idle | revoked


class YouthSearchKey(SQLModel, table=True):
    """A keyed blind index of one search token of an agency's record: a name prefix or part of its case number.

    The agency's id is inside the keyed hash, so the same name at two agencies gives two keys and a search
    never reaches another agency's record (see `app.records.search`).
    """

    __tablename__ = "youth_search_key"
    link_id: str = Field(foreign_key="youth_link.id", primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64, index=True)


class InstrumentVersion(SQLModel, table=True):
    """The content hash of every instrument version a screening used: a published version never changes.

    Start-up refuses a loaded file whose hash differs from the one stored here (see app.instrument_versions).
    """

    __tablename__ = "instrument_version"
    instrument_id: str = Field(primary_key=True, max_length=100)
    version: str = Field(primary_key=True, max_length=32)
    content_hash: str = Field(max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


from app.models_referrals import Referral, ReferralEvent, ReferralScreening  # noqa: E402
from app.models_sharing import (  # noqa: E402  (registers the sharing tables on the same metadata)
    BreakGlass,
    Consent,
    Disclosure,
    MatchKey,
    RecordLink,
)

__all__ = [
    "BreakGlass",
    "Consent",
    "Disclosure",
    "MatchKey",
    "RecordLink",
    "Referral",
    "ReferralEvent",
    "ReferralScreening",
]

import app.evaluation.rollup  # noqa: E402  (keeps the performance report's roll-up in step with every write)
import app.instrument_versions  # noqa: E402  (records the instrument version of every new screening)
import app.models_evaluation  # noqa: E402,F401  (registers the outcome table; importable first on its own)
