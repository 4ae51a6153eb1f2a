"""The backup and restore drill, on SQLite and PostgreSQL: seed, back up, destroy, restore, verify.

Each drill uses a database of its own (a SQLite file, or a new database on the test server), so the
shared test database is never destroyed.
"""

from __future__ import annotations

import re
import stat
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import audit, backup, db, demo, keys
from app.cli import cli
from app.crypto import get_key_ring, read_key_file, write_key_file
from app.main import loaded_instruments
from app.models import AuditEvent, User
from app.records import service as records
from app.settings import get_settings
from tests.app import conftest
from tests.app.ops_support import Env, env, row_counts, stored_ciphertexts

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
        listed = records.list_for(session, get_key_ring(), screener).items
        assert audit.verify(session) is None
    assert keys.unreadable(engine, get_key_ring()) == {}, "every encrypted value decrypts"
    return Snapshot(
        row_counts(engine),
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
            row_counts(engine)["youth"]
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


@dataclass
class State:
    counts: dict[str, int]
    ciphertexts: Counter[tuple[str, str, str]]
    actions: list[str]


def _state(drill: Drill) -> State:
    """Everything a restore could change: rows per table, every encrypted value's key, the audit log."""
    engine = drill.engine()
    try:
        with Session(engine) as session:
            ordered = select(AuditEvent.action).order_by(AuditEvent.seq)  # type: ignore[arg-type]
            actions = list(session.exec(ordered))
        return State(row_counts(engine), stored_ciphertexts(engine), actions)
    finally:
        engine.dispose()


def test_a_restore_that_fails_its_checks_leaves_the_live_database_as_it_was(
    drill: Drill, tmp_path: Path, env: Env
) -> None:
    """The probe: back up, rotate, re-encrypt, retire the old key, then restore the older backup. Its values
    cannot be read; once, the live database had already been replaced by it, with no copy kept."""
    key_file = tmp_path / "keys.json"
    env(TELLONCE_KEY_FILE=str(key_file))
    _seeded(drill)
    old_backup = tmp_path / "before-rotation.backup"
    backup.backup(drill.url, old_backup)
    old = get_key_ring().current
    old_value = read_key_file(key_file)["keys"][old]
    keys.rotate(get_settings())
    env()
    engine = drill.engine()
    try:
        assert keys.reencrypt(engine, get_key_ring()).remaining == 0
        keys.retire(get_settings(), engine, get_key_ring(), old)
        with Session(engine) as session:  # something saved since the backup
            audit.record(session, "test.saved_after_the_backup")
            session.commit()
    finally:
        engine.dispose()
    env()
    live = _state(drill)
    files = sorted(p.name for p in (tmp_path / "drill").iterdir()) if drill.kind == "sqlite" else []

    refused = CliRunner().invoke(cli, ["restore", str(old_backup), "--yes"])
    assert refused.exit_code == 1, refused.output
    assert "cannot be read with the configured keys" in refused.output and "youth.given_name_enc" in refused.output
    assert "Nothing was restored" in refused.output and "exactly as it was" in refused.output
    assert "Restored" not in refused.output
    assert _state(drill) == live, "the live database is exactly as it was"
    if drill.kind == "sqlite":  # no scratch file left behind, no copy needed
        assert sorted(p.name for p in (tmp_path / "drill").iterdir()) == sorted(
            [*files, "tellonce.sqlite3-server.lock"]
        )

    # With the retired key configured again the same backup restores, and the replaced database is kept.
    data = read_key_file(key_file)
    write_key_file(key_file, data["current"], {**data["keys"], old: old_value}, data["index_key"], replace=True)
    env()
    restored = CliRunner().invoke(cli, ["restore", str(old_backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Every encrypted value decrypts" in restored.output and "Restored" in restored.output
    found = re.search(r"kept in (\S+) \(readable by its owner only\)", restored.output)
    assert found, restored.output
    kept = Path(found.group(1))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    back = _state(drill)
    assert "test.saved_after_the_backup" not in back.actions and back.counts != live.counts

    # ... and restoring that copy gives back everything saved since the backup.
    again = CliRunner().invoke(cli, ["restore", str(kept), "--yes"])
    assert again.exit_code == 0, again.output
    assert _state(drill) == live
