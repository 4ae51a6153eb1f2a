"""A youth's record reads from the person's own rows, whatever else the deployment holds (issue 14).

The record page's "Screenings across programs" (sharing.tellonce.timeline) once asked for "this agency's
screenings or any completed one" in the statement itself: SQLite read that OR as two index ranges, every
screening of the agency plus every completed screening anywhere, and checked the person on each. The page took
150 ms with 900 screenings in the database and grew with every check-in anywhere. The plan must start from the
person's youth records and read only their screenings, on both engines.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert

from app.models import Screening, month_of, new_id, utcnow
from app.records import service as records
from app.records.schemas import YouthCreate
from app.sharing import tellonce
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import MINI, Scene, make_scene, mini_registry
from tests.app.plans_support import captured
from tests.app.test_report_indexes import _analyze, explain

_person = {"given_name": "Robin", "birth_date": date(2011, 7, 9)}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    """The person screened twice at A (one completed, one draft); 1,500 completed screenings of 100 other youth at
    A and C, fifteen each."""
    scene = make_scene(world, registry)
    scene.screen({"unpaid": "yes"})
    draft = scene.screen({"unpaid": "no"})
    draft.status, draft.completed_at, draft.overall_level = "in_progress", None, None  # type: ignore[assignment]
    scene.db.add(draft)
    other_c = world.user(scene.c, "screener")
    others = [
        records.create(
            scene.db, scene.keys, user, YouthCreate(**_person, family_name=f"Other{n}", case_number=f"O-{n}")
        )
        for n, user in enumerate([scene.screener, other_c] * 50)
    ]
    content_hash = scene.registry.get(MINI, "1.0.0").content_hash  # type: ignore[union-attr]
    at = utcnow()
    scene.db.execute(
        insert(Screening),
        [
            {
                "id": new_id(),
                "youth_id": others[n % 100].id,
                "agency_id": (scene.a.id, scene.c.id)[n % 2],
                "instrument_id": MINI,
                "instrument_version": "1.0.0",
                "content_hash": content_hash,
                "mode": "practitioner",
                "language": "en",
                "status": "completed",
                "started_by": (scene.screener.id, other_c.id)[n % 2],
                "started_at": at - timedelta(hours=n),
                "completed_at": at - timedelta(hours=n),
                "completed_month": month_of(at - timedelta(hours=n)),
                "overall_level": "no_concern",
            }
            for n in range(1500)
        ],
    )
    scene.db.commit()
    return scene


def test_the_timeline_starts_from_the_persons_records_not_every_completed_screening(scene: Scene) -> None:
    _analyze(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "JOIN agency ON agency.id = screening.agency_id" in s) as seen:
        entries = tellonce.timeline(scene.db, scene.screener, scene.youth.id)
    assert len(entries) == 2 and {e.completed_at is None for e in entries} == {True, False}
    assert len(seen) == 1, seen
    found = explain(engine, *seen[0])
    assert {"ix_youth_person_id", "ix_screening_youth_id"} <= found.indexes, found.text
    assert not found.indexes & {
        "ix_screening_report",
        "ix_screening_agency_completed",
        "ix_screening_agency_started",
    }, found.text
