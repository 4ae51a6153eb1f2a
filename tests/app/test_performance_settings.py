"""The performance report's two counting queries run with room to hash and without JIT compilation (issue 14),
whether they count the stored roll-up (the default follow-up and window) or classify the cohort on the fly.

Each hashes and groups every screening of the cohort, about half a million at 1,000,000 screenings: with
PostgreSQL's default 4 MB per hash or sort they spilled to disk in batches, and JIT compilation added 150-180 ms
to each. A cohort this small never tempts JIT, so PostgreSQL is told to compile whatever it may; each statement is
explained in the report's own transaction, right after it ran, where the report's settings must hold. The figures
themselves are checked against a row-by-row reference in test_evaluation_performance.py.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import event, text

from app.evaluation import performance
from app.evaluation.performance import PerformanceFilter
from app.main import loaded_instruments
from app.reports.aggregate import Scope
from tests.app.conftest import World
from tests.app.performance_support import BRIEF, VERSION, cells_by_row, random_cohort


@pytest.mark.parametrize("window_days", [performance.WINDOW_DAYS, 12], ids=["stored roll-up", "on the fly"])
def test_the_reports_queries_count_with_room_to_hash_and_without_jit(world: World, window_days: int) -> None:
    db = world.session
    agencies = [world.agency("Northside Youth Services", "youth_program"), world.agency("Harbor", "probation")]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(3), 200)  # noqa: S311
    engine = db.get_bind()
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:  # JIT wherever PostgreSQL may (a cohort this small costs too little to tempt it)
        for setting in ("jit = on", "jit_above_cost = 0", "jit_inline_above_cost = -1", "jit_optimize_above_cost = -1"):
            db.execute(text(f"SET LOCAL {setting}"))
    plans: list[tuple[str, str]] = []
    sent: list[tuple[str, Any]] = []

    def explain_here(_conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if postgresql and "GROUP BY" in statement:
            raw = cursor.connection.cursor()
            sent.append((statement, parameters))
            raw.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(row[0] for row in raw.fetchall())
            raw.execute("SHOW work_mem")
            plans.append((plan, raw.fetchone()[0]))
            raw.close()

    report = PerformanceFilter(BRIEF, VERSION, Scope.deployment, window_days=window_days)
    event.listen(engine, "after_cursor_execute", explain_here)
    try:
        got = performance.measure(db, loaded_instruments(), report, None)
    finally:
        event.remove(engine, "after_cursor_execute", explain_here)
    assert sum(g.screenings or 0 for g in got.groups if g.dimension == "all") == sum(
        c.count for c in cells_by_row(db, report, None)
    )
    if not postgresql:
        return  # SQLite has neither setting
    assert len(plans) == 2  # the cohort's cells and its pairs
    for plan, work_mem in plans:
        assert "JIT:" not in plan and work_mem == "32MB", plan
    # Without the report's setting the same statements, in the same transaction, are compiled: the test can tell.
    db.execute(text("SET LOCAL jit = on"))
    connection = db.connection().connection.dbapi_connection
    assert connection is not None
    raw = connection.cursor()
    with_jit = []
    for statement, parameters in sent:
        raw.execute("EXPLAIN " + statement, parameters)
        with_jit.append("\n".join(row[0] for row in raw.fetchall()))
    raw.close()
    assert all("JIT:" in plan for plan in with_jit), with_jit
