"""Database engine, sessions and the one commit policy: services flush, the request commits."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from app import audit, sqlite_writes
from app.errors import AppError
from app.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 0x54_454C_4C4F  # "TELLO": the advisory lock key of `upgrade_database` on PostgreSQL


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """An engine with the durability settings TellOnce relies on and a pool sized by the settings.

    SQLite: connections are kept and reused (the PRAGMAs run once per connection, not per request);
    the pool never makes a request wait, since SQLite itself lets one writer in at a time, and a
    request that takes a second connection (rate limits) must not wait for its own first one. The
    process's writers queue for that one write lock in `app.sqlite_writes`, first come first served.
    PostgreSQL: at most db_pool_size + db_max_overflow connections per process; statements used
    db_prepare_threshold times on a connection are prepared there (parsed and planned once).
    """
    settings = settings or get_settings()
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings)
    connect_args: dict[str, Any] = {}
    if "application_name" not in make_url(url).query:  # pg_stat_activity names the process holding a connection
        connect_args["application_name"] = f"tellonce pid {os.getpid()}"
    if make_url(url).get_driver_name() == "psycopg":
        connect_args["prepare_threshold"] = settings.db_prepare_threshold or None  # None: never prepare
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle_seconds,
        # Off by default: it costs a round trip per checkout. After a PostgreSQL restart the first
        # request of each process fails and SQLAlchemy then replaces every pooled connection.
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args=connect_args,
    )


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    path = make_url(url).database or ""
    in_memory = path in ("", ":memory:")
    if not in_memory:
        _private_database_file(Path(path))
    pool: dict[str, Any] = {}
    if not in_memory:  # each :memory: connection is a database of its own: keep SQLAlchemy's default there
        pool = {"poolclass": QueuePool, "pool_size": settings.db_pool_size, "max_overflow": -1}
    # QueuedConnection: this process's writers take turns in a queue, not in SQLite's busy handler (see the module)
    connect_args = {"check_same_thread": False, "timeout": 30, "factory": sqlite_writes.QueuedConnection}
    engine = create_engine(url, connect_args=connect_args, **pool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()

    return engine


def _private_database_file(path: Path) -> None:
    """Create the data folder (0700) and the database file (0600) before SQLite does (it would make it 0644).

    SQLite gives its -wal and -shm files the database file's mode, so they are 0600 too.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@lru_cache
def get_engine() -> Engine:
    """The process's engine for the configured database."""
    return make_engine(get_settings().resolved_database_url)


def upgrade_database(engine: Engine | None = None) -> None:
    """Bring the database to the newest migration."""
    from alembic import command
    from alembic.config import Config

    engine = engine or get_engine()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # App servers started together on one database: one migrates, the others wait here until it
            # commits and then find the database at head (the lock ends with this transaction).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def get_session() -> Iterator[Session]:
    """One session per request: commit on success, roll back on any error (keeping the audit of denied reads)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except AppError as exc:
            if exc.keep_writes:
                session.commit()
            else:
                session.rollback()
                audit.write_denials(session)  # a denied read is recorded even though its 404 rolls back
            raise
        except BaseException:
            session.rollback()
            audit.write_denials(session)
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""A request's database session; committed before the response is sent, so an acknowledged write is durable."""
