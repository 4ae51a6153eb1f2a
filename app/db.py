"""Database engine, sessions and the one commit policy: services flush, the request commits."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, event
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from app import audit
from app.errors import AppError
from app.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine with the durability settings TellOnce relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _private_database_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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
