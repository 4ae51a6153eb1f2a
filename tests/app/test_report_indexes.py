"""The report, export and dashboard queries read by the indexes made for them, on both engines.

Each query is captured as the app sends it and explained by the database (PostgreSQL: EXPLAIN (FORMAT JSON)
with sequential scans priced out, as on a table of a million rows where they lose; SQLite: EXPLAIN QUERY PLAN).
Without its index, or with a query the index cannot serve, a plan scans the table and sorts every matching row:
the cost then grows with the table, which is what these indexes are for (issue 14).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from app import paging
from app.evaluation import performance
from app.evaluation.performance import PerformanceFilter
from app.exports import tabular
from app.models import Screening, User, month_of, new_id, utcnow
from app.records import service as records
from app.referrals import service as referrals
from app.reports import aggregate
from app.reports.aggregate import ReportFilter, Scope
from app.screenings import service as screenings
from app.screenings.schemas import DashboardFilter
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import ALL, MINI, Scene, bulk, make_scene, mini_registry, today
from tests.app.performance_support import BRIEF, VERSION, random_cohort
from tests.app.plans_support import captured

LEVELS = ("clear_concern", "possible_concern", "no_concern")
REPORT, EXPORT, DASHBOARD = "ix_screening_report", "ix_screening_agency_completed", "ix_screening_agency_started"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture(autouse=True)
def _forget_statistics(engine: Engine) -> Iterator[None]:
    """The statistics a test here makes (`_analyze`) would change the plans of the worker's later tests."""
    yield
    _no_statistics(engine)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    """A's 60 completed screenings of one person (with results), and 1,500 of another agency's over two years."""
    scene = make_scene(world, registry)
    bulk(scene, 60)
    other = world.user(scene.c, "screener")
    content_hash = scene.registry.get(MINI, "1.0.0").content_hash  # type: ignore[union-attr]
    at = utcnow()
    scene.db.execute(
        insert(Screening),
        [
            {
                "id": new_id(),
                "youth_id": scene.youth.id,
                "agency_id": scene.c.id,
                "instrument_id": MINI,
                "instrument_version": "1.0.0",
                "content_hash": content_hash,
                "mode": "practitioner",
                "language": "en",
                "status": "completed",
                "started_by": other.id,
                "started_at": at - timedelta(hours=12 * n),
                "completed_at": at - timedelta(hours=12 * n),
                "completed_month": month_of(at - timedelta(hours=12 * n)),
                "overall_level": LEVELS[n % 3],
            }
            for n in range(1500)
        ],
    )
    scene.db.commit()
    return scene


@dataclass
class Plan:
    """What the database says it will do for one statement."""

    indexes: set[str] = field(default_factory=set)  # the indexes it reads
    sorts: bool = False  # whether it sorts rows itself (an ORDER BY or GROUP BY not given by an index)
    bounds: list[str] = field(default_factory=list)  # PostgreSQL: the conditions an index scan starts and stops by
    text: str = ""


def _postgres_plan(node: dict[str, Any], found: Plan, inside_subplan: bool = False) -> None:
    if "Index Name" in node:
        found.indexes.add(node["Index Name"])
        found.bounds.append(node.get("Index Cond", ""))
    inside_subplan |= node.get("Parent Relationship") == "SubPlan"
    # The statement's own sort, not one inside a subquery (e.g. ORDER BY ... LIMIT 1 of a correlated value).
    found.sorts |= node["Node Type"] in ("Sort", "Incremental Sort") and not inside_subplan
    for child in node.get("Plans", ()):
        _postgres_plan(child, found, inside_subplan)


def explain(
    engine: Engine, statement: str, parameters: Any, priced_out: tuple[str, ...] = ("seqscan", "bitmapscan", "sort")
) -> Plan:
    """The database's plan for a statement the app sent, with its parameters (on PostgreSQL, with the plan kinds
    `priced_out` turned off)."""
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        found = Plan()
        if engine.dialect.name == "postgresql":
            # With a few thousand rows, scanning the table (or a bitmap of it) and sorting what it finds costs as
            # little as anything; at a million rows it costs the whole table. Priced out, the plan shows which
            # index serves the query in its own order (a sort still appears when none can).
            for kind in priced_out:
                cursor.execute(f"SET enable_{kind} = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            document = cursor.fetchone()[0]
            document = json.loads(document) if isinstance(document, str) else document
            _postgres_plan(document[0]["Plan"], found)
            found.text = json.dumps(document, indent=1)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            rows = cursor.fetchall()
            details = [row[3] for row in rows]
            for detail in details:
                words = detail.split()
                if "INDEX" in words:
                    found.indexes.add(words[words.index("INDEX") + 1])
            # The statement's own sort (a row of the top level), not one inside a subquery (e.g. ORDER BY ... LIMIT 1).
            found.sorts = any("TEMP B-TREE" in row[3] and row[1] == 0 for row in rows)
            found.text = "\n".join(details)
        cursor.close()
        connection.rollback()
    return found


def _analyze(engine: Engine) -> None:
    """Statistics, and on PostgreSQL a visibility map (an index-only scan counts on it), as a live database has:
    of every table, so that no table's figures are older than the test's rows."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _no_statistics(engine: Engine) -> None:
    """SQLite: forget the statistics another test's `_analyze` left in the worker's database, and the connections
    that loaded them (a connection keeps what it loaded), as a server started on a database without any has."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
            connection.execute(text("DROP TABLE IF EXISTS sqlite_stat4"))
        engine.dispose()


def _report_plans(scene: Scene, user: User, report: ReportFilter) -> Plan:
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "GROUP BY" in s) as seen:
        aggregate.grouped_counts(scene.db, user, report)
    assert len(seen) == 1
    return explain(engine, *seen[0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "report",
    [
        ReportFilter(Scope.agency),
        ReportFilter(Scope.agency, date(2025, 1, 1), today().replace(day=1), MINI),
        ReportFilter(Scope.deployment),
        ReportFilter(Scope.deployment, today().replace(day=1), None),
    ],
    ids=["agency", "agency-months-instrument", "deployment", "deployment-from"],
)
def test_the_aggregate_report_counts_from_its_index_alone(scene: Scene, world: World, report: ReportFilter) -> None:
    _analyze(scene.db.get_bind())
    admin = world.user(scene.a, "system_admin")
    found = _report_plans(scene, admin, report)
    assert REPORT in found.indexes, found.text


def test_an_export_batch_starts_where_the_last_one_stopped_on_its_index(scene: Scene) -> None:
    _analyze(scene.db.get_bind())
    engine = scene.db.get_bind()
    planned = tabular.prepare(
        scene.db,
        scene.registry,
        scene.supervisor,
        scene.a.id,
        today() - timedelta(days=1),
        today(),
        ALL,
        "care_coordination",
    )
    with captured(engine, lambda s: "screening_result" in s and "LIMIT" in s.upper()) as seen:
        rows = list(tabular.export_rows(scene.db, scene.keys, scene.registry, planned, batch_size=25, commit=False))
    assert len(rows) == 60 and len(seen) == 3
    for statement, parameters in seen:
        found = explain(engine, statement, parameters)
        assert EXPORT in found.indexes, found.text
        assert not found.sorts, found.text  # rows come in (completed_at, id) order from the index: no sort
    if engine.dialect.name == "postgresql":  # the next batch's start is a bound of the scan, not a filter after it
        later = explain(engine, *seen[-1])
        assert any("ROW(completed_at, (id)::text) >" in bound for bound in later.bounds), later.text


@pytest.mark.parametrize(
    "filters",
    [
        DashboardFilter(),
        DashboardFilter(
            instrument_id=MINI, date_from=datetime(2025, 1, 1, tzinfo=UTC), date_to=datetime(2999, 1, 1, tzinfo=UTC)
        ),
        DashboardFilter(status="completed", level="clear_concern"),
    ],
    ids=["newest", "instrument-dates", "status-level"],
)
def test_the_dashboard_reads_the_agencys_newest_from_its_index(scene: Scene, filters: DashboardFilter) -> None:
    _analyze(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: "ORDER BY screening.started_at DESC" in s) as seen:
        assert screenings.dashboard(scene.db, scene.supervisor, filters)
    assert len(seen) == 1
    found = explain(engine, *seen[0])
    assert DASHBOARD in found.indexes, found.text
    assert not found.sorts, found.text


LISTS = {"youth": "ix_youth_link_agency_created", "referrals": "ix_referral_to_changed"}


def _list_plan(scene: Scene, marker: str, read: Callable[[], object]) -> Plan:
    _analyze(scene.db.get_bind())
    engine = scene.db.get_bind()
    with captured(engine, lambda s: marker in s) as seen:
        read()
    assert len(seen) == 1, seen
    return explain(engine, *seen[0])


LATER = paging.Cursor(datetime(2026, 1, 1, tzinfo=UTC), "f" * 32)


@pytest.mark.parametrize("after", [None, LATER], ids=["first-page", "later-page"])
def test_each_list_reads_a_page_as_a_range_of_its_index(scene: Scene, after: paging.Cursor | None) -> None:
    """The dashboard, the youth list and the referral inbox: a later page starts at the cursor within the index
    (no scan of the rows before it, no sort), as the first does."""
    dashboard = _list_plan(
        scene,
        "ORDER BY screening.started_at DESC",
        lambda: screenings.dashboard(scene.db, scene.supervisor, DashboardFilter(), after),
    )
    youth = _list_plan(
        scene,
        "ORDER BY own_link.created_at DESC",
        lambda: records.list_for(scene.db, scene.keys, scene.screener, after),
    )
    inbox = _list_plan(
        scene,
        "ORDER BY referral.status_changed_at DESC",
        lambda: referrals.listed(scene.db, scene.screener, "inbox", after=after),
    )
    for found, index in ((dashboard, DASHBOARD), (youth, LISTS["youth"]), (inbox, LISTS["referrals"])):
        assert index in found.indexes, found.text
        assert not found.sorts, found.text
        if after is not None and scene.db.get_bind().dialect.name == "postgresql":
            assert any("ROW(" in bound and ") <" in bound for bound in found.bounds), found.text


@pytest.mark.parametrize("agency_scope", [False, True], ids=["deployment", "agency"])
def test_the_performance_report_pairs_screenings_through_the_person(world: World, agency_scope: bool) -> None:
    """The performance report's agreement pairs each cohort screening with the other screenings of the same person
    (`performance._pairs`, the query of any but the default follow-up and window). It must find them through the
    person's records (`youth.person_id`, then `screening.youth_id`). SQLite, which has no statistics unless
    something runs ANALYZE, took the status (or agency) index instead and went over every other completed
    screening for each one of the cohort: 0.36 s at 1,200 screenings, four times that at twice as many."""
    db = world.session
    agencies = [world.agency("Northside Youth Services", "youth_program"), world.agency("Harbor", "probation")]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(3), 100)  # noqa: S311 (synthetic data)
    db.commit()
    _no_statistics(db.get_bind())  # as a live SQLite database has them: TellOnce never runs ANALYZE there
    report = PerformanceFilter(BRIEF, VERSION, Scope.deployment, min_follow_up_months=0, window_days=0)
    if agency_scope:
        report = PerformanceFilter(BRIEF, VERSION, window_days=12)
    engine = db.get_bind()
    with captured(engine, lambda s: "nearest" in s) as seen:
        performance._pairs(db, report, agencies[1].id if agency_scope else None)
    assert len(seen) == 1
    plan = explain(engine, *seen[0], priced_out=())  # as the database plans it, with no statistics on SQLite
    hashed = engine.dialect.name == "postgresql" and '"Hash Join"' in plan.text  # also a join that scales
    assert {"ix_youth_person_id", "ix_screening_youth"} <= plan.indexes or hashed, plan.text
