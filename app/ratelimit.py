"""Fixed-window rate limits kept in the database, so they hold across several app servers.

An attempt is counted before the expensive work it guards (an argon2 verification, a resume-code
lookup), by one atomic statement per bucket:

    INSERT INTO rate_limit (key, window_started_at, count) VALUES (:key, :now, 1)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN window expired THEN 1 ELSE count + 1 END,
        window_started_at = CASE WHEN window expired THEN :now ELSE window_started_at END
    RETURNING count, window_started_at

run in its own short transaction on its own connection and committed at once. So concurrent
attempts see each other's counts immediately (the database serialises the upserts on the row), two
first attempts cannot collide on the key, and a request that later fails and rolls back does not
undo its count. An attempt whose count is over a bucket's limit is refused without doing the work.

The API cannot be used in the racy order: the only way to learn whether to proceed is
`count_attempt`, which has already counted. A success then calls `Attempt.succeeded()`: buckets
that identify the one who proved themselves (an account from one address or one browser, a link)
start again from zero; shared buckets (a whole account, a whole address) get the slot back, so
they end up counting failures and attempts still in flight.

An attempt that is refused gives its slot back in every bucket within the same transaction (it
was never evaluated), so a stored count means "attempts evaluated (or in flight) this window" and
an attacker hammering a closed bucket does not inflate it, nor leave a row behind for each email
it invents. Refusals are counted on their own, in a row next to the refusing bucket's (its key
plus ":refused", on the same window), so `Attempt.first_refusal` says when a refusal is the first
of its bucket's window: the one worth an audit event. Expired rows are deleted, a bounded batch
at a time, whenever an attempt opens a new row or window in a scope (`PRUNE_BATCH`).

On SQLite, call `count_attempt` before the request's own session writes anything: SQLite has one
writer at a time, and the request's open write would make the rate-limit connection wait for it.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.models import RateLimit, utcnow
from app.typed_sql import table_of

_TABLE = table_of(RateLimit)
PRUNE_BATCH = 200  # expired rows deleted at most per scope, each time an attempt opens a new row or window
_REFUSED = ":refused"


def key(scope: str, subject: str) -> str:
    """The stored key of a bucket: the scope and a hash of the subject (no email or address in clear)."""
    return f"{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:48]}"


@dataclass(frozen=True)
class Bucket:
    """One counter: `limit` attempts per window for `subject` within `scope`."""

    scope: str
    subject: str
    limit: int
    # True: a success starts this bucket again from zero (it names the one who proved themselves);
    # False: a success only gives its own slot back (a shared bucket, an account or an address).
    reset_on_success: bool = False

    @property
    def key(self) -> str:
        return key(self.scope, self.subject)


@dataclass
class Attempt:
    """One counted attempt: whether to refuse it, and how to settle it afterwards."""

    engine: Engine
    counted: list[tuple[Bucket, datetime]]  # each bucket and the start of the window it was counted in
    retry_after: int  # seconds until every refusing bucket's window ends; 0 means go ahead
    # refused, and the first refusal of some refusing bucket in its window (audit this one, not the rest)
    first_refusal: bool = False
    refused_by: tuple[str, ...] = ()  # the scopes of the buckets that refused it
    settled: bool = field(default=False)

    def succeeded(self) -> None:
        """The attempt proved itself: reset its own buckets, give the slot back in shared ones."""
        self._settle(reset=True)

    def give_back(self) -> None:
        """The attempt was never evaluated (the server was busy): return its slot in every bucket."""
        self._settle(reset=False)

    def _settle(self, *, reset: bool) -> None:
        if self.settled:
            return
        self.settled = True
        with self.engine.begin() as connection:
            for bucket, started in sorted(self.counted, key=lambda entry: entry[0].key):
                if reset and bucket.reset_on_success:
                    connection.execute(delete(_TABLE).where(_TABLE.c.key == bucket.key))
                else:
                    connection.execute(
                        update(_TABLE)
                        .where(_TABLE.c.key == bucket.key, _TABLE.c.window_started_at == started, _TABLE.c.count > 0)
                        .values(count=_TABLE.c.count - 1)
                    )


_side_engines: dict[Engine, Engine] = {}
_side_lock = threading.Lock()


def _engine_of(db: Session) -> Engine:
    """The engine rate limits run on. On PostgreSQL a small pool of its own: a request holds its
    session's connection while it counts or settles an attempt, and taking the second connection
    from the same pool could wait forever once every pooled connection is held by such a request.
    SQLite's engine has no pool to run out of."""
    bind = db.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name == "sqlite":
        return engine
    with _side_lock:
        side = _side_engines.get(engine)
        if side is None:
            from app.db import make_engine  # the same pool, prepared-statement and naming settings as the app's

            side = _side_engines[engine] = make_engine(engine.url.render_as_string(hide_password=False))
            event.listen(engine, "engine_disposed", _dispose_side_engine)
        return side


def _dispose_side_engine(engine: Engine) -> None:
    with _side_lock:
        side = _side_engines.pop(engine, None)
    if side is not None:
        side.dispose()


def _dialect(connection: Connection) -> Any:
    return postgresql if connection.dialect.name == "postgresql" else sqlite


def _count(connection: Connection, bucket_key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    insert = _dialect(connection).insert(_TABLE).values(key=bucket_key, window_started_at=now, count=1)
    expired = _TABLE.c.window_started_at <= now - window
    statement = insert.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={
            "count": case((expired, 1), else_=_TABLE.c.count + 1),
            "window_started_at": case((expired, insert.excluded.window_started_at), else_=_TABLE.c.window_started_at),
        },
    ).returning(_TABLE.c.count, _TABLE.c.window_started_at)
    count, started = connection.execute(statement).one()
    return int(count), started


def _uncount(connection: Connection, bucket_key: str) -> None:
    """Give back the slot this transaction just took; a row left at zero goes (a refused attempt leaves none)."""
    connection.execute(
        update(_TABLE).where(_TABLE.c.key == bucket_key, _TABLE.c.count > 0).values(count=_TABLE.c.count - 1)
    )
    connection.execute(delete(_TABLE).where(_TABLE.c.key == bucket_key, _TABLE.c.count <= 0))


def _count_refusal(connection: Connection, bucket_key: str, started: datetime) -> int:
    """Count a refusal of the bucket in its window (the window that started at `started`); returns how many."""
    insert = _dialect(connection).insert(_TABLE).values(key=bucket_key + _REFUSED, window_started_at=started, count=1)
    same_window = _TABLE.c.window_started_at == insert.excluded.window_started_at
    statement = insert.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={
            "count": case((same_window, _TABLE.c.count + 1), else_=1),
            "window_started_at": insert.excluded.window_started_at,
        },
    ).returning(_TABLE.c.count)
    return int(connection.execute(statement).scalar_one())


def _prune(connection: Connection, scope: str, cutoff: datetime) -> None:
    """Delete up to PRUNE_BATCH rows of the scope whose window ended. Rows another transaction holds
    are skipped (PostgreSQL), so pruning never waits for, nor deadlocks with, a concurrent attempt."""
    expired = (
        select(_TABLE.c.key)
        .where(_TABLE.c.key.startswith(f"{scope}:", autoescape=True), _TABLE.c.window_started_at <= cutoff)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    connection.execute(delete(_TABLE).where(_TABLE.c.key.in_(expired)))


def count_attempt(db: Session, buckets: Sequence[Bucket], window: timedelta) -> Attempt:
    """Count one attempt in every bucket, committed at once on a connection of its own; the result
    says whether the attempt is over a limit (refuse it, without doing the work) or may proceed."""
    engine = _engine_of(db)
    now = utcnow()
    counted: list[tuple[Bucket, datetime]] = []
    over: list[tuple[Bucket, datetime]] = []
    opened: set[str] = set()
    with engine.begin() as connection:
        # in key order, so two attempts sharing buckets lock them in the same order (no deadlock)
        for bucket in sorted(buckets, key=lambda b: b.key):
            count, started = _count(connection, bucket.key, now, window)
            counted.append((bucket, started))
            if count > bucket.limit:
                over.append((bucket, started))
            if count == 1:
                opened.add(bucket.scope)
        attempt = Attempt(engine, counted, 0)
        if over:
            # never evaluated: its slot goes back everywhere, before anyone else can see it
            for bucket, _started in counted:
                _uncount(connection, bucket.key)
            refusals = [_count_refusal(connection, bucket.key, started) for bucket, started in over]
            retry_after = max(math.ceil((started + window - now).total_seconds()) for _bucket, started in over)
            attempt = Attempt(
                engine,
                [],
                max(retry_after, 1),
                first_refusal=1 in refusals,
                refused_by=tuple(sorted({bucket.scope for bucket, _started in over})),
            )
        for scope in sorted(opened):
            _prune(connection, scope, now - window)
    return attempt


def current_count(db: Session, scope: str, subject: str) -> int:
    """How many attempts the bucket holds now: evaluated (or in flight) this window; for tests and operators."""
    row = db.get(RateLimit, key(scope, subject))
    return row.count if row is not None else 0


def refused_count(db: Session, scope: str, subject: str) -> int:
    """How many attempts the bucket refused in its latest window (0 when none); for tests and operators."""
    row = db.get(RateLimit, key(scope, subject) + _REFUSED)
    return row.count if row is not None else 0
