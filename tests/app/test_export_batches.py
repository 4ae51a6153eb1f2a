"""An export streams in batches whose cost does not grow with the table or with the rows already sent (issue 14).

A later batch starts at the last row sent, and the database must see that only the rows after it are left: a
plan that expects almost none reads (and sorts) every remaining row of the range, batch after batch. A row the
consumer has written and dropped is freed at once: the export holds its batch's rows still encrypted, not as
decrypted rows waiting for the rest of the batch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, event, insert, text, update
from sqlmodel import select

from app.exports import tabular
from app.models import Screening, month_of, new_id, utcnow
from app.models_sharing import Category
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import ALL, MINI, Scene, bulk, make_scene, mini_registry, today
from tests.app.plans_support import captured
from tests.app.test_report_indexes import _analyze

DAYS, WINDOW, BATCH = 400, 100, 25  # A screens once a day for 400 days; the export takes the last 100


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    """A's 400 completed screenings, one a day, and C's 1,200 over the same days (three a day)."""
    scene = make_scene(world, registry)
    bulk(scene, DAYS)
    now = utcnow()
    ids = scene.db.exec(select(Screening.id).where(Screening.agency_id == scene.a.id).order_by(Screening.id)).all()
    assert len(ids) == DAYS
    stamp = update(Screening).where(Screening.id == bindparam("sid")).values(completed_at=bindparam("at"))
    with scene.db.get_bind().begin() as connection:  # a plain executemany: the ORM's bulk update wants primary keys
        connection.execute(stamp, [{"sid": sid, "at": now - timedelta(days=n)} for n, sid in enumerate(ids)])
    other = world.user(scene.c, "screener")
    model = scene.db.get(Screening, ids[0])
    assert model is not None
    scene.db.execute(
        insert(Screening),
        [
            {
                "id": new_id(),
                "youth_id": scene.youth.id,
                "agency_id": scene.c.id,
                "instrument_id": MINI,
                "instrument_version": model.instrument_version,
                "content_hash": model.content_hash,
                "mode": "practitioner",
                "language": "en",
                "status": "completed",
                "started_by": other.id,
                "started_at": now - timedelta(hours=8 * n),
                "completed_at": now - timedelta(hours=8 * n),
                "completed_month": month_of(now - timedelta(hours=8 * n)),
            }
            for n in range(3 * DAYS)
        ],
    )
    scene.db.commit()
    engine = scene.db.get_bind()
    _analyze(engine)
    return scene


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _plan(engine: Engine, statement: str, parameters: Any) -> Any:
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            document = cursor.fetchone()[0]
            plan = json.loads(document) if isinstance(document, str) else document
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [row[3] for row in cursor.fetchall()]
        cursor.close()
        connection.rollback()
    return plan


def _whole_window(scene: Scene) -> Any:
    """A's own export of every category over the scene's whole window, planned."""
    return tabular.prepare(
        scene.db,
        scene.registry,
        scene.supervisor,
        scene.a.id,
        today() - timedelta(days=WINDOW - 1),
        today(),
        ALL,
        "care_coordination",
    )


def test_a_later_batch_is_planned_for_the_rows_left_after_it(scene: Scene) -> None:
    engine = scene.db.get_bind()
    planned = _whole_window(scene)
    with captured(engine, lambda s: "screening_result" in s and "LIMIT" in s.upper()) as seen:
        rows = list(tabular.export_rows(scene.db, scene.keys, scene.registry, planned, batch_size=BATCH, commit=False))
    assert len(rows) == WINDOW and len(seen) == WINDOW // BATCH + 1  # the last batch finds nothing more
    for sent, (statement, parameters) in enumerate(seen[1:-1], start=1):
        plan = _plan(engine, statement, parameters)
        if engine.dialect.name == "postgresql":
            # Estimated as a whole table's share after the last row, times the date range's own share (the old
            # query), 75 rows left look like 19: below a batch, the planner reads every remaining row and sorts.
            scan = next(n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") == "screening")
            left = WINDOW - sent * BATCH
            assert scan["Plan Rows"] >= left / 2, (left, json.dumps(plan, indent=1))
        else:
            assert any("ix_screening_agency_completed" in step for step in plan), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan  # in index order: no sort


def test_a_row_the_consumer_dropped_is_not_kept_by_the_export(scene: Scene) -> None:
    scene.consent(*Category)
    since = today() - timedelta(days=9)  # ten of A's screenings, in one batch
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.b.id, since, today(), ALL, "care_coordination"
    )
    rows = tabular.export_rows(scene.db, scene.keys, scene.registry, planned, batch_size=BATCH)
    first = next(rows)
    assert first["answers"]["employer"] == "Acme"
    # Only this test's name refers to the row (and getrefcount's own argument): the batch's other rows are
    # built when they are asked for, and the rows already written are not held until the batch ends.
    assert sys.getrefcount(first) == 2
    second = next(rows)
    assert second["screening_id"] != first["screening_id"] and sys.getrefcount(second) == 2
    rows.close()


def test_a_batch_and_its_answers_are_read_without_parallel_workers_or_jit(scene: Scene) -> None:
    """A batch and its answers are a few milliseconds of index reads. At a million screenings PostgreSQL planned both
    with parallel workers and JIT compilation, whose start cost several times the reading, batch after batch (the
    export took 1.7x the csv-module baseline there, 1.2x without them). A table this small never tempts the planner,
    so it is told to use both wherever it may, and each statement is explained in the export's own transaction, right
    after it ran: the export's own settings must win there."""
    engine = scene.db.get_bind()
    postgresql = engine.dialect.name == "postgresql"
    planned = _whole_window(scene)
    tempting = ("jit = on", "jit_above_cost = 0", "parallel_setup_cost = 0", "parallel_tuple_cost = 0")
    if postgresql:
        version = int(scene.db.execute(text("SHOW server_version_num")).scalar_one())
        forced = "debug_parallel_query" if version >= 160000 else "force_parallel_mode"
        for setting in (*tempting, f"{forced} = on", "max_parallel_workers_per_gather = 2"):
            scene.db.execute(text(f"SET LOCAL {setting}"))
    plans: list[tuple[str, Any, str]] = []

    def explain_here(_conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if postgresql and ("screening_result" in statement or "FROM answer" in statement):
            raw = cursor.connection.cursor()
            raw.execute("EXPLAIN " + statement, parameters)
            plans.append((statement, parameters, "\n".join(row[0] for row in raw.fetchall())))
            raw.close()

    event.listen(engine, "after_cursor_execute", explain_here)
    try:
        rows = list(tabular.export_rows(scene.db, scene.keys, scene.registry, planned, batch_size=BATCH, commit=False))
    finally:
        event.remove(engine, "after_cursor_execute", explain_here)
    assert len(rows) == WINDOW and all(row["answers"] for row in rows)
    if not postgresql:
        return  # SQLite plans neither
    assert {"screening_result" in s for s, _p, _plan in plans} == {True, False}  # batches and their answers
    for _statement, _parameters, plan in plans:
        assert "Gather" not in plan and "JIT:" not in plan, plan
    # Without the export's settings the same statements, in the same transaction, get both: the test can tell.
    for setting in ("max_parallel_workers_per_gather = 2", "jit = on"):
        scene.db.execute(text(f"SET LOCAL {setting}"))
    connection = scene.db.connection().connection.dbapi_connection
    assert connection is not None
    for statement, parameters, _plan in plans[:2]:
        raw = connection.cursor()
        raw.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in raw.fetchall())
        raw.close()
        assert "Gather" in plan and "JIT:" in plan, plan
