"""The backup and restore drill, on SQLite and PostgreSQL: seed, back up, destroy, restore, verify.

Each drill uses a database of its own (a SQLite file, or a new database on the test server), so the
shared test database is never destroyed.
"""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import audit, backup, db, demo, keys
from app.cli import cli
from app.crypto import get_key_ring
from app.main import loaded_instruments
from app.models import User
from app.records import service as records
from tests.app import conftest
from tests.app.ops_support import Env, env, stored_ciphertexts

__all__ = ["env"]


@dataclass
class Drill:
    """A database of its own for one drill, and how to destroy it."""

    url: str
    kind: str
    name: str = ""

    def engine(self) -> Engine:
        return db.make_engine(self.url)

    def destroy(self) -> None:
        """Lose the database: delete the SQLite files, or drop and recreate the PostgreSQL database."""
        if self.kind == "sqlite":
            path = backup.sqlite_path(self.url)
            for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                file.unlink(missing_ok=True)
            return
        server = conftest._postgres
        assert server is not None
        server.drop_database(self.name)
        server.create_database(self.name)


@pytest.fixture
def drill(engine: Engine, tmp_path: Path, env: Env) -> Iterator[Drill]:
    """A new, empty database of the test's engine kind, configured as the app's database for the commands."""
    if engine.dialect.name == "sqlite":
        found = Drill(f"sqlite:///{tmp_path / 'drill' / 'tellonce.sqlite3'}", "sqlite")
    else:
        server = conftest._postgres
        assert server is not None
        name = f"drill_{uuid.uuid4().hex[:12]}"
        found = Drill(server.create_database(name), "postgresql", name)
    env(TELLONCE_DATABASE_URL=found.url)
    yield found
    if found.kind == "postgresql" and conftest._postgres is not None:
        conftest._postgres.drop_database(found.name)


@dataclass
class Snapshot:
    counts: dict[str, int]
    ciphertexts: int
    youth: list[tuple[str, str, str]]


def _snapshot(engine: Engine) -> Snapshot:
    """What an operator checks after a restore: rows per table, encrypted values, the youth the app lists."""
    with Session(engine) as session:
        screener = session.exec(select(User).where(User.email == "screener@riverbend.example.org")).one()
        listed = records.list_for(session, get_key_ring(), screener)
        assert audit.verify(session) is None
    assert keys.unreadable(engine, get_key_ring()) == {}, "every encrypted value decrypts"
    return Snapshot(
        backup.row_counts(engine),
        sum(stored_ciphertexts(engine).values()),
        [(y.given_name, y.family_name, y.case_number or "") for y in listed],
    )


def _seeded(drill: Drill) -> Snapshot:
    engine = drill.engine()
    try:
        db.upgrade_database(engine)
        with Session(engine) as session:
            assert demo.seed(session, get_key_ring(), loaded_instruments())
            session.commit()
        return _snapshot(engine)
    finally:
        engine.dispose()


def test_backup_destroy_restore_drill(drill: Drill, tmp_path: Path) -> None:
    before = _seeded(drill)
    assert before.counts["youth"] >= 3 and before.counts["audit_event"] > 0 and before.ciphertexts > 0
    assert ("Avery", "Lindqvist", "RB-1001") in before.youth

    path = tmp_path / "tellonce.backup"
    made = CliRunner().invoke(cli, ["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert "NOT in the backup" in made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CliRunner().invoke(cli, ["backup", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output

    drill.destroy()
    engine = drill.engine()
    try:
        with pytest.raises(Exception):  # noqa: B017 (the tables are gone: any driver error)
            backup.row_counts(engine)["youth"]
    finally:
        engine.dispose()

    declined = CliRunner().invoke(cli, ["restore", str(path)], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    restored = CliRunner().invoke(cli, ["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert f"The audit chain is intact ({before.counts['audit_event']} events)" in restored.output
    assert "Every encrypted value decrypts" in restored.output and "NOT in the backup" in restored.output

    engine = drill.engine()
    try:
        after = _snapshot(engine)
    finally:
        engine.dispose()
    assert after == before


def test_restore_refuses_a_database_a_server_is_using(drill: Drill, tmp_path: Path) -> None:
    _seeded(drill)
    path = tmp_path / "tellonce.backup"
    backup.backup(drill.url, path)
    engine = drill.engine()
    held = backup.hold_server_lock(drill.url)  # what a running server's start-up takes (SQLite only)
    assert (held is not None) == (drill.kind == "sqlite")
    try:
        with engine.connect():  # a server's connection (PostgreSQL)
            refused = CliRunner().invoke(cli, ["restore", str(path), "--yes"])
    finally:
        engine.dispose()
        if held is not None:
            held.close()
    assert refused.exit_code == 1 and "Stop every app server" in refused.output
    assert "Restored" not in refused.output


def test_restore_with_other_keys_says_the_values_cannot_be_read(drill: Drill, tmp_path: Path, env: Env) -> None:
    _seeded(drill)
    path = tmp_path / "tellonce.backup"
    backup.backup(drill.url, path)
    env(TELLONCE_KEY_FILE=str(tmp_path / "other-keys.json"))  # a new, different key file
    restored = CliRunner().invoke(cli, ["restore", str(path), "--yes"])  # over the database it came from
    assert restored.exit_code == 1 and "Restored" in restored.output and "audit chain is intact" in restored.output
    assert "cannot be read with the configured keys" in restored.output and "youth.given_name_enc" in restored.output
