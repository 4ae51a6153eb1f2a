"""A published instrument version never changes, across time: start-up refuses a file edited in place.

A private pack (TELLONCE_INSTRUMENT_PATH) publishes an instrument; a screening uses it; the file's
wording is then edited under the same version. Start-up (the app's lifespan, and `tellonce serve`)
refuses, naming the file, the id, the version and both hashes. Published as a new version instead,
the app starts and the old screening still loads.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import startup
from app.cli import cli
from app.crypto import get_key_ring
from app.db import get_engine
from app.errors import StartupRefused
from app.main import create_app, loaded_instruments
from app.models import InstrumentVersion, Screening, User
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import ScreeningCreate
from instruments.loader import BUNDLED_DIR
from tests.app.conftest import World, bearer
from tests.app.ops_support import Env, env

__all__ = ["env"]
PRIVATE = "private-check"
TITLE = 'en: "Brief check-in"'


def _publish(pack: Path, version: str, title: str = TITLE) -> Path:
    source = (BUNDLED_DIR / "brief-screen-1.0.0.yaml").read_text(encoding="utf-8")
    text = source.replace("id: tellonce-brief-screen", f"id: {PRIVATE}").replace(
        "version: 1.0.0", f"version: {version}"
    )
    path = pack / f"{PRIVATE}-{version}.yaml"
    path.write_text(text.replace(TITLE, title), encoding="utf-8")
    return path


def _start_screening(session: Session, world: World) -> Screening:
    user = world.user(world.agency())
    youth = records.create(
        session,
        get_key_ring(),
        user,
        YouthCreate(given_name="Rowan", family_name="Test", birth_date=date(2010, 1, 2), case_number="P-1"),
    )
    screening = screenings.start(
        session,
        get_key_ring(),
        loaded_instruments(),
        user,
        ScreeningCreate(youth_id=youth.id, instrument_id=PRIVATE, mode="practitioner"),
    )
    session.commit()
    return screening


def test_an_edited_published_version_is_refused_at_start_up(
    session: Session, world: World, tmp_path: Path, env: Env
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    published = _publish(pack, "1.0.0")
    env(TELLONCE_INSTRUMENT_PATH=str(pack))
    original_hash = loaded_instruments().get(PRIVATE, "1.0.0").content_hash  # type: ignore[union-attr]
    screening = _start_screening(session, world)
    stored = session.get(InstrumentVersion, (PRIVATE, "1.0.0"))
    assert stored is not None and stored.content_hash == original_hash == screening.content_hash

    _publish(pack, "1.0.0", title='en: "A quick check-in"')  # the wording changes, the version does not
    env()
    edited_hash = loaded_instruments().get(PRIVATE, "1.0.0").content_hash  # type: ignore[union-attr]
    assert edited_hash != original_hash
    with pytest.raises(StartupRefused) as refused, TestClient(create_app(upgrade_database=False)):
        pass
    message = str(refused.value)
    for part in (str(published), PRIVATE, "version 1.0.0", original_hash, edited_hash, "publish a new version instead"):
        assert part in message
    served = CliRunner().invoke(cli, ["serve"])  # `tellonce serve` refuses before it listens
    assert served.exit_code == 1 and edited_hash in served.output and "cannot start" in served.output

    _publish(pack, "1.0.0")  # the published file as it was, and the new wording as a new version
    _publish(pack, "1.1.0", title='en: "A quick check-in"')
    env()
    with TestClient(create_app(upgrade_database=False)) as client:
        starter = session.get(User, screening.started_by)
        assert starter is not None
        headers = bearer(client, starter)
        old = client.get(f"/api/v1/screenings/{screening.id}", headers=headers)
        assert old.status_code == 200, old.text
        assert old.json()["instrument_version"] == "1.0.0"
        assert old.json()["content_hash"] == original_hash
    assert screenings.instrument_of(loaded_instruments(), screening).version == "1.0.0"


def test_versions_used_before_the_table_existed_are_recorded_at_start_up(
    session: Session, world: World, tmp_path: Path, env: Env
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    _publish(pack, "1.0.0")
    env(TELLONCE_INSTRUMENT_PATH=str(pack))
    screening = _start_screening(session, world)
    session.execute(delete(InstrumentVersion))
    session.commit()  # as if the screening came before the table

    startup.check(get_engine(), loaded_instruments())
    recorded = session.exec(select(InstrumentVersion)).all()
    assert [(r.instrument_id, r.version, r.content_hash) for r in recorded] == [
        (PRIVATE, "1.0.0", screening.content_hash)
    ]
