"""SQLite writers of one process take turns in a first-come queue (app/sqlite_writes.py); PostgreSQL is untouched.

No timing is asserted: each test checks that every write lands, that nothing fails with "database is locked",
that the turn is given back, and (with a harness timeout on the threads) that nothing hangs.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app import audit, ratelimit, sqlite_writes
from app.models import AuditEvent, RateLimit, utcnow
from app.savepoint import savepoint
from tests.app.conftest import World, bearer, sign_in

HANG = 60.0  # seconds a thread may take before the test calls it a hang (the busy timeout is 30 s)


def _run(*targets: Callable[[], None]) -> None:
    """Run each target in a thread of its own; fail on any error or on a thread still running after HANG."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)
    assert not [t for t in threads if t.is_alive()], "a writer never finished (deadlock)"
    assert not errors, errors


def _queue(engine: Engine) -> sqlite_writes.WriterQueue:
    queue = sqlite_writes.queue_for(engine.url.database or "")
    assert queue is not None
    return queue


def _holds_turn(session: Session) -> bool:
    driver = session.connection().connection.dbapi_connection
    return isinstance(driver, sqlite_writes.QueuedConnection) and driver.holds_writer_turn


def test_concurrent_writers_with_sign_in_limits_and_audit_all_land(engine: Engine, world: World) -> None:
    """8 threads, each like a request: count a sign-in attempt on the limits' own connection, read, write,
    record an audit event (appended to the agency's chain at commit), commit. Nothing is lost or refused."""
    agency = world.agency()
    writers, rounds = 8, 6
    before = _queue(engine).waits if engine.dialect.name == "sqlite" else 0

    def writer(n: int) -> Callable[[], None]:
        def run() -> None:
            for r in range(rounds):
                with Session(engine) as db:
                    attempt = ratelimit.count_attempt(
                        db, [ratelimit.Bucket("test", f"w{n}", 1000)], timedelta(minutes=5)
                    )
                    assert not attempt.retry_after
                    db.exec(select(func.count()).select_from(RateLimit)).one()  # type: ignore[call-overload]
                    db.add(RateLimit(key=f"row:{n}:{r}", window_started_at=utcnow(), count=r))
                    audit.record(db, "test.write", agency_id=agency.id, object_id=f"{n}:{r}")
                    db.commit()
                    attempt.succeeded()

        return run

    _run(*(writer(n) for n in range(writers)))
    rows = world.session.exec(select(func.count()).select_from(RateLimit).where(RateLimit.key.startswith("row:")))  # type: ignore[call-overload,attr-defined]
    assert rows.one()[0] == writers * rounds
    written = world.session.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.write"))  # type: ignore[call-overload,arg-type]
    assert written.one()[0] == writers * rounds
    assert audit.verify(world.session) is None
    if engine.dialect.name == "sqlite":
        assert _queue(engine).waits > before, "the writers queued in Python, not in SQLite's busy handler"


def test_the_turn_is_given_back_on_commit_rollback_and_error(engine: Engine, world: World) -> None:
    agency = world.agency()
    with Session(engine) as db:
        db.exec(select(RateLimit)).all()
        assert not _holds_turn(db)  # reads take no turn
        db.add(RateLimit(key="a", window_started_at=utcnow()))
        db.flush()
        assert _holds_turn(db) is (engine.dialect.name == "sqlite")
        db.rollback()
        assert not _holds_turn(db)
        try:  # as the request's session dependency does on an error
            db.add(RateLimit(key="b", window_started_at=utcnow()))
            db.flush()
            raise RuntimeError("the request failed")
        except RuntimeError:
            db.rollback()
        assert not _holds_turn(db)
        duplicate = Session(engine)
        with pytest.raises(IntegrityError):  # the first write fails: it keeps no turn either
            duplicate.add(RateLimit(key=f"x{agency.id}", window_started_at=utcnow()))
            duplicate.add(RateLimit(key=f"x{agency.id}", window_started_at=utcnow()))
            duplicate.flush()
        duplicate.rollback()
        assert not _holds_turn(duplicate)
        duplicate.close()
    if engine.dialect.name == "sqlite":
        queue = _queue(engine)
        assert queue.acquire(0), "the turn was given back"
        queue.release()
    with Session(engine) as db:  # and nothing of the rolled-back work landed
        assert db.exec(select(RateLimit)).all() == []


def test_a_request_that_only_reads_takes_no_turn(engine: Engine, client: TestClient, world: World) -> None:
    """The API's reads and the pages' (the dashboard, the youth list) never wait behind a writer."""
    user = world.user(world.agency())
    headers = bearer(client, user)
    sign_in(client, user)
    turns = _queue(engine).turns if engine.dialect.name == "sqlite" else 0
    for _ in range(3):
        assert client.get("/api/v1/instruments", headers=headers).status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/youth").status_code == 200
    if engine.dialect.name == "sqlite":
        assert _queue(engine).turns == turns
    else:  # PostgreSQL's connections are psycopg's own, with no queue
        with engine.connect() as connection:
            assert not isinstance(connection.connection.dbapi_connection, sqlite_writes.QueuedConnection)


def test_a_savepoint_that_read_first_is_not_overtaken_by_another_writer(engine: Engine, world: World) -> None:
    """A savepoint opens its transaction with BEGIN and reads (a snapshot) before writing. If another writer
    committed in between, SQLite would refuse the upgrade at once (SQLITE_BUSY_SNAPSHOT, "database is locked");
    BEGIN takes the turn, so the other writer waits for this transaction instead."""
    read_done, other_done = threading.Event(), threading.Event()

    def reader_then_writer() -> None:
        with Session(engine) as db:
            with savepoint(db):
                db.exec(select(RateLimit)).all()
                read_done.set()
                other_done.wait(0.5)  # give the other writer its chance to commit in between
                db.add(RateLimit(key="savepoint", window_started_at=utcnow()))
            db.commit()

    def other_writer() -> None:
        assert read_done.wait(HANG)
        with Session(engine) as db:
            db.add(RateLimit(key="other", window_started_at=utcnow()))
            db.commit()
        other_done.set()

    _run(reader_then_writer, other_writer)
    assert set(world.session.scalars(select(RateLimit.key))) == {"savepoint", "other"}


def test_a_connection_waiting_behind_its_own_thread_gets_an_error_not_a_hang(tmp_path: Path) -> None:
    """Two connections of one thread: the second cannot write until the first ends, and says so after its
    timeout as SQLite would ("database is locked"), instead of waiting for ever."""
    path = str(tmp_path / "two.sqlite3")
    first = sqlite3.connect(path, timeout=0.2, factory=sqlite_writes.QueuedConnection)
    second = sqlite3.connect(path, timeout=0.2, factory=sqlite_writes.QueuedConnection)
    try:
        first.execute("CREATE TABLE t (x INTEGER)")
        first.execute("INSERT INTO t VALUES (1)")
        assert first.holds_writer_turn
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            second.execute("INSERT INTO t VALUES (2)")
        assert not second.holds_writer_turn
        first.commit()
        assert not first.holds_writer_turn
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        assert second.execute("SELECT count(*) FROM t").fetchone() == (2,)
        second.execute("INSERT INTO t VALUES (3)")
        second.close()  # closing with a transaction open gives the turn back too
        first.execute("INSERT INTO t VALUES (4)")
        first.commit()
        assert first.execute("SELECT count(*) FROM t").fetchone() == (3,)
    finally:
        first.close()
        second.close()


def test_writers_get_their_turns_in_the_order_they_came() -> None:
    queue = sqlite_writes.WriterQueue()
    assert queue.acquire(1)
    order: list[int] = []
    arrived = threading.Semaphore(0)

    def waiter(n: int) -> Callable[[], None]:
        def run() -> None:
            arrived.release()
            assert queue.acquire(HANG)
            order.append(n)
            queue.release()

        return run

    threads = []
    for n in range(5):  # each starts waiting before the next one starts
        before = queue.waits
        threads.append(threading.Thread(target=waiter(n), daemon=True))
        threads[-1].start()
        assert arrived.acquire(timeout=HANG)
        for _ in range(int(HANG * 1000)):  # until it is in line (it counts as waiting once it is)
            if queue.waits > before:
                break
            threading.Event().wait(0.001)
    assert not queue.acquire(0.01)  # a newcomer with a short timeout gives up, and leaves the line as it was
    queue.release()
    for thread in threads:
        thread.join(HANG)
    assert order == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT 1", False),
        ("  select * from t", False),
        ("PRAGMA journal_mode", False),
        ("WITH a AS (SELECT 1) SELECT * FROM a", False),
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", True),
        ("INSERT INTO t VALUES (1)", True),
        ("UPDATE t SET updated_at = 1", True),
        ("DELETE FROM t", True),
        ("BEGIN", True),
        ("SAVEPOINT sa_1", True),
        ("CREATE TABLE t (x)", True),
    ],
)
def test_which_statements_take_the_writer_turn(sql: str, writes: bool) -> None:
    assert sqlite_writes.is_write(sql) is writes
