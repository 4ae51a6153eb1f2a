"""Backups and restores of the configured database.

SQLite: the sqlite3 online backup API, which copies a consistent snapshot while the server keeps
running (in WAL mode readers and writers do not block it). PostgreSQL: `pg_dump --format=custom` and
`pg_restore --clean --if-exists --no-owner --single-transaction` (all or nothing). Backup files are
created 0600. The encryption keys are never in a backup: a backup without its keys cannot be read.

A restore checks the backup (audit chain, every value decrypts) before the live database is replaced,
and keeps the replaced database as a dated copy; a backup that fails its checks changes nothing.

A running server holds a shared lock on `<database file>-server.lock` (SQLite) or a connection to
the database (PostgreSQL); restore refuses while either is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from app.crypto import KeyRing
from app.errors import BackupError

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


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


@dataclass
class Verification:
    """What a restored database was checked for: its audit chain, and that every value decrypts."""

    events: int = 0
    broken: str | None = None  # where the audit chain breaks first, as `tellonce audit verify` says it
    unreadable: dict[str, int] = field(default_factory=dict)
    problem: str | None = None  # the database could not be checked at all (not a TellOnce database?)

    @property
    def ok(self) -> bool:
        """Whether the database may replace the live one."""
        return self.problem is None and self.broken is None and not self.unreadable


@dataclass
class Restoration:
    """What `restore` did. `restored` is False when the backup failed its checks: the live database was then
    left exactly as it was (PostgreSQL: put back from `safety_copy`, `rolled_back`)."""

    verification: Verification
    restored: bool
    safety_copy: Path | None = None
    rolled_back: bool = False


Checker = Callable[[str], Verification]


def verify(url: str, ring: KeyRing) -> Verification:
    """Check the database at `url`: the audit chain (as `tellonce audit verify`) and every encrypted value."""
    from sqlmodel import Session

    from app import audit
    from app.db import make_engine
    from app.keys import unreadable

    engine = make_engine(url)
    try:
        with Session(engine) as db:
            found = audit.check(db)
        broken = found.breaks[0].describe() if found.breaks else None
        return Verification(found.events, broken, unreadable(engine, ring))
    except SQLAlchemyError as exc:
        return Verification(problem=f"it is not a TellOnce database this version can read ({type(exc).__name__})")
    finally:
        engine.dispose()


def _dated(folder: Path, name: str) -> Path:
    """A new file name in `folder` with the time (UTC) in it, never an existing one."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = folder / name.format(stamp=stamp)
    number = 1
    while candidate.exists():
        number += 1
        candidate = folder / name.format(stamp=f"{stamp}-{number}")
    return candidate


def restore(url: str, path: Path, check: Checker, pg_bin_dir: Path | None = None) -> Restoration:
    """Replace the database at `url` with the backup in `path`, only if the backup passes `check`.

    The live database is never lost: SQLite restores into a scratch file beside the database, checks it
    there and only then copies it in, after keeping the live database as a dated copy (0600) beside it.
    PostgreSQL first dumps the live database to a dated file (0600) beside the backup, restores, checks,
    and on a failed check puts the live database back from that dump. Refused while a server uses it.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    header = path.read_bytes()[:16] if path.stat().st_size else b""
    if is_sqlite(url):
        if not header.startswith(SQLITE_HEADER):
            raise BackupError(f"{path} is not a SQLite backup (this server's database is SQLite).")
        database = sqlite_path(url)
        with _no_server(database):
            return _sqlite_restore(path, database, check)
    if not header.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{path} is not a pg_dump custom-format backup (this server's database is PostgreSQL).")
    return _postgres_restore(url, path, check, pg_bin_dir)


def _sqlite_copy(source_path: Path, target_path: Path, *, journal: str) -> None:
    """Copy one SQLite database into another with the online backup API (atomic for the target)."""
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
            target.execute(f"PRAGMA journal_mode={journal}")
            if journal == "WAL":
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            target.close()
    finally:
        source.close()


def _sqlite_restore(path: Path, database: Path, check: Checker) -> Restoration:
    source = sqlite3.connect(path)
    try:
        _check_integrity(source, path)
    finally:
        source.close()
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = database.with_name(f".{database.name}.restoring-{secrets.token_hex(4)}")
    create_private_file(scratch)
    try:
        _sqlite_copy(path, scratch, journal="DELETE")
        verification = check(f"sqlite:///{scratch}")
        if not verification.ok:
            return Restoration(verification, restored=False)
        safety = None
        if database.exists() and database.stat().st_size:
            safety = _dated(database.parent, f"{database.name}.before-restore-{{stamp}}")
            create_private_file(safety)
            _sqlite_copy(database, safety, journal="DELETE")
            copy = sqlite3.connect(safety)
            try:
                _check_integrity(copy, safety)
            finally:
                copy.close()
        elif not database.exists():
            create_private_file(database)
        _sqlite_copy(scratch, database, journal="WAL")
        return Restoration(verification, restored=True, safety_copy=safety)
    finally:
        for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm"), Path(f"{scratch}-journal")):
            leftover.unlink(missing_ok=True)


def _postgres_restore(url: str, path: Path, check: Checker, pg_bin_dir: Path | None) -> Restoration:
    others = _other_postgres_connections(url)
    if others:
        raise BackupError(
            f"{others} other connection(s) use this database (a running TellOnce server?). "
            "Stop every app server, then restore."
        )
    pg_restore = pg_tool("pg_restore", pg_bin_dir)
    name = make_url(url).database or "tellonce"
    safety = _dated(path.parent, f"{name}-before-restore-{{stamp}}.backup")
    backup(url, safety, pg_bin_dir)  # the live database as it is, before anything changes
    restore_args = ("--clean", "--if-exists", "--no-owner", "--single-transaction")
    try:
        _run(pg_restore, *restore_args, str(path), url=url)
    except BackupError as exc:  # one transaction: nothing was changed
        raise BackupError(f"{exc}\nNothing was changed (a copy of the database is in {safety}).") from None
    verification = check(url)
    if verification.ok:
        return Restoration(verification, restored=True, safety_copy=safety)
    _drop_everything(url)
    try:
        _run(pg_restore, "--no-owner", "--single-transaction", str(safety), url=url)
    except BackupError as exc:
        raise BackupError(
            f"The backup failed its checks, and putting the database back failed too: {exc}\n"
            f"The database as it was is in {safety}: restore it with `tellonce restore {safety} --yes`."
        ) from None
    return Restoration(verification, restored=False, safety_copy=safety, rolled_back=True)


def _drop_everything(url: str) -> None:
    """Drop every table, view and sequence of the database's schema (what a restore brought in)."""
    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            found = connection.execute(
                text(
                    "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                )
            ).all()
            kinds = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
            preparer = engine.dialect.identifier_preparer
            for kind, relation in found:
                connection.execute(
                    text(f"DROP {kinds.get(kind, 'TABLE')} IF EXISTS {preparer.quote(relation)} CASCADE")
                )
    finally:
        engine.dispose()


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
