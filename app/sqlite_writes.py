"""SQLite writers take turns in a queue in this process, not in SQLite's busy handler.

SQLite lets one connection write at a time. A connection that wants to write while another holds the
write lock waits in SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10, ... 100 ms) and
retries: it wakes late after the writer commits, and a newcomer can take the lock in between, so under
a few concurrent writers some requests wait many steps (the issue measured a p99 over 1 s at 8 clients).

Here every connection of the app's SQLite engine (a `QueuedConnection`, see `app.db`) takes a first-come, first-served
lock of its database file before its first write statement (INSERT, UPDATE, DELETE, DDL, BEGIN,
SAVEPOINT: anything but a read), and gives it back as soon as it is no longer in a transaction: after
COMMIT or ROLLBACK, after a write that SQLite committed on its own (autocommit), after a failed
statement that opened nothing, or when the connection closes. The next writer in line is woken at once.

- Reads never take it (WAL lets them run beside a writer). Python's sqlite3 opens a transaction only
  before a write, so a request's reads before its first write run outside any transaction, and its
  first write starts a fresh transaction: no old snapshot that would then fail to upgrade
  (SQLITE_BUSY_SNAPSHOT). `app.savepoint` opens its transaction with BEGIN, which takes the lock, so
  the reads inside a savepoint see nothing that another writer of this process commits meanwhile.
- It cannot deadlock with itself: a connection holds at most one lock, and waiting for it happens before
  its statement, never while SQLite holds anything for it. A connection that waits for it holds no SQLite
  lock (its reads ended, or it had none). Two connections of one request (the sign-in limits count on
  their own connection, `app.ratelimit`) wait for each other exactly as they would in SQLite: that is why
  the limits are counted before the request writes. Waiting ends after the connection's busy timeout
  with SQLite's own "database is locked", so a mistake is an error, never a hang.
- Other processes (a second worker, the command line) still meet this process's writers in SQLite's
  busy handler, as before: the queue orders only this process's writers.
- An in-memory database is private to its connection: nothing to queue.

Checkpoints are SQLite's own (inside the COMMIT that takes the WAL past 1000 pages). Running them instead
after a writer gave its turn back (wal_autocheckpoint=0 and a PASSIVE checkpoint every 100 writer commits) took
the worst COMMIT in bench/web.py from 260 ms to 40 ms, but made the SQLite tests about 50% slower (a test file
of 11 s took 17 s); it was taken out, and is a lead for the next step (issue 14).
"""

from __future__ import annotations

import collections
import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

_READ = re.compile(r"\s*(?:SELECT|PRAGMA|EXPLAIN|VALUES)\b", re.IGNORECASE)
_WITH = re.compile(r"\s*WITH\b", re.IGNORECASE)
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def is_write(sql: str) -> bool:
    """Whether a statement may write: anything but SELECT, PRAGMA, EXPLAIN, VALUES and a WITH that only reads."""
    if _READ.match(sql):
        return False
    if _WITH.match(sql):
        return _WRITE_WORD.search(sql) is not None
    return True


class WriterQueue:
    """A lock that is handed to its waiters in the order they came (threading.Lock promises no order)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self.turns = 0  # how many times it was taken, and how many of those had to wait (for tests)
        self.waits = 0

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most `timeout` seconds behind those already waiting; False if it timed out."""
        with self._mutex:
            self.turns += 1
            if not self._held:
                self._held = True
                return True
            self.waits += 1
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:  # release() handed it over just as the wait timed out: it is ours
                return True
        return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays held: ownership passes directly
            else:
                self._held = False


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def queue_for(database: str) -> WriterQueue | None:
    """The process's writer queue of a database file (None for an in-memory database)."""
    path = database.removeprefix("file:").split("?", 1)[0]
    if path in ("", ":memory:") or "mode=memory" in database:
        return None
    path = os.path.realpath(path)
    with _queues_lock:
        return _queues.setdefault(path, WriterQueue())


class QueuedCursor(sqlite3.Cursor):
    """A cursor whose connection takes its turn in the writer queue before a write statement."""

    connection: QueuedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> QueuedCursor:
        self.connection._before(sql)
        try:
            super().execute(sql, parameters)
        finally:
            self.connection._after()
        return self

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> QueuedCursor:
        self.connection._before(sql)
        try:
            super().executemany(sql, parameters)
        finally:
            self.connection._after()
        return self

    def executescript(self, script: str, /) -> QueuedCursor:
        self.connection._before("script")
        try:
            super().executescript(script)
        finally:
            self.connection._after()
        return self


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's writer queue from its first write to the end of its
    transaction (pass it as `factory` to sqlite3.connect)."""

    def __init__(self, database: str, timeout: float = 5.0, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, timeout, *args, **kwargs)
        self._queue = queue_for(os.fsdecode(database))
        self._timeout = timeout
        self._holding = False

    def cursor(self, factory: Any = QueuedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> Any:
        return self.cursor().executescript(script)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._after()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._after()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()

    @property
    def holds_writer_turn(self) -> bool:
        """Whether this connection holds its database's writer queue now."""
        return self._holding

    def _before(self, sql: str) -> None:
        if self._queue is None or self._holding or not is_write(sql):
            return
        if not self._queue.acquire(self._timeout):
            raise sqlite3.OperationalError("database is locked")  # what SQLite says when its own wait runs out
        self._holding = True

    def _after(self) -> None:
        if self._holding and not self.in_transaction:
            self._give_back()

    def _give_back(self) -> None:
        if self._holding and self._queue is not None:
            self._holding = False
            self._queue.release()
