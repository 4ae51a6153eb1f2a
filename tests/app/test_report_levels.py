"""What reports count is stored beside each result, in the clear, and follows it: the month of completion (UTC)
and each domain's level, written at completion, replaced at amendment, and filled for results stored before
(the month by migration 0013, the levels by the backfill `tellonce serve` runs with the keys)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, text
from sqlmodel import col, select

from app.main import loaded_instruments
from app.models import Screening, ScreeningLevel, ScreeningResult
from app.reports import aggregate
from app.reports.aggregate import ReportFilter, Scope
from app.screenings import report_levels, revisions
from app.screenings import service as screenings
from app.screenings.schemas import Amend
from tests.app.conftest import World
from tests.app.exports_support import PRACTITIONER, Scene, make_scene
from tests.app.test_migrations import _config, _run, fresh  # noqa: F401  (`fresh` is a fixture)

RATED = {"rate_coercion_debt": "clear_concern", "rate_housing_unstable": "possible_concern"}


def _stored(scene: Scene, screening_id: str) -> dict[str, str]:
    scene.db.expire_all()
    rows = scene.db.exec(select(ScreeningLevel).where(ScreeningLevel.screening_id == screening_id))
    return {row.domain_id: row.level for row in rows}


def _decrypted(scene: Scene, screening_id: str) -> dict[str, str]:
    """The domains' levels as the result page shows them, read the slow way."""
    result, _read = screenings.result_of(scene.db, scene.keys, scene.supervisor, screening_id)
    return {d["id"]: d["level"] for d in result["domains"]}


def test_completing_stores_each_domains_level_and_the_month(world: World) -> None:
    scene = make_scene(world, loaded_instruments())
    done = scene.screen(RATED, instrument=PRACTITIONER, version=None)
    stored = _stored(scene, done.id)
    assert stored == _decrypted(scene, done.id)
    assert len(stored) > 2 and {"clear_concern", "possible_concern"} <= set(stored.values())
    assert done.completed_at is not None
    assert done.completed_month == date(done.completed_at.year, done.completed_at.month, 1)


def test_an_amendment_replaces_the_stored_levels(world: World) -> None:
    scene = make_scene(world, loaded_instruments())
    done = scene.screen(RATED, instrument=PRACTITIONER, version=None)
    before = _stored(scene, done.id)
    correction = Amend(version=done.version, answers={"rate_coercion_debt": "no_concern"}, reason="Rated in error")
    revisions.amend(scene.db, scene.keys, scene.registry, scene.screener, done.id, correction)
    scene.db.commit()
    after = _stored(scene, done.id)
    assert after == _decrypted(scene, done.id)
    assert after != before and "clear_concern" not in after.values()


def test_the_month_follows_completed_at_in_utc_whoever_sets_it(world: World) -> None:
    """An import or the demo back-dates a completion; a report's month is the UTC month of the new time."""
    scene = make_scene(world, loaded_instruments())
    done = scene.screen(RATED, instrument=PRACTITIONER, version=None)
    admin = world.user(scene.a, "system_admin")
    done.completed_at = datetime(2026, 3, 31, 21, 30, tzinfo=timezone(timedelta(hours=-5)))  # April 1, 02:30 UTC
    scene.db.add(done)
    scene.db.commit()
    scene.db.expire_all()
    assert scene.db.get(Screening, done.id).completed_month == date(2026, 4, 1)  # type: ignore[union-attr]
    rows = aggregate.report(scene.db, admin, ReportFilter(Scope.agency, date(2026, 4, 1), date(2026, 4, 1)))
    assert [(r.month, r.instrument) for r in rows] == [("2026-04", PRACTITIONER)]
    assert aggregate.report(scene.db, admin, ReportFilter(Scope.agency, date(2026, 3, 1), date(2026, 3, 1))) == []


def test_results_stored_before_get_their_levels_from_the_backfill(world: World) -> None:
    scene = make_scene(world, loaded_instruments())
    first = scene.screen(RATED, instrument=PRACTITIONER, version=None)
    second = scene.screen({"rate_housing_runaway": "clear_concern"}, instrument=PRACTITIONER, version=None)
    expected = {s.id: _stored(scene, s.id) for s in (first, second)}
    scene.db.exec(delete(ScreeningLevel))  # type: ignore[call-overload]  (as before the table existed)
    scene.db.commit()
    assert report_levels.backfill(scene.db, scene.keys, batch_size=1) == 2
    scene.db.commit()
    assert {s.id: _stored(scene, s.id) for s in (first, second)} == expected
    assert report_levels.backfill(scene.db, scene.keys) == 0  # nothing left to do: idempotent


def test_the_migration_fills_the_month_of_screenings_completed_before(fresh: Engine) -> None:  # noqa: F811
    head = ScriptDirectory.from_config(_config()).get_current_head()
    _run(fresh, "upgrade", "0012_outcomes")
    just_before_february = "2026-02-01 01:30:00+02" if fresh.dialect.name == "postgresql" else "2026-01-31 23:30:00"
    with fresh.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agency (id, name, kind, resources, confidentiality_notice, created_at, version, external)"
                " VALUES ('a1', 'A', 'shelter', '{}', '{}', CURRENT_TIMESTAMP, 1, FALSE)"
            )
        )
        connection.execute(
            text(
                'INSERT INTO "user" (id, agency_id, email, display_name, role, password_hash, is_active, created_at,'
                " version, language) VALUES ('u1', 'a1', 'u@example.org', 'U', 'screener', 'x', TRUE,"
                " CURRENT_TIMESTAMP, 1, 'en')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO youth (id, given_name_enc, family_name_enc, birth_date_enc, name_index, birth_date_index,"
                " person_id, created_at, created_by, version) VALUES ('y1', 'x', 'x', 'x', 'n', 'b', 'p1',"
                " CURRENT_TIMESTAMP, 'u1', 1)"
            )
        )
        for sid, status, at in (("done", "completed", just_before_february), ("draft", "in_progress", None)):
            connection.execute(
                text(
                    "INSERT INTO screening (id, youth_id, agency_id, instrument_id, instrument_version, content_hash,"
                    " mode, language, status, started_by, started_at, completed_at, version, revision)"
                    " VALUES (:id, 'y1', 'a1', 'i', '1.0.0', 'h', 'self', 'en', :status, 'u1', CURRENT_TIMESTAMP,"
                    " :at, 1, 1)"
                ),
                {"id": sid, "status": status, "at": at},
            )
    _run(fresh, "upgrade", head or "head")
    with fresh.connect() as connection:
        months = dict(connection.execute(select(Screening.id, col(Screening.completed_month))).all())
    assert months == {"done": date(2026, 1, 1), "draft": None}


def test_a_report_by_domain_reads_the_stored_levels_not_the_results(world: World) -> None:
    """The stored levels answer a count by domain with one query and no key; corrupting every encrypted result
    changes nothing."""
    scene = make_scene(world, loaded_instruments())
    for answers in (RATED, {"rate_coercion_debt": "clear_concern"}, {"rate_housing_unstable": "no_concern"}):
        scene.screen(answers, instrument=PRACTITIONER, version=None)
    expected = [_decrypted(scene, s) for s in scene.db.exec(select(Screening.id)).all()]
    scene.db.exec(delete(ScreeningResult))  # type: ignore[call-overload]
    counts = scene.db.exec(
        select(ScreeningLevel.domain_id, ScreeningLevel.level, text("count(*)"))
        .join(Screening, col(Screening.id) == col(ScreeningLevel.screening_id))
        .where(Screening.agency_id == scene.a.id, Screening.status == "completed")
        .group_by(col(ScreeningLevel.domain_id), col(ScreeningLevel.level))
    ).all()
    tally: dict[tuple[str, str], int] = {}
    for levels in expected:
        for domain, level in levels.items():
            tally[(domain, level)] = tally.get((domain, level), 0) + 1
    assert {(d, lvl): n for d, lvl, n in counts} == tally
