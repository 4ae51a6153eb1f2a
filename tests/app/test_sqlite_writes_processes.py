"""SQLite writers of different processes (two workers, a worker and the command line) take turns in a file lock
beside the database (app/sqlite_writes.py `WriterFileLock`), not in SQLite's busy handler.

The other process is a real one, started with the same interpreter. No timing is asserted: a write that must wait
is checked not to have landed while the other process holds the turn, and to land once it lets go.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from app import sqlite_writes

HANG = 60.0
ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sqlite3, sys
from app import sqlite_writes
connection = sqlite3.connect(sys.argv[1], timeout=30, factory=sqlite_writes.QueuedConnection)
for n in range(int(sys.argv[2])):
    connection.execute("INSERT INTO t VALUES (?)", (f"{sys.argv[3]}{n}",))
    if sys.argv[4] == "hold":  # keep the transaction open until told to commit
        print("holding", flush=True)
        sys.stdin.readline()
    connection.commit()
connection.close()
print("done", flush=True)
"""
FILE_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.readline()
"""


@contextlib.contextmanager
def _python(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """Another process running `code`, once it says it holds the turn; killed at the end if still running."""
    with subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as process:
        try:
            assert process.stdout is not None and process.stdout.readline().strip() == "holding"
            yield process
        finally:
            process.kill()


def _database(tmp_path: Path) -> str:
    path = str(tmp_path / "shared.sqlite3")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x TEXT)")
    connection.commit()
    connection.close()
    return path


def _rows(path: str) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return sorted(x for (x,) in connection.execute("SELECT x FROM t"))
    finally:
        connection.close()


def _write_in_thread(path: str, value: str, timeout: float = 30) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def write() -> None:
        connection = sqlite3.connect(path, timeout=timeout, factory=sqlite_writes.QueuedConnection)
        try:
            connection.execute("INSERT INTO t VALUES (?)", (value,))
            connection.commit()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread, errors


def _let_go(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()


def test_a_writer_waits_for_another_process_s_transaction_and_lands_when_it_commits(tmp_path: Path) -> None:
    path = _database(tmp_path)
    with _python(HOLDER, path, "1", "other", "hold") as other:  # its INSERT holds the turn, its transaction open
        thread, errors = _write_in_thread(path, "mine")
        thread.join(0.5)
        assert thread.is_alive() and _rows(path) == [], "nothing lands while the other process holds the turn"
        _let_go(other)
        thread.join(HANG)
        assert not thread.is_alive() and errors == []
        assert _rows(path) == ["mine", "other0"]


def test_the_file_lock_alone_keeps_another_process_s_writer_out(tmp_path: Path) -> None:
    """The other process holds only the lock file, no SQLite lock: the write still waits, so it is this lock
    (not SQLite's) that orders the processes; and it is given back after the write."""
    path = _database(tmp_path)
    with _python(FILE_HOLDER, f"{os.path.realpath(path)}-writer.lock") as other:
        thread, errors = _write_in_thread(path, "mine")
        thread.join(0.5)
        assert thread.is_alive() and _rows(path) == []
        _let_go(other)
        thread.join(HANG)
        assert not thread.is_alive() and errors == [] and _rows(path) == ["mine"]
    fd = os.open(f"{os.path.realpath(path)}-writer.lock", os.O_RDWR)
    try:  # free again once the write committed
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_a_writer_that_waits_too_long_says_database_is_locked_and_the_next_gets_the_turn(tmp_path: Path) -> None:
    path = _database(tmp_path)
    with _python(FILE_HOLDER, f"{os.path.realpath(path)}-writer.lock") as other:
        thread, errors = _write_in_thread(path, "gave up", timeout=0.3)
        thread.join(HANG)
        assert len(errors) == 1 and isinstance(errors[0], sqlite3.OperationalError)
        assert "database is locked" in str(errors[0])
        thread, errors = _write_in_thread(path, "waited")  # asks while the first one's wait is still in the kernel
        thread.join(0.3)
        assert thread.is_alive()
        _let_go(other)
        thread.join(HANG)
        assert not thread.is_alive() and errors == [] and _rows(path) == ["waited"]


def test_a_process_killed_while_holding_the_turn_does_not_keep_it(tmp_path: Path) -> None:
    path = _database(tmp_path)
    with _python(HOLDER, path, "1", "other", "hold") as other:
        thread, errors = _write_in_thread(path, "mine")
        thread.join(0.3)
        assert thread.is_alive()
        other.send_signal(signal.SIGKILL)
        other.wait()
        thread.join(HANG)
    assert not thread.is_alive() and errors == [] and _rows(path) == ["mine"]  # its open transaction is gone


def test_writers_of_several_processes_and_threads_all_land(tmp_path: Path) -> None:
    path = _database(tmp_path)
    processes, writes = 3, 40
    command = [sys.executable, "-c", HOLDER, path, str(writes)]
    others = [
        subprocess.Popen([*command, f"p{n}-", "go"], cwd=ROOT, stdout=subprocess.DEVNULL) for n in range(processes)
    ]
    threads = [_write_in_thread(path, f"t{n}") for n in range(4)]
    for thread, errors in threads:
        thread.join(HANG)
        assert not thread.is_alive() and errors == []
    assert [other.wait(HANG) for other in others] == [0] * processes
    assert len(_rows(path)) == processes * writes + 4
