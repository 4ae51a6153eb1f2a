"""Smoke test for the throwaway PostgreSQL harness."""

from __future__ import annotations

import psycopg

from .postgres import TemporaryPostgres, memory_dir


def test_temporary_postgres_roundtrip() -> None:
    """Start a server, run SQL in two databases, and check stop() cleans up."""
    with TemporaryPostgres() as pg:
        assert pg.url.startswith("postgresql+psycopg://tellonce@127.0.0.1:")
        data_dir = pg.data_dir
        assert data_dir.is_dir()
        # On disk unless asked: a benchmark loads tens of GB, more than a memory file system holds.
        assert memory_dir() is None or not data_dir.is_relative_to(memory_dir() or "/")
        with psycopg.connect(pg.conninfo) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            conn.execute("create table widget (id serial primary key, name text not null)")
            conn.execute("insert into widget (name) values ('ünïcode')")
            assert conn.execute("select name from widget").fetchone() == ("ünïcode",)
        extra_url = pg.create_database("extra_db")
        assert extra_url == pg.url_for("extra_db")
        with psycopg.connect(pg.conninfo_for("extra_db")) as conn:
            assert conn.execute("select current_database()").fetchone() == ("extra_db",)
        pg.drop_database("extra_db")
        pg.stop()
        assert not data_dir.exists()
        pg.stop()  # idempotent


def test_the_test_suite_s_server_lives_in_memory_when_it_can() -> None:
    """The suite's own server: its syncs cost nothing there (its durability settings stay on)."""
    with TemporaryPostgres(in_memory=True) as pg:
        memory = memory_dir()
        assert memory is None or pg.data_dir.is_relative_to(memory)
