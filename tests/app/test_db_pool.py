"""Connections are pooled and sized by the settings; PostgreSQL prepares the statements a connection repeats."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app import db, ratelimit
from app.settings import Settings, get_settings
from tests.app.conftest import World, bearer


def test_requests_reuse_connections_instead_of_opening_one_each(
    engine: Engine, client: TestClient, world: World
) -> None:
    """Once, every SQLite request opened a connection and ran its four PRAGMAs."""
    headers = bearer(client, world.user(world.agency()))
    opened: list[object] = []

    def count(connection: object, _record: object) -> None:
        opened.append(connection)

    event.listen(engine, "connect", count)
    try:
        for _ in range(12):
            assert client.get("/api/v1/instruments", headers=headers).status_code == 200
    finally:
        event.remove(engine, "connect", count)
    assert len(opened) <= 2, f"{len(opened)} connections opened for 12 requests"
    with engine.connect() as connection:  # a reused connection keeps the durability settings
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def _engine(engine: Engine, **settings: object) -> Engine:
    """A second engine on the test database, with these settings."""
    return db.make_engine(engine.url.render_as_string(hide_password=False), Settings(**settings))  # type: ignore[arg-type]


def test_a_request_waits_for_a_connection_only_on_postgresql_and_only_up_to_the_timeout(engine: Engine) -> None:
    small = _engine(engine, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    try:
        with small.connect():
            if engine.dialect.name == "postgresql":
                with pytest.raises(PoolTimeout), small.connect():
                    pass
            else:  # SQLite's pool never makes a request wait: its writers already take turns
                with small.connect() as second:
                    assert second.execute(text("SELECT 1")).scalar() == 1
    finally:
        small.dispose()


def test_postgresql_prepares_repeated_statements_unless_turned_off(engine: Engine) -> None:
    """Operators see them in pg_prepared_statements; 0 turns them off (PgBouncer in transaction mode)."""
    for threshold, expected in ((2, True), (0, False)):
        tuned = _engine(engine, db_prepare_threshold=threshold)
        try:
            with tuned.connect() as connection:
                for n in range(4):
                    connection.execute(text("SELECT count(*) FROM agency WHERE name = :n"), {"n": str(n)})
                if engine.dialect.name == "postgresql":
                    prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
                    assert (prepared > 0) is expected, (threshold, prepared)
                    name = connection.execute(
                        text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                    ).scalar_one()
                    assert name == f"tellonce pid {os.getpid()}"  # pg_stat_activity names the process holding it
                else:  # SQLite has no such setting; the engine works whatever it says
                    assert connection.execute(text("SELECT count(*) FROM agency")).scalar_one() == 0
        finally:
            tuned.dispose()
    assert get_settings().db_prepare_threshold == 5


def test_the_sign_in_limits_pool_follows_the_same_settings(engine: Engine, world: World) -> None:
    """Sign-in limits count on a pool of their own on PostgreSQL; it is made like the app's (named connections,
    the prepared-statement threshold PgBouncer users turn off, the pool sizes), not with fixed values."""
    side = ratelimit._engine_of(world.session)
    if engine.dialect.name == "sqlite":  # SQLite counts on the app's own engine
        assert side is engine
        return
    assert side is not engine
    assert side.pool.size() == get_settings().db_pool_size  # type: ignore[attr-defined]
    with side.connect() as connection:
        name = connection.execute(
            text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        ).scalar_one()
        assert name == f"tellonce pid {os.getpid()}"
        assert connection.connection.dbapi_connection.prepare_threshold == get_settings().db_prepare_threshold  # type: ignore[union-attr]
