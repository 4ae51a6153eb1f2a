"""Backups and restores of the configured database.

SQLite: the sqlite3 online backup API, which copies a consistent snapshot while the server keeps
running (in WAL mode readers and writers do not block it). PostgreSQL: `pg_dump --format=custom` and
`pg_restore --clean --if-exists --no-owner --single-transaction` (all or nothing). Backup files are
created 0600. The encryption keys are never in a backup: a backup without its keys cannot be read.

A running server holds a shared lock on `<database file>-server.lock` (SQLite) or a connection to
the database (PostgreSQL); restore refuses while either is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from app.models import metadata

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do."""


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def create_private_file(path: Path) -> None:
    """Create an empty file readable by its owner only; refuse to replace an existing one."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} already exists; choose a new file name (a backup never overwrites one).") from None


def backup(url: str, path: Path, pg_bin_dir: Path | None = None) -> None:
    """Write a backup of the database at `url` to a new file `path` (0600)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist.")
    create_private_file(path)
    try:
        if is_sqlite(url):
            _sqlite_backup(sqlite_path(url), path)
        else:
            _run(pg_tool("pg_dump", pg_bin_dir), "--format=custom", f"--file={path}", url=url)
        os.chmod(path, 0o600)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _sqlite_backup(database: Path, path: Path) -> None:
    if not database.exists():
        raise BackupError(f"There is no database at {database}.")
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
        # One self-contained file: no -wal beside the backup.
        target.execute("PRAGMA journal_mode=DELETE")
        _check_integrity(target, path)
    finally:
        target.close()
        source.close()


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")


def restore(url: str, path: Path, pg_bin_dir: Path | None = None) -> None:
    """Replace the database at `url` with the backup in `path` (refused while a server uses it)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    header = path.read_bytes()[:16] if path.stat().st_size else b""
    if is_sqlite(url):
        if not header.startswith(SQLITE_HEADER):
            raise BackupError(f"{path} is not a SQLite backup (this server's database is SQLite).")
        database = sqlite_path(url)
        with _no_server(database):
            _sqlite_restore(path, database)
        return
    if not header.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{path} is not a pg_dump custom-format backup (this server's database is PostgreSQL).")
    others = _other_postgres_connections(url)
    if others:
        raise BackupError(
            f"{others} other connection(s) use this database (a running TellOnce server?). "
            "Stop every app server, then restore."
        )
    _run(
        pg_tool("pg_restore", pg_bin_dir),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        str(path),
        url=url,
    )


def _sqlite_restore(path: Path, database: Path) -> None:
    source = sqlite3.connect(path)
    try:
        _check_integrity(source, path)
        if not database.exists():
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            create_private_file(database)
        target = sqlite3.connect(database, timeout=30)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            target.close()
    finally:
        source.close()


def _lock_path(database: Path) -> Path:
    return database.with_name(f"{database.name}-server.lock")


@contextlib.contextmanager
def _no_server(database: Path) -> Iterator[None]:
    """Hold the server lock exclusively (no server can start meanwhile), or refuse if a server holds it."""
    lock = _open_lock(database)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"A TellOnce server is running on {database}. Stop every app server, then restore."
            ) from None
        yield
    finally:
        lock.close()


def _open_lock(database: Path) -> IO[bytes]:
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(_lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(fd, "r+b")


def hold_server_lock(url: str) -> IO[bytes] | None:
    """Mark a SQLite database as used by this server (a shared lock, released when the file closes)."""
    if not is_sqlite(url) or make_url(url).database in (None, "", ":memory:"):
        return None
    lock = _open_lock(sqlite_path(url))
    fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a restore runs
    return lock


def _other_postgres_connections(url: str) -> int:
    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            others = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(connection.execute(text(others)).scalar_one())
    finally:
        engine.dispose()


def _version_key(bin_dir: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(bin_dir).parent.name))


def pg_tool(name: str, bin_dir: Path | None = None) -> Path:
    """A PostgreSQL client program: from `bin_dir` if given, else PATH, else the newest /usr/lib/postgresql/*/bin."""
    candidates = [str(bin_dir / name)] if bin_dir else []
    if found := shutil.which(name):
        candidates.append(found)
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += [f"{d}/{name}" for d in installed]
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise BackupError(
        f"{name} was not found (TELLONCE_PG_BIN_DIR, PATH, /usr/lib/postgresql/*/bin); install the PostgreSQL client "
        "programs of the server's major version or newer."
    )


def libpq_url(url: URL) -> str:
    """The URL as libpq reads it (no driver name; the password is passed apart, not on the command line)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(tool: Path, *args: str, url: str) -> None:
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    argv = [str(tool), *args, f"--dbname={libpq_url(parsed)}"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (our own argv)
    if done.returncode != 0:
        raise BackupError(f"{tool.name} failed ({done.returncode}):\n{done.stderr.strip()}")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the app's schema (to compare a database before and after a restore)."""
    present = set(inspect(engine).get_table_names())
    counts = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in present:
                counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    return counts
