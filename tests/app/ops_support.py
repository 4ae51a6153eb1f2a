"""Helpers for the operations tests: a changed environment for one test, and a scan of every encrypted value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, inspect, select

from app import crypto, main
from app.models import metadata
from app.settings import get_settings
from instruments import loader


class Env:
    """Set or remove TELLONCE_* variables for one test; the cached settings and keys follow, and the loaded
    instruments too once TELLONCE_INSTRUMENT_PATH was set (then `env()` reloads edited instrument files)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.instruments = False

    def __call__(self, **variables: str | None) -> None:
        for name, value in variables.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        if loader.PATH_VARIABLE in variables:  # each file compiled once per content (tests/support/compiled_once.py)
            self.instruments = True
        get_settings.cache_clear()
        crypto.get_key_ring.cache_clear()
        if self.instruments:
            main.loaded_instruments.cache_clear()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """Change the environment for one test; everything is as before afterwards."""
    changed = Env(monkeypatch)
    yield changed
    monkeypatch.undo()
    get_settings.cache_clear()
    crypto.get_key_ring.cache_clear()
    if changed.instruments:  # the configured instruments again (compiled once already) for the tests after this one
        main.loaded_instruments.cache_clear()
        main.loaded_instruments()


def stored_ciphertexts(engine: Engine) -> Counter[tuple[str, str, str]]:
    """(table, column, key id) of every value in every string column of every table that looks encrypted."""
    found: Counter[tuple[str, str, str]] = Counter()
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, str) and value.startswith("v1."):
                        found[(table.name, column, value.split(".", 2)[1])] += 1
    return found


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the app's schema (to compare a database before and after a restore)."""
    present = set(inspect(engine).get_table_names())
    counts = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in present:
                counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    return counts
