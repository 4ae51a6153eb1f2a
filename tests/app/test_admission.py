"""More requests at once than the server has threads: each waits its turn and then succeeds (app/admission.py).

Before admission, `bench/web.py --clients 64` (40 threads) had 40 API requests answer 500 after 30 s: every thread
was taken by a request waiting for SQLite's writer turn, or (PostgreSQL) for a connection of the pool, and none was
left for the request that held it to finish. Here the same happens with 4 threads, 16 clients and a pool of two
connections, in a few seconds when it works, and after the 30 s timeouts when it does not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app import db
from app.admission import Admission
from app.main import create_app
from app.models import Screening
from tests.app.api_support import PRACTITIONER, api_auth
from tests.app.conftest import World
from tests.app.ops_support import Env, env  # noqa: F401 (the `env` fixture)

CLIENTS, CYCLES, HANG = 16, 2, 120.0


@pytest.fixture
def small(engine: Engine, env: Env) -> Iterator[FastAPI]:  # noqa: F811 (the fixture imported above)
    """An app with 4 threads, whose engine (the same database) has a pool of two connections. The process's engine
    is swapped in `db.get_engine`'s cache, where every module finds it, and the usual one put back afterwards."""
    env(TELLONCE_THREADS="4", TELLONCE_DB_POOL_SIZE="2", TELLONCE_DB_MAX_OVERFLOW="0", TELLONCE_DB_POOL_TIMEOUT="60")
    db.get_engine.cache_clear()
    narrow = db.get_engine()
    assert narrow is not engine and narrow.url == engine.url
    try:
        yield create_app(upgrade_database=False)
    finally:
        narrow.dispose()
        db.get_engine.cache_clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(db, "make_engine", lambda *_args, **_kwargs: engine)
            assert db.get_engine() is engine


def _admission(app: FastAPI) -> Admission:
    layer: Any = app.middleware_stack
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer


def test_more_writers_than_threads_all_finish(small: FastAPI, world: World) -> None:
    agency = world.agency()
    auth = api_auth(world.session, world.user(agency))
    errors: list[str] = []
    with TestClient(small, base_url="http://testserver") as client:
        youth = [
            client.post(
                "/api/v1/youth",
                headers=auth,
                json={
                    "given_name": f"Flood{n}",
                    "family_name": "Probe",
                    "birth_date": "2010-02-03",
                    "case_number": f"F-{n}",
                },
            ).json()["id"]
            for n in range(CLIENTS)
        ]

        def cycles(youth_id: str) -> None:
            for _ in range(CYCLES):
                started = client.post(
                    "/api/v1/screenings",
                    headers=auth,
                    json={"youth_id": youth_id, "instrument_id": PRACTITIONER, "mode": "practitioner"},
                )
                if started.status_code != 201:
                    errors.append(f"start {started.status_code} {started.text[:120]}")
                    return
                body = started.json()
                saved = client.put(
                    f"/api/v1/screenings/{body['id']}/answers",
                    headers=auth,
                    json={"version": body["version"], "answers": {"rate_housing_unstable": "no_concern"}},
                )
                if saved.status_code != 200:
                    errors.append(f"save {saved.status_code} {saved.text[:120]}")

        threads = [threading.Thread(target=cycles, args=(y,), daemon=True) for y in youth]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG)
        assert not [t for t in threads if t.is_alive()], "requests still waiting: the threads deadlocked"
        waited = _admission(small).waited
    assert errors == []
    count = world.session.exec(select(func.count()).select_from(Screening)).one()[0]  # type: ignore[call-overload]
    assert count == CLIENTS * CYCLES
    assert waited > 0, "the clients outnumbered the threads at some moment, so some waited for a place"
