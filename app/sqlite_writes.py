"""SQLite writers take turns in a queue in this process and a file lock between processes, not in SQLite's busy
handler.

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
- Between processes (a second worker, the command line), the one whose turn it is in its own queue also
  takes a lock of the file `<database>-writer.lock` (`WriterFileLock`, an flock): a writer of another
  process waits for it in the kernel, which wakes it as the lock is let go, instead of in SQLite's busy
  handler (with two workers that handler took a save's p99 to over 1 s at 8 clients in bench/web.py).
  The kernel lets the lock go when its process ends, however it ends. Programs that are not TellOnce
  (the sqlite3 shell) still meet TellOnce's writers in SQLite's busy handler, as before.
- An in-memory database is private to its connection: nothing to queue.

Checkpoints are SQLite's own (inside the COMMIT that takes the WAL past 1000 pages). Running them instead
after a writer gave its turn back (wal_autocheckpoint=0 and a PASSIVE checkpoint every 100 writer commits) took
the worst COMMIT in bench/web.py from 260 ms to 40 ms, but made the SQLite tests about 50% slower (a test file
of 11 s took 17 s); it was taken out, and is a lead for the next step (issue 14).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import re
import sqlite3
import threading
import time
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


class WriterFileLock:
    """A database's writer lock among processes: an exclusive flock of `<database>-writer.lock`.

    Only the thread whose turn it is in the process's `WriterQueue` asks for it, so at most one thread of a
    process waits for it at a time. A kernel wait has no timeout, so the wait runs in a helper thread while
    the asking thread waits on an Event with its timeout: if the asker gives up, the helper lets the lock go
    the moment it gets it (or hands it to the process's next asker, if one came meanwhile).
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}-writer.lock"
        self._mutex = threading.Lock()
        self._fd = -1
        self._pid = 0
        self._helper = False  # a helper thread is waiting in the kernel for the lock
        self._claim: threading.Event | None = None  # whom the helper hands the lock to (None: let it go)

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most `timeout` seconds for another process to let it go."""
        with self._mutex:
            if not self._helper:
                fd = self._open()
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    self._helper = True
                    threading.Thread(target=self._wait, args=(fd,), name="sqlite writer lock", daemon=True).start()
            claim = self._claim = threading.Event()
        if claim.wait(timeout):
            return True
        with self._mutex:
            if claim.is_set():  # handed over just as the wait timed out: it is ours
                return True
            self._claim = None
        return False

    def release(self) -> None:
        with self._mutex:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _wait(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with self._mutex:
            self._helper = False
            claim, self._claim = self._claim, None
            if claim is None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                claim.set()

    def _open(self) -> int:
        """The lock file's descriptor, opened once per process (a forked child opens its own: an inherited
        descriptor would share the parent's lock)."""
        if self._pid != os.getpid():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if self._pid and self._fd >= 0:  # the parent's, inherited across a fork
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            self._fd, self._pid = fd, os.getpid()
        return self._fd


class WriterTurn:
    """A database file's turn to write: first this process's queue, then the lock among processes."""

    def __init__(self, path: str) -> None:
        self.queue = WriterQueue()
        self.file_lock = WriterFileLock(path)

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.queue.acquire(timeout):
            return False
        if self.file_lock.acquire(max(0.0, deadline - time.monotonic())):
            return True
        self.queue.release()
        return False

    def release(self) -> None:
        try:
            self.file_lock.release()
        finally:
            self.queue.release()


_turns: dict[str, WriterTurn] = {}
_turns_lock = threading.Lock()


def turn_for(database: str) -> WriterTurn | None:
    """The process's writer turn of a database file (None for an in-memory database)."""
    path = database.removeprefix("file:").split("?", 1)[0]
    if path in ("", ":memory:") or "mode=memory" in database:
        return None
    path = os.path.realpath(path)
    with _turns_lock:
        if path not in _turns:
            _turns[path] = WriterTurn(path)
        return _turns[path]


def queue_for(database: str) -> WriterQueue | None:
    """The process's writer queue of a database file (None for an in-memory database)."""
    turn = turn_for(database)
    return turn.queue if turn else None


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
        self._turn = turn_for(os.fsdecode(database))
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
        if self._turn is None or self._holding or not is_write(sql):
            return
        if not self._turn.acquire(self._timeout):
            raise sqlite3.OperationalError("database is locked")  # what SQLite says when its own wait runs out
        self._holding = True

    def _after(self) -> None:
        if self._holding and not self.in_transaction:
            self._give_back()

    def _give_back(self) -> None:
        if self._holding and self._turn is not None:
            self._holding = False
            self._turn.release()
