"""Migrations: one head; upgrade, downgrade and upgrade again on a fresh database (SQLite and PostgreSQL),
with data kept across upgrades; and the migrated schema matches the models exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from app import db
from app.models import metadata
from tests.app import conftest


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    return config


def _run(engine: Engine, action: str, revision: str) -> None:
    """Run an Alembic command on the engine, the way the app does (env.py gets the connection)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _differences(engine: Engine) -> list[Any]:
    """What autogenerate would put in a new migration (configured like migrations/env.py)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "target_metadata": metadata})
        return list(compare_metadata(context, metadata))


@pytest.fixture
def fresh(engine: Engine, tmp_path: Any) -> Iterator[Engine]:
    """A new, empty database of the same kind as `engine`: a SQLite file, or a database on the test server."""
    if engine.dialect.name == "sqlite":
        fresh_engine = db.make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        yield fresh_engine
        fresh_engine.dispose()
        return
    server = conftest._postgres
    assert server is not None
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    fresh_engine = db.make_engine(server.create_database(name))
    try:
        yield fresh_engine
    finally:
        fresh_engine.dispose()
        server.drop_database(name)


def test_a_single_head_and_a_single_base() -> None:
    script = ScriptDirectory.from_config(_config())
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1, script.get_bases()
    revisions = list(script.walk_revisions())
    assert all(not rev.is_merge_point for rev in revisions)
    assert all(rev.doc for rev in revisions), "every migration says what it does"


def test_upgrade_downgrade_upgrade_on_a_fresh_database(fresh: Engine) -> None:
    script = ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    assert _tables(fresh) == set()

    _run(fresh, "upgrade", "head")
    assert _current(fresh) == head
    assert _tables(fresh) == set(metadata.tables)
    assert _differences(fresh) == []

    _run(fresh, "downgrade", "base")
    assert _current(fresh) is None
    assert _tables(fresh) == set()

    _run(fresh, "upgrade", "head")
    assert _current(fresh) == head
    assert _tables(fresh) == set(metadata.tables)
    assert _differences(fresh) == []


def test_each_step_goes_down_and_up_again(fresh: Engine) -> None:
    script = ScriptDirectory.from_config(_config())
    for revision in reversed(list(script.walk_revisions())):  # oldest first
        _run(fresh, "upgrade", revision.revision)
        tables = _tables(fresh)
        _run(fresh, "downgrade", revision.down_revision or "base")
        _run(fresh, "upgrade", revision.revision)
        assert _tables(fresh) == tables, revision.revision
        assert _current(fresh) == revision.revision


def test_data_survives_upgrades(fresh: Engine) -> None:
    """Rows written under the first schema are still there, unchanged, after upgrading to head."""
    script = ScriptDirectory.from_config(_config())
    base = script.get_bases()[0]
    _run(fresh, "upgrade", base)
    with fresh.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agency (id, name, kind, resources, confidentiality_notice, created_at, version)"
                " VALUES ('a1', 'Seeded Agency', 'shelter', '{}', '{}', CURRENT_TIMESTAMP, 1)"
            )
        )
        connection.execute(
            text(
                'INSERT INTO "user" (id, agency_id, email, display_name, role, password_hash, is_active,'
                " created_at, version) VALUES ('u1', 'a1', 'seed@example.org', 'Seed', 'screener', 'x', TRUE,"
                " CURRENT_TIMESTAMP, 1)"
            )
        )
    _run(fresh, "upgrade", "head")
    with fresh.connect() as connection:
        agency = connection.execute(text("SELECT name, kind FROM agency WHERE id = 'a1'")).one()
        user = connection.execute(text("SELECT email, agency_id FROM \"user\" WHERE id = 'u1'")).one()
    assert tuple(agency) == ("Seeded Agency", "shelter")
    assert tuple(user) == ("seed@example.org", "a1")
    # and going all the way down with data present works too
    _run(fresh, "downgrade", "base")
    assert _tables(fresh) == set()


def test_the_test_database_matches_the_models(engine: Engine) -> None:
    assert _current(engine) == ScriptDirectory.from_config(_config()).get_current_head()
    assert _differences(engine) == []
