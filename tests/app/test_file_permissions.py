"""Files that hold youth data or keys are private to the server's account, whatever its umask.

The umask is opened wide (0) for these tests, so every private mode seen comes from TellOnce itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app import backup, db
from app.crypto import load_key_ring
from app.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_fresh_data_directory_and_its_database_are_private(engine: Engine, tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "fresh" / "data"
    database = data_dir / "tellonce.sqlite3"
    fresh = db.make_engine(f"sqlite:///{database}")
    try:
        db.upgrade_database(fresh)
        with fresh.connect() as connection:  # while a connection is open, the -wal and -shm files exist
            connection.execute(text("SELECT count(*) FROM youth"))
            assert _mode(data_dir) == 0o700
            assert _mode(database) == 0o600
            assert _mode(Path(f"{database}-wal")) == 0o600
            assert _mode(Path(f"{database}-shm")) == 0o600
        with open(database, "rb") as handle:
            assert handle.read(16) == backup.SQLITE_HEADER, "the pre-created file became the database"
    finally:
        fresh.dispose()

    copy = tmp_path / "copy.backup"
    backup.backup(f"sqlite:///{database}", copy)
    assert _mode(copy) == 0o600


def test_the_key_file_made_on_first_run_is_private(engine: Engine, tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "keys-here"
    load_key_ring(Settings(data_dir=data_dir, environment="development"))
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "keys.json") == 0o600
