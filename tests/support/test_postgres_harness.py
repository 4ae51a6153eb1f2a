"""Smoke test for the throwaway PostgreSQL harness."""

from __future__ import annotations

import psycopg

from .postgres import TemporaryPostgres


def test_temporary_postgres_roundtrip() -> None:
    """Start a server, run SQL in two databases, and check stop() cleans up."""
    with TemporaryPostgres() as pg:
        assert pg.url.startswith("postgresql+psycopg://tellonce@127.0.0.1:")
        data_dir = pg.data_dir
        assert data_dir.is_dir()
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
