"""Fixtures for the web app: every test here runs on SQLite and on a real PostgreSQL server.

The schema is built once per engine by the Alembic migrations; each test then starts from empty
tables (truncated after it), with its own HTTP client.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from app import crypto, db
from app.accounts import passwords
from app.main import create_app, loaded_instruments
from app.models import Agency, User, metadata
from app.settings import Settings, get_settings
from tests.support.postgres import TemporaryPostgres, memory_dir

PASSWORD = "correct horse battery staple"  # noqa: S105 (synthetic test password)
_postgres: TemporaryPostgres | None = None


def _postgres_url() -> str:
    """The throwaway server's URL, starting it on first use (one server per pytest process: each xdist
    worker has its own, so workers never share tables)."""
    global _postgres
    if _postgres is None:
        _postgres = TemporaryPostgres(in_memory=True, autovacuum=False)  # statistics only from a test's ANALYZE
    return _postgres.start().url  # start() is a no-op while running, and starts again after a stop


def _configure(url: str, data_dir: Path) -> None:
    os.environ["TELLONCE_DATABASE_URL"] = url
    os.environ["TELLONCE_DATA_DIR"] = str(data_dir)
    os.environ["TELLONCE_ENVIRONMENT"] = "test"
    os.environ["TELLONCE_DEMO_COHORT_PEOPLE"] = "0"  # the demo's evaluation cohort only where a test asks for it
    os.environ["TELLONCE_DEMO_CHECKINS"] = "0"  # the demo's two years of check-ins too (test_demo_screenings)
    # Cheap argon2id (1 pass over 1 MiB instead of 3 over 64 MiB): the suite signs in thousands of
    # times. Production refuses these values; tests/app/test_password_memory.py runs the real ones.
    os.environ["TELLONCE_PASSWORD_HASH_TIME_COST"] = "1"  # noqa: S105 (a cost, not a password)
    os.environ["TELLONCE_PASSWORD_HASH_MEMORY_KIB"] = "1024"  # noqa: S105 (a cost, not a password)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    crypto.get_key_ring.cache_clear()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The app's engine, migrated to head, for one database kind."""
    memory = memory_dir() if request.param == "sqlite" else None  # SQLite syncs every commit: free in memory
    if memory:
        data_dir = Path(tempfile.mkdtemp(prefix="tellonce-test-", dir=memory))
    else:
        data_dir = tmp_path_factory.mktemp(f"data-{request.param}")
    url = f"sqlite:///{data_dir / 'test.sqlite3'}" if request.param == "sqlite" else _postgres_url()
    _configure(url, data_dir)
    engine = db.get_engine()
    db.upgrade_database(engine)
    yield engine
    engine.dispose()
    if memory:
        shutil.rmtree(data_dir, ignore_errors=True)
    if _postgres is not None and request.param == "postgresql":
        _postgres.stop()


_FORGET_STATISTICS = """
    DELETE FROM pg_statistic WHERE starelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
"""


def _truncate(engine: Engine) -> None:
    """Empty every table, and on PostgreSQL forget its statistics: a table is left as new. (DELETE, 1.3 ms where
    TRUNCATE takes 31, kept an earlier test's row counts; TRUNCATE keeps its column statistics. With either, a test
    that then loaded thousands of rows got plans made for an earlier test's data, and a report query ran for
    minutes.) TRUNCATE's cost is per table, and a test writes to a few: only those with rows are truncated."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            written = [row[0] for row in connection.execute(text(_WITH_ROWS))]
            if written:
                connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in written) + " CASCADE"))
            # The test server's user is its superuser, which may edit the catalog.
            connection.execute(text(_FORGET_STATISTICS))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 (names come from our metadata)


_WITH_ROWS = " UNION ALL ".join(
    f"SELECT '{t.name}' WHERE EXISTS (SELECT FROM \"{t.name}\")"  # noqa: S608 (names come from our metadata)
    for t in metadata.sorted_tables
)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A database session for arranging and checking; tables are emptied after each test."""
    with Session(engine, expire_on_commit=False) as s:
        yield s
    _truncate(engine)


_app: tuple[Settings, FastAPI] | None = None


def _shared_app() -> FastAPI:
    """The app for the current settings, built once and shared by the tests that run under them.

    Building an app, and FastAPI resolving its routes' dependencies on their first requests, took about an eighth
    of the suite's time when every test built its own. A test that changes the settings (and clears their cache)
    gets an app of its own; each test still starts the app (its lifespan) and the instruments it serves afresh.
    """
    global _app
    settings = get_settings()
    if _app is None or _app[0] is not settings:
        _app = (settings, create_app(upgrade_database=False))  # the schema is already at head
    app = _app[1]
    app.state.registry = loaded_instruments()  # a test may have swapped in its own
    return app


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """An HTTP client for the app, started for this test (its lifespan runs, as a server's would)."""
    with TestClient(_shared_app(), base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    """Two agencies with a user of each role, for tests."""

    session: Session

    def agency(self, name: str = "Northside Youth Services", kind: str = "youth_program") -> Agency:
        agency = Agency(name=name, kind=kind)
        self.session.add(agency)
        self.session.commit()
        return agency

    def user(self, agency: Agency, role: str = "screener", email: str | None = None) -> User:
        email = email or f"{role}.{re.sub(r'[^a-z]', '', agency.name.lower())[:12]}@example.org"
        user = User(
            agency_id=agency.id, email=email, display_name=f"Test {role}", role=role, password_hash=_password_hash()
        )
        self.session.add(user)
        self.session.commit()
        return user


_HASH: str | None = None


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = passwords.hash_password(PASSWORD)
    return _HASH


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def sign_in(client: TestClient, user: User) -> str:
    """Sign in through the login page; returns a CSRF token for the session's forms."""
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/youth")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "signed-in pages carry a CSRF token"
    return match.group(1)


def bearer(client: TestClient, user: User) -> dict[str, str]:
    """An Authorization header from the OAuth2 password flow."""
    response = client.post("/api/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
