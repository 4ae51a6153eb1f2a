"""The performance report's stored roll-up: each completed screening classified once, kept in step on every write.

The report (`app.evaluation.performance`) counts a cohort of screenings by level, total, agency kind, half-year
and outcome class, and pairs each with the nearest screening of every other instrument taken by the same person.
Done on each request, that classifies every screening of the cohort against its person's outcomes and joins the
cohort with every other screening: seconds at a million screenings. So each completed screening's classification
under the report's defaults (`MIN_FOLLOW_UP_MONTHS`, `WINDOW_DAYS`) is stored here, per person, and the report
counts rows from one index. A report with other choices classifies on the fly, as before.

What a row holds depends only on the person's screenings, records and outcomes, so the roll-up is kept by one
rule: whenever a write touches any of them, the person's rows are derived again (`refresh`), in the same
transaction, before its outermost commit; only the rows that differ are written. Writes are noticed on the ORM
session (`_notice`, `_relinked`): a screening completed or amended; an outcome recorded or withdrawn; a record
linked to another person or unlinked. Every such write in the app goes through the ORM. Screenings stored
without it (a bulk load, or completed before the roll-up existed) have no rows: `backfill`, which `tellonce serve`
runs at start, then derives them all again. A write without the ORM that changes what a row was derived from
(a Core UPDATE of levels, a migration moving records) must call `refresh` for the people it touched.

The rules themselves are stated here once, one screening at a time (`condition`, `nearest_codes`); the report's
on-the-fly queries apply the same rules in SQL, and the tests check that the two agree.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, inspect, text, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import object_session
from sqlmodel import col, select

from app import levels
from app.models import Screening, ScreeningStatus, Youth
from app.models_evaluation import EvaluationFact, EvaluationPair, Outcome, OutcomeKind
from app.typed_sql import select_rows, table_of
from instruments.model import INSUFFICIENT, NOT_SCORED

WITH, WITHOUT, UNKNOWN = "with_condition", "without_condition", "outcome_unknown"
MIN_FOLLOW_UP_MONTHS = 6
WINDOW_DAYS = 30
# The levels an agreement pairs, in Python's order of the words (the nearest screening's ties go to the first);
# anything else (no level stored) had too little information.
PAIRED_LEVELS = tuple(sorted((levels.CLEAR, levels.POSSIBLE, levels.NONE, INSUFFICIENT)))
BATCH = 2000  # people per statement when deriving many

# What a screening's rows are derived from: a change to any of these attributes refreshes its person.
_SCREENING_FIELDS = (
    "status",
    "completed_at",
    "overall_level",
    "total_score",
    "instrument_id",
    "instrument_version",
    "agency_id",
    "youth_id",
)
# PostgreSQL: a transaction lock per bucket of people (a hash of the person, 256 buckets: a transaction holds at
# most 256 locks, whatever the number of people it touches), taken in the buckets' order; the two-number form
# with its own first number keeps these apart from the app's other advisory locks.
_PERSON_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(:space, bucket)) "
    "FROM (SELECT DISTINCT hashtext(person) & 255 AS bucket FROM unnest(CAST(:people AS text[])) AS person "
    "ORDER BY 1) AS buckets"
).bindparams(space=0x45_56_41)  # "EVA"
_PEOPLE = "evaluation_people"  # Session.info: people whose rows are derived again before the commit
_RECORDS = "evaluation_records"  # Session.info: youth records whose person is, at the commit


@dataclass(frozen=True, slots=True)
class Taken:
    """One completed screening of a person, as the rules read it."""

    id: str
    instrument_id: str
    instrument_version: str
    agency_id: str
    completed_at: datetime
    level: str | None
    total: float | None
    day: date  # the UTC calendar day of completion

    @classmethod
    def of(
        cls, id: str, instrument_id: str, version: str, agency_id: str, at: datetime, level: str | None, total: Any
    ) -> Taken:
        """A stored screening's fields (`at` read through UTCDateTime: in UTC): its day is the UTC day completed."""
        return cls(id, instrument_id, version, agency_id, at, level, total, at.date())


@dataclass(frozen=True, slots=True)
class Learned:
    """One outcome about a person that is not withdrawn."""

    agency_id: str
    kind: str
    learned_on: date
    follow_up_months: int  # 0 when none was given


def condition(day: date, known: Iterable[Learned], min_follow_up_months: int) -> str:
    """WITH, WITHOUT or UNKNOWN for a screening completed on `day`, by the reference standard
    (`app.evaluation.performance`'s docstring): an outcome counts when it was learned on or after that day."""
    after = [outcome for outcome in known if outcome.learned_on >= day]
    if any(outcome.kind == OutcomeKind.confirmed for outcome in after):
        return WITH
    if any(o.kind == OutcomeKind.not_indicated and o.follow_up_months >= min_follow_up_months for o in after):
        return WITHOUT
    return UNKNOWN


def rank(level: str | None) -> int:
    """An other screening's level as its place in PAIRED_LEVELS (no level counts as too little information)."""
    return PAIRED_LEVELS.index(level if level in PAIRED_LEVELS else INSUFFICIENT)


Pairable = dict[str, tuple[list[int], list[int]]]  # instrument -> its screenings' days (ordinals, sorted), ranks


def pairable(screenings: Iterable[Taken]) -> Pairable:
    """The screenings another may pair with, by instrument, in order of day (those without scoring rules pair with
    nothing)."""
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for other in screenings:
        if other.level != NOT_SCORED:
            found[other.instrument_id].append((other.day.toordinal(), rank(other.level)))
    return {
        instrument: ([d for d, _r in sorted(days)], [r for _d, r in sorted(days)]) for instrument, days in found.items()
    }


def nearest_codes(mine: Taken, others: Pairable, window_days: int) -> dict[str, int]:
    """Other instrument -> the code of its nearest screening in `others` within the window of days: days apart
    times len(PAIRED_LEVELS) plus its level's rank, the least (the nearest, then the first level). Screenings
    with the same instrument pair with nothing."""
    day, found = mine.day.toordinal(), {}
    for instrument, (days, ranks) in others.items():
        first, end = bisect_left(days, day - window_days), bisect_right(days, day + window_days)
        if instrument != mine.instrument_id and first < end:
            found[instrument] = min(abs(days[i] - day) * len(PAIRED_LEVELS) + ranks[i] for i in range(first, end))
    return found


def half_year(at: datetime) -> int:
    """year * 2 + (0 for January to June, 1 for July to December) of a stored moment (in UTC)."""
    return at.year * 2 + (1 if at.month > 6 else 0)


# Deriving ---------------------------------------------------------------------------------------------------


def refresh(db: OrmSession, people: Iterable[str], records: Iterable[str] = ()) -> None:
    """Derive again the rows of these people and of the people of these youth records, replacing what was stored.

    PostgreSQL, where several app servers write at once: two transactions deriving one person's rows together
    would each store what it saw, and the last to commit would leave out the other's change. So each first takes
    the people's locks (`_PERSON_LOCKS`), then reads the records' people again (a link may have moved a record to
    another person while it waited) until no new person appears, and only then reads and derives. SQLite lets one
    writer in at a time."""
    records = sorted(set(records))
    wanted = set(people) | _people_of(db, records)
    if db.connection().dialect.name == "postgresql":
        locked: set[str] = set()
        while wanted - locked:
            db.execute(_PERSON_LOCKS, {"people": sorted(wanted - locked)})
            locked |= wanted
            wanted |= _people_of(db, records)
    ordered = sorted(wanted)
    for start in range(0, len(ordered), BATCH):
        _refresh(db, ordered[start : start + BATCH])


_PEOPLE_OF = select(col(Youth.person_id)).where(col(Youth.id).in_(bindparam("records", expanding=True)))


def _people_of(db: OrmSession, records: list[str]) -> set[str]:
    """The people of youth records, as stored now (never as a session holds them: another may have linked one)."""
    found: set[str] = set()
    for start in range(0, len(records), BATCH):  # an import may touch more records than a statement takes values
        batch = {"records": records[start : start + BATCH]}
        found |= {person for person in db.execute(_PEOPLE_OF, batch).scalars() if person}
    return found


def _refresh(db: OrmSession, people: list[str], replace: bool = True) -> None:
    facts, pairs = derive(*_read(db, people))
    for model, rows in ((EvaluationFact, facts), (EvaluationPair, pairs)):
        if replace:
            _upsert(db, model, _changes(db, model, people, rows))
        else:
            _copy(db, model, rows)


def _changes(db: OrmSession, model: Any, people: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Delete the people's stored rows that are no longer derived; return the derived rows that are new or differ
    (completing a screening changes a row or two of a person's, not all of them)."""
    table = table_of(model)
    keys = [column.name for column in table.primary_key.columns]
    stored = {tuple(row[k] for k in keys): row for row in db.execute(_stored_of(model), {"people": people}).mappings()}
    derived = {tuple(row[k] for k in keys): row for row in rows}
    if gone := [key for key in stored if key not in derived]:
        db.execute(delete(table).where(tuple_(*(table.c[k] for k in keys)).in_(gone)))
    return [row for key, row in derived.items() if key not in stored or dict(stored[key]) != row]


@lru_cache(maxsize=4)
def _stored_of(model: Any) -> Any:
    """The stored rows of a model about some people (an expanding parameter), built once per model."""
    table = table_of(model)
    return table.select().where(table.c.person_id.in_(bindparam("people", expanding=True)))


def _upsert(db: OrmSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Store rows, replacing a row stored for the same screening under the record's previous person."""
    if not rows:
        return
    connection = db.connection()
    connection.execute(_upsert_of(connection.dialect.name, model, tuple(rows[0])), rows)


@lru_cache(maxsize=16)
def _upsert_of(dialect: str, model: Any, names: tuple[str, ...]) -> Any:
    """The upsert of a model's rows of these columns, built once per engine (every completion runs it)."""
    table = table_of(model)
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    keys = [column.name for column in table.primary_key.columns]
    replace = {name: upsert.excluded[name] for name in names if name not in keys}
    return upsert.on_conflict_do_update(index_elements=keys, set_=replace)


def _copy(db: OrmSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Store new rows into an emptied table (a rebuild): PostgreSQL copies them in bulk (SQLAlchemy's INSERTs cost
    per row in Python: a rebuild of a million screenings took minutes); SQLite's executemany is already fast."""
    if not rows:
        return
    table = table_of(model)
    connection = db.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    names = [column.name for column in table.columns]
    raw: Any = connection.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(name) for name in names])


# `_read`'s statements, built once (every completion runs them): the people are an expanding parameter.
_TAKEN = (
    select_rows(
        col(Youth.person_id),
        col(Screening.id),
        col(Screening.instrument_id),
        col(Screening.instrument_version),
        col(Screening.agency_id),
        col(Screening.completed_at),
        col(Screening.overall_level),
        col(Screening.total_score),
    )
    .join(Youth, col(Youth.id) == col(Screening.youth_id))
    .where(
        col(Youth.person_id).in_(bindparam("people", expanding=True)),
        col(Screening.status) == ScreeningStatus.completed,
        col(Screening.completed_at).is_not(None),
    )
)
_LEARNED = (
    select_rows(
        col(Youth.person_id),
        col(Outcome.agency_id),
        col(Outcome.kind),
        col(Outcome.learned_on),
        col(Outcome.follow_up_months),
    )
    .join(Youth, col(Youth.id) == col(Outcome.youth_id))
    .where(col(Youth.person_id).in_(bindparam("people", expanding=True)), col(Outcome.withdrawn_at).is_(None))
)


def _read(db: OrmSession, people: list[str]) -> tuple[dict[str, list[Taken]], dict[str, list[Learned]]]:
    """The people's completed screenings and the outcomes about them that are not withdrawn."""
    taken: dict[str, list[Taken]] = defaultdict(list)
    for person, *fields in db.execute(_TAKEN, {"people": people}).all():
        taken[person].append(Taken.of(*fields))
    known: dict[str, list[Learned]] = defaultdict(list)
    if taken:
        for person, agency_id, kind, learned_on, months in db.execute(_LEARNED, {"people": list(taken)}).all():
            known[person].append(Learned(agency_id, kind, learned_on, months or 0))
    return taken, known


def derive(
    taken: dict[str, list[Taken]], known: dict[str, list[Learned]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The roll-up's rows (facts, pairs) of people's completed screenings and outcomes, by the report's defaults."""
    facts: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for person, screenings in taken.items():
        outcomes = known.get(person, [])
        everyone = pairable(screenings)
        by_agency = {
            agency: pairable(s for s in screenings if s.agency_id == agency)
            for agency in {s.agency_id for s in screenings}
        }
        for mine in screenings:
            own = [o for o in outcomes if o.agency_id == mine.agency_id]
            of_cohort = {
                "screening_id": mine.id,
                "person_id": person,
                "instrument_id": mine.instrument_id,
                "instrument_version": mine.instrument_version,
                "agency_id": mine.agency_id,
                "completed_at": mine.completed_at,
                "level": mine.level,
            }
            facts.append(
                of_cohort
                | {
                    "half_year": half_year(mine.completed_at),
                    "total": mine.total,
                    "condition_all": condition(mine.day, outcomes, MIN_FOLLOW_UP_MONTHS),
                    "condition_own": condition(mine.day, own, MIN_FOLLOW_UP_MONTHS),
                }
            )
            everywhere = nearest_codes(mine, everyone, WINDOW_DAYS)
            here = nearest_codes(mine, by_agency[mine.agency_id], WINDOW_DAYS)
            pairs += [
                of_cohort | {"other_instrument": other, "code_all": code, "code_own": here.get(other)}
                for other, code in sorted(everywhere.items())
            ]
    return facts, pairs


def backfill(db: OrmSession) -> int:
    """When a completed screening has no row (screenings completed before the roll-up existed, or rows written
    without the ORM: a bulk load), derive every row again; returns how many people, 0 when none was missing."""
    missing = (
        select(col(Screening.id))
        .outerjoin(EvaluationFact, col(EvaluationFact.screening_id) == col(Screening.id))
        .where(
            col(Screening.status) == ScreeningStatus.completed,
            col(Screening.completed_at).is_not(None),
            col(EvaluationFact.screening_id).is_(None),
        )
        .limit(1)
    )
    return rebuild(db) if db.execute(missing).first() is not None else 0


def rebuild(db: OrmSession) -> int:
    """Derive every row again, person by person in batches (memory stays flat); returns how many people."""
    db.execute(delete(EvaluationPair))
    db.execute(delete(EvaluationFact))
    everyone = (
        select(col(Youth.person_id))
        .join(Screening, col(Screening.youth_id) == col(Youth.id))
        .where(col(Screening.status) == ScreeningStatus.completed, col(Screening.completed_at).is_not(None))
        .distinct()
        .order_by(col(Youth.person_id))
    )
    people = list(db.execute(everyone).scalars())
    for start in range(0, len(people), BATCH):
        _refresh(db, people[start : start + BATCH], replace=False)  # nothing is left to replace
    return len(people)


# Keeping in step --------------------------------------------------------------------------------------------


@event.listens_for(OrmSession, "before_flush")
def _notice(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Note the records of screenings and outcomes a pending write changes (for a screening: one the report
    counts, or counted, or a field it reads)."""
    records: set[str] = session.info.setdefault(_RECORDS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if (isinstance(obj, Screening) and _changed(obj)) or isinstance(obj, Outcome):
            records.add(obj.youth_id)


def _changed(screening: Screening) -> bool:
    """Whether a write changes a screening the report counts (completed: a new one stored completed by an import or
    the demo, one completed now, or an amendment), in a field the roll-up reads."""
    state = inspect(screening)
    completed = ScreeningStatus.completed
    if screening.status != completed and completed not in state.attrs.status.history.deleted:
        return False  # a draft (started, saved, discarded) is not counted
    return state.pending or any(state.attrs[name].history.has_changes() for name in _SCREENING_FIELDS)


@event.listens_for(Youth.person_id, "set", active_history=True)
def _relinked(youth: Youth, value: str | None, previous: Any, _initiator: Any) -> None:
    """A record linked to another person, or unlinked: both people's rows change."""
    session = object_session(youth)
    # A new record's first person (previous None) has nothing derived yet.
    if session is not None and isinstance(previous, str) and value != previous:
        people: set[str] = session.info.setdefault(_PEOPLE, set())
        people.update(person for person in (value, previous) if isinstance(person, str))


# First among the commit's listeners: the audit chain's head (`app.audit`) must stay the last lock a transaction takes.
@event.listens_for(OrmSession, "before_commit", insert=True)
def settle(session: OrmSession) -> None:
    """Derive again the rows of every person a write of this transaction touched: before the outermost commit, and
    before the report reads the roll-up in a transaction that wrote. Not at a savepoint's release: an enclosing
    savepoint that rolled back would take the derived rows with it, and leave nothing noted to derive again."""
    if session.in_nested_transaction():
        return
    if not (session.info.get(_RECORDS) or session.info.get(_PEOPLE) or session.new or session.dirty):
        return
    session.flush()  # notices what is still pending
    records, people = session.info.pop(_RECORDS, set()), session.info.pop(_PEOPLE, set())
    if records or people:
        refresh(session, people, records)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: Any) -> None:
    """A transaction that ends without its commit (rolled back) leaves nothing to derive. A savepoint's end
    keeps what its enclosing transaction noticed: deriving more people than needed is only slower."""
    if transaction.parent is not None:
        return
    session.info.pop(_RECORDS, None)
    session.info.pop(_PEOPLE, None)
