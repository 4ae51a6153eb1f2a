"""A youth's record reads from the person's own rows, whatever else the deployment holds (issue 14).

The record page's "Screenings across programs" (sharing.tellonce.timeline) once asked for "this agency's
screenings or any completed one" in the statement itself: SQLite read that OR as two index ranges, every
screening of the agency plus every completed screening anywhere, and checked the person on each. The page took
150 ms with 900 screenings in the database and grew with every check-in anywhere. Its outcomes were tested
against the person by a correlated EXISTS, which made SQLite walk every outcome in date order. Each plan must
start from the person's youth records and read only their rows, on both engines, with the statistics each has
in use (none on SQLite, which the app never analyzes).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlmodel import col, select

from app import paging
from app.evaluation import outcomes
from app.models import Screening, Youth, month_of, new_id, utcnow
from app.models_evaluation import Outcome
from app.records import service as records
from app.records.schemas import YouthCreate
from app.referrals import pages as referral_pages
from app.screenings import followup
from app.screenings import service as screenings
from app.screenings.schemas import DashboardFilter
from app.sharing import linked, links, tellonce
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import MINI, Scene, make_scene, mini_registry
from tests.app.plans_support import captured
from tests.app.test_report_indexes import Plan, _analyze, _no_statistics, explain

_person = {"given_name": "Robin", "birth_date": date(2011, 7, 9)}


def as_deployed(engine: Engine) -> None:
    """Statistics as each engine has them in use: PostgreSQL's autovacuum analyzes its tables; the app never runs
    ANALYZE on SQLite, whose planner then guesses from the indexes alone."""
    if engine.dialect.name == "postgresql":
        _analyze(engine)
        return
    # Another test on this database may have run ANALYZE: its statistics, of tables of a few rows then, would
    # outlive the per-test truncation, and a connection that loaded them keeps its row estimates even once they are
    # dropped. Dropped, and the pool's connections closed, the plans are explained by a connection that saw none.
    _no_statistics(engine)


def planned(engine: Engine, statement: str, parameters: Any) -> Plan:
    """The plan, sequential scans priced out on PostgreSQL as on a big table, sorting allowed: the person's few
    rows are sorted after they are found (the report tests' `explain` prices sorting out too, which would push
    PostgreSQL to walk a date index in order, the very plan these tests refuse)."""
    return explain(engine, statement, parameters, priced_out=("seqscan",))


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
    as_deployed(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "JOIN agency ON agency.id = screening.agency_id" in s) as seen:
        entries = tellonce.timeline(scene.db, scene.screener, scene.youth.id)
    assert len(entries) == 2 and {e.completed_at is None for e in entries} == {True, False}
    assert len(seen) == 1, seen
    found = planned(engine, *seen[0])
    assert {"ix_youth_person_id", "ix_screening_youth"} <= found.indexes, found.text
    assert not found.indexes & {
        "ix_screening_report",
        "ix_screening_agency_completed",
        "ix_screening_agency_started",
    }, found.text
    # Whether the agency holds a record of the person: the person's records, then a probe each, not the agency's
    # every link read for each screening (on PostgreSQL the choice depends on the agency's size: bench/scale.py).
    if engine.dialect.name == "sqlite":
        assert "ix_youth_link_agency_created" not in found.indexes, found.text


def test_the_record_reads_the_persons_outcomes_not_every_outcome(scene: Scene) -> None:
    others = scene.db.exec(select(Youth.id).where(col(Youth.person_id) != scene.youth.person_id)).all()
    scene.db.execute(
        insert(Outcome),
        [
            {
                "id": new_id(),
                "youth_id": others[n % len(others)],
                "agency_id": scene.a.id,
                "kind": "lost_to_follow_up",
                "source": "service_record",
                "learned_on": date(2026, 1, 1) - timedelta(days=n),
                "recorded_by": scene.screener.id,
            }
            for n in range(1500)
        ],
    )
    own = Outcome(
        youth_id=scene.youth.id,
        agency_id=scene.a.id,
        kind="lost_to_follow_up",
        source="service_record",
        learned_on=date(2026, 2, 1),
        recorded_by=scene.screener.id,
    )
    scene.db.add(own)
    scene.db.commit()
    as_deployed(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "FROM outcome JOIN agency" in s) as seen:
        found_outcomes = outcomes.for_youth(scene.db, scene.keys, scene.screener, scene.youth.id)
    assert [o.id for o in found_outcomes] == [own.id]
    assert len(seen) == 1, seen
    found = planned(engine, *seen[0])
    assert {"ix_youth_person_id", "ix_outcome_youth_id"} <= found.indexes, found.text
    assert "ix_outcome_learned_on" not in found.indexes, found.text
    if engine.dialect.name == "sqlite":
        assert "ix_youth_link_agency_created" not in found.indexes, found.text


def test_the_dashboard_asks_each_rows_link_in_one_probe(scene: Scene) -> None:
    """Whether the agency holds a link to each row's record (the access clause, and the row's case number) is one
    probe of (youth_id, agency_id), not a read of the agency's every link per row: 20 ms to 0.4 ms for 101 rows
    at an agency of 700 records on SQLite."""
    as_deployed(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "ORDER BY screening.started_at DESC" in s) as seen:
        rows = screenings.dashboard(scene.db, scene.screener, DashboardFilter()).items
    assert len(rows) == paging.PAGE_SIZE
    assert len(seen) == 1, seen
    found = planned(engine, *seen[0])
    assert "ix_youth_link_youth_agency" in found.indexes, found.text
    if engine.dialect.name == "sqlite":
        # SQLite runs the access clause per row; PostgreSQL, with statistics, may instead read the agency's links
        # once, as the outer side of a semi-join, which is not a read per row.
        assert "ix_youth_link_agency_created" not in found.indexes, found.text


def test_the_record_reads_its_links_records_and_possible_matches_by_index(scene: Scene) -> None:
    """The sharing section's statements built once with OR conditions (the record's links or its person's; the
    persons' records or the linked ones) start from the record and its person through their indexes, on both
    engines, never a read of every link, record or match key in the deployment (100 other youth here, with the
    same given name and birth date)."""
    as_deployed(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "record_link" in s or "match_key" in s) as seen:
        linked.known(scene.db, scene.screener, scene.youth.id)
        links.candidates(scene.db, scene.keys, scene.screener, scene.youth.id)
    plans = {
        name: planned(engine, *next(s for s in seen if marker in s[0]))
        for name, marker in (
            ("links", "FROM record_link LEFT OUTER JOIN"),
            ("records", "LEFT OUTER JOIN record_link AS in_force"),
            ("matches", "FROM match_key"),
        )
    }
    assert {"ix_record_link_youth_id", "ix_record_link_person_id"} <= plans["links"].indexes, plans["links"].text
    assert "ix_youth_person_id" in plans["records"].indexes, plans["records"].text
    assert "ix_match_key_key" in plans["matches"].indexes, plans["matches"].text


def test_the_record_asks_for_the_youth_s_own_screenings_at_the_agency_by_index(scene: Scene) -> None:
    """The follow-up due on the record page and the referral form's latest screening read the youth's screenings
    at the agency through the youth's index, never the agency's 750 completed screenings of other youth."""
    as_deployed(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "FROM screening" in s and "screening.youth_id =" in s) as seen:
        followup.due_for_youth(scene.db, scene.registry, scene.screener, scene.youth.id)
        scene.db.exec(referral_pages.latest_completed(scene.youth.id, scene.a.id)).first()
    assert len(seen) == 2, seen
    for statement, parameters in seen:
        found = planned(engine, statement, parameters)
        assert "ix_screening_youth" in found.indexes, found.text
