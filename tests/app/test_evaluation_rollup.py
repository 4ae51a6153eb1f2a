"""The performance report's stored roll-up (issue 14): the same counts as classifying every screening, kept in step
by every write that changes them — a screening completed, amended or discarded, an outcome recorded or withdrawn,
a record linked to another person and unlinked — through the app's own API where a user makes the change."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import cli
from app.evaluation import performance, rollup
from app.evaluation.performance import Cell, PerformanceFilter
from app.models import Agency, Screening, Youth
from app.models_evaluation import EvaluationFact, EvaluationPair, Outcome
from app.reports.aggregate import Scope
from app.savepoint import savepoint
from tests.app.conftest import World
from tests.app.performance_support import BRIEF, VERSION, cells_by_row, pairs_by_row, random_cohort
from tests.app.sharing_support import PRACTITIONER, add_youth, consent, link, screen, side

LENA = {"given_name": "Lena", "family_name": "Marsh", "birth_date": "2011-06-14"}  # synthetic
SELF_REPORT = "tellonce-youth-self-report"


def _filters(db: Session) -> Iterator[tuple[PerformanceFilter, str | None]]:
    """Every instrument version completed, at deployment scope and at each agency, over all time (and, at deployment
    scope, over one range of months: both ways of counting select the months with the same clauses)."""
    versions = db.exec(select(Screening.instrument_id, Screening.instrument_version).distinct()).all()
    agencies = [None, *db.exec(select(Agency.id)).all()]
    for instrument_id, version in sorted(versions):
        yield PerformanceFilter(instrument_id, version, Scope.deployment, date(2025, 3, 1), date(2026, 2, 1)), None
        for agency_id in agencies:
            scope = Scope.deployment if agency_id is None else Scope.agency
            yield PerformanceFilter(instrument_id, version, scope), agency_id


def _in_step(db: Session) -> int:
    """Assert the stored counts are those classified on the fly for every filter; returns the screenings counted
    at deployment scope over all time."""
    counted = 0
    for report, agency_id in _filters(db):
        stored = performance._stored_cells(db, report, agency_id)
        assert stored == performance._cells(db, report, agency_id), report
        assert performance._stored_pairs(db, report, agency_id) == performance._pairs(db, report, agency_id), report
        counted += sum(c.count for c in stored) if (agency_id, report.month_from) == (None, None) else 0
    return counted


@pytest.mark.parametrize("seed", [4, 5])
def test_the_roll_up_counts_what_classifying_each_screening_counts(world: World, seed: int) -> None:
    """On a random cohort full of edge cases (see `random_cohort`), the stored counts are those of each screening
    classified and paired on its own; then changes to levels, statuses, outcomes and links keep them so."""
    db = world.session
    agencies = [
        world.agency("Northside Youth Services", "youth_program"),
        world.agency("Harbor County Probation", "probation"),
        world.agency("Eastside Youth Center", "youth_program"),
    ]
    rng = random.Random(seed)  # noqa: S311 (synthetic data)
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], rng, 300)
    db.commit()
    for report, agency_id in [
        (PerformanceFilter(BRIEF, VERSION), agencies[0].id),
        (PerformanceFilter(BRIEF, VERSION, Scope.deployment), None),
    ]:
        by_row = {
            (c.level, c.total, c.kind, c.period, c.condition): c.count for c in cells_by_row(db, report, agency_id)
        }
        stored = performance._stored_cells(db, report, agency_id)
        assert {(c.level, c.total, c.kind, c.period, c.condition): c.count for c in stored} == by_row
        assert performance._stored_pairs(db, report, agency_id) == pairs_by_row(db, report, agency_id)
    completed = db.exec(select(Screening).where(Screening.status == "completed")).all()
    assert _in_step(db) == len(completed)
    screenings = rng.sample(list(completed), 20)
    for screening in screenings[:10]:  # amended to another level
        screening.overall_level = rng.choice(["clear_concern", "no_concern", None])
        db.add(screening)
    for screening in screenings[10:]:  # discarded
        screening.status = "discarded"
        db.add(screening)
    outcomes = db.exec(select(Outcome)).all()
    for outcome in rng.sample(list(outcomes), 10):
        outcome.withdrawn_at = outcome.recorded_at
        db.add(outcome)
    db.commit()
    assert _in_step(db) == len(completed) - 10
    youths = db.exec(select(Youth)).all()
    for youth in rng.sample(list(youths), 15):  # linked to another person, or unlinked to a new one of its own
        youth.person_id = rng.choice([rng.choice(youths).person_id, youth.id])
        db.add(youth)
    db.commit()
    assert _in_step(db) == len(completed) - 10


def _keyed(cells: list[Cell]) -> dict[tuple[str, float | None, str, str, str], int]:
    return {(c.level, c.total, c.kind, c.period, c.condition): c.count for c in cells}


def _facts(db: Session, *screening_ids: str) -> list[tuple[str, str, str]]:
    """(person, condition at deployment scope, at the screening's agency) of each screening, in order."""
    db.expire_all()
    rows = {f.screening_id: f for f in db.exec(select(EvaluationFact))}
    return [(rows[i].person_id, rows[i].condition_all, rows[i].condition_own) for i in screening_ids]


def _pairs(db: Session) -> set[tuple[str, str, int | None, int | None]]:
    return {(p.screening_id, p.other_instrument, p.code_all, p.code_own) for p in db.exec(select(EvaluationPair))}


def test_each_write_through_the_app_keeps_the_roll_up_in_step(client: TestClient, world: World) -> None:
    """A screens Lena, B screens its own record of her with another instrument, links it to A's person under A's
    consent, records what it later learned and withdraws it, then undoes the link: after each request the stored
    rows say what classifying on the fly says, and change as they should."""
    db = world.session
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "LSA-1", LENA)
    at_a = screen(client, a, youth_a)["id"]
    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", LENA)
    at_b = screen(client, b, youth_b, {}, instrument=SELF_REPORT, mode="self")["id"]
    unknown = rollup.UNKNOWN
    assert _facts(db, at_a, at_b) == [(youth_a, unknown, unknown), (youth_b, unknown, unknown)]
    assert _pairs(db) == set() and _in_step(db) == 2  # two people: nothing to pair

    linked = link(client, b, youth_b)
    assert linked.status_code == 201, linked.text
    assert _facts(db, at_a, at_b) == [(youth_a, unknown, unknown), (youth_a, unknown, unknown)]
    paired = _pairs(db)  # one person now: each pairs with the other at deployment scope, not at its own agency
    assert {(i, other, own) for i, other, _code, own in paired} == {
        (at_a, SELF_REPORT, None),
        (at_b, PRACTITIONER, None),
    }
    _in_step(db)

    learned = {"kind": "confirmed", "source": "later_assessment", "learned_on": date.today().isoformat()}
    made = client.post(f"/api/v1/youth/{youth_b}/outcomes", headers=b.headers("supervisor"), json=learned)
    assert made.status_code == 201, made.text
    with_ = rollup.WITH
    assert _facts(db, at_a, at_b) == [(youth_a, with_, unknown), (youth_a, with_, with_)]  # B learned it, not A
    _in_step(db)

    withdrawn = client.post(
        f"/api/v1/outcomes/{made.json()['id']}/withdraw", headers=b.headers("supervisor"), json={"reason": "Wrong."}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert _facts(db, at_a, at_b) == [(youth_a, unknown, unknown), (youth_a, unknown, unknown)]
    _in_step(db)

    undone = client.post(f"/api/v1/links/{linked.json()['id']}/undo", headers=b.headers("agency_admin"))
    assert undone.status_code == 200, undone.text
    assert _facts(db, at_a, at_b) == [(youth_a, unknown, unknown), (youth_b, unknown, unknown)]
    assert _pairs(db) == set() and _in_step(db) == 2


def test_serve_derives_the_rows_of_screenings_stored_without_them(world: World) -> None:
    """Screenings from before the roll-up existed, or bulk-loaded without the ORM, have no rows: `backfill` (run by
    `tellonce serve` at start) derives them, and finds nothing to do the next time."""
    db = world.session
    agencies = [world.agency("Northside Youth Services", "youth_program"), world.agency("Harbor", "probation")]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(6), 120)  # noqa: S311
    db.commit()
    completed = len(db.exec(select(Screening).where(Screening.status == "completed")).all())
    stored = _facts_and_pairs(db)
    one = db.exec(select(EvaluationFact)).first()
    assert one is not None
    db.execute(delete(EvaluationPair).where(col(EvaluationPair.person_id) == one.person_id))
    db.execute(delete(EvaluationFact).where(col(EvaluationFact.person_id) == one.person_id))
    db.commit()
    assert _facts_and_pairs(db) != stored  # one person's rows are missing
    assert rollup.backfill(db) == len({f["person_id"] for f in stored[0]})
    db.commit()
    assert _facts_and_pairs(db) == stored and _in_step(db) == completed
    assert rollup.backfill(db) == 0
    db.execute(delete(EvaluationPair))
    db.execute(delete(EvaluationFact))
    db.commit()
    derived = CliRunner().invoke(cli, ["derive-rollup"])  # for deployments that start the app another way
    assert derived.exit_code == 0, derived.output
    assert f"derived for {len({f['person_id'] for f in stored[0]})} people" in derived.output
    assert _facts_and_pairs(db) == stored
    again = CliRunner().invoke(cli, ["derive-rollup"])
    assert "derived for 0 people" in again.output


def _facts_and_pairs(db: Session) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    db.expire_all()
    facts = db.exec(select(EvaluationFact).order_by(col(EvaluationFact.screening_id))).all()
    pairs = db.exec(
        select(EvaluationPair).order_by(col(EvaluationPair.screening_id), col(EvaluationPair.other_instrument))
    ).all()
    return [f.model_dump() for f in facts], [p.model_dump() for p in pairs]


def test_two_writers_of_one_person_at_once_both_land(world: World) -> None:
    """Two requests change one person's screenings at the same moment (PostgreSQL, where several app servers write
    at once): the second waits for the first's commit before deriving, so both commits land and the rows count
    both changes. (Without the wait, the last to commit left out the other's change.)"""
    db = world.session
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: its queue is tested in test_sqlite_writes.py")
    agencies = [world.agency("Northside Youth Services", "youth_program"), world.agency("Harbor", "probation")]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(8), 40)  # noqa: S311
    db.commit()
    completed = db.exec(select(Screening).where(Screening.status == "completed")).all()
    by_person: dict[str, list[str]] = {}
    for screening in completed:
        youth = db.get(Youth, screening.youth_id)
        assert youth is not None
        by_person.setdefault(youth.person_id, []).append(screening.id)
    first_id, second_id = next(ids for ids in by_person.values() if len(ids) >= 2)[:2]
    engine = db.get_bind()
    with Session(engine) as first, Session(engine) as second:
        one, two = first.get(Screening, first_id), second.get(Screening, second_id)
        assert one is not None and two is not None
        one.total_score, two.total_score = 98.0, 99.0  # totals no screening has: each write changes a row
        first.add(one)
        rollup.settle(first)  # the first has derived the person's rows and not committed yet

        def commit_second() -> None:
            second.add(two)
            second.commit()

        _waits_for(first, commit_second)
    db.expire_all()
    totals = {f.screening_id: f.total for f in db.exec(select(EvaluationFact))}
    assert (totals[first_id], totals[second_id]) == (98.0, 99.0)
    assert _in_step(db) == len(completed)


def _cohort(world: World) -> tuple[list[Screening], str]:
    """A small random cohort, committed; its completed screenings and a person the first one's record is not."""
    db = world.session
    agencies = [world.agency("Northside Youth Services", "youth_program"), world.agency("Harbor", "probation")]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(8), 40)  # noqa: S311
    db.commit()
    completed = list(db.exec(select(Screening).where(Screening.status == "completed")).all())
    record = db.get(Youth, completed[0].youth_id)
    assert record is not None
    other = next(y.person_id for y in db.exec(select(Youth)).all() if y.person_id != record.person_id)
    return completed, other


@pytest.mark.parametrize("held", [True, False], ids=["record held", "record not read"])
def test_a_record_linked_by_another_request_is_derived_under_its_new_person(world: World, held: bool) -> None:
    """A request that has read a youth record (sessions keep what they read after a commit) amends one of its
    screenings after another request linked the record to another person: the rows follow the record as stored,
    not as the first request held it."""
    db = world.session
    completed, other = _cohort(world)
    engine = db.get_bind()
    with Session(engine, expire_on_commit=False) as first:
        screening = first.get(Screening, completed[0].id)
        assert screening is not None
        kept = first.get(Youth, screening.youth_id) if held else None
        with Session(engine) as second:
            record = second.get(Youth, screening.youth_id)
            assert record is not None
            record.person_id = other
            second.commit()
        screening.total_score = 97.0
        first.add(screening)
        first.commit()
        assert kept is None or kept.person_id != other  # the first request still holds the record as it read it
    assert _in_step(db) == len(completed)
    fact = db.get(EvaluationFact, completed[0].id)
    assert fact is not None and (fact.person_id, fact.total) == (other, 97.0)


def test_a_change_waiting_for_a_link_derives_the_records_new_person(world: World) -> None:
    """PostgreSQL: a link has derived its two people's rows and not committed; a change to a screening of the
    linked record reads the record's (old) person and waits for it; once the link commits, it reads the record's
    person again and derives the new one's rows too."""
    db = world.session
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: its queue is tested in test_sqlite_writes.py")
    completed, other = _cohort(world)
    engine = db.get_bind()
    with Session(engine) as first, Session(engine) as second:
        record = second.get(Youth, completed[0].youth_id)
        assert record is not None
        record.person_id = other
        second.add(record)
        rollup.settle(second)  # derived, holding both people's locks

        def change_first() -> None:
            screening = first.get(Screening, completed[0].id)
            assert screening is not None
            screening.total_score = 96.0
            first.add(screening)
            first.commit()

        _waits_for(second, change_first)
    assert _in_step(db) == len(completed)
    fact = db.get(EvaluationFact, completed[0].id)
    assert fact is not None and (fact.person_id, fact.total) == (other, 96.0)


def test_a_savepoint_that_rolls_back_leaves_the_change_to_the_commit(world: World) -> None:
    """A change noticed before a savepoint (an import's per-item savepoints) is derived at the outermost commit,
    not inside a savepoint whose rollback would take the derived rows with it."""
    db = world.session
    completed, _other = _cohort(world)
    screening = db.get(Screening, completed[0].id)
    assert screening is not None
    screening.total_score = 95.0
    db.add(screening)
    db.flush()
    with pytest.raises(RuntimeError), savepoint(db):
        with savepoint(db):
            pass  # its release is a commit of the savepoint
        raise RuntimeError("the enclosing savepoint fails")
    db.commit()
    assert _in_step(db) == len(completed)
    fact = db.get(EvaluationFact, completed[0].id)
    assert fact is not None and fact.total == 95.0


def test_a_transaction_touching_many_people_holds_few_locks(world: World) -> None:
    """PostgreSQL shares one table of locks among all connections: a transaction deriving 20,000 people's rows (a
    large import or the demo) takes at most 256 of them, not one per person."""
    db = world.session
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no advisory locks: one writer at a time")
    rollup.refresh(db, [f"p{i:08d}" for i in range(20_000)])  # people with nothing stored: the locks and reads
    held = db.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"))
    assert 0 < held.scalar_one() <= 256
    db.rollback()


def _waits_for(holder: Session, write: Callable[[], None]) -> None:
    """`write` in another thread waits while `holder` has derived and not committed, then lands once it commits."""
    done: list[BaseException | None] = []

    def run() -> None:
        try:
            write()
            done.append(None)
        except BaseException as error:  # reported by the assertion below
            done.append(error)

    waiting = threading.Thread(target=run)
    waiting.start()
    waiting.join(timeout=1.0)
    assert waiting.is_alive(), done  # it waits for the holder's locks
    holder.commit()
    waiting.join(timeout=30)
    assert done == [None]


def test_a_commit_touching_more_records_than_a_statement_takes_values_is_derived(world: World) -> None:
    """A large import noticed in one transaction: the records' people are read in batches (PostgreSQL takes at most
    65,535 values in one statement, and the commit failed; SQLite's limit depends on how it was built)."""
    db = world.session
    completed, _other = _cohort(world)
    records = [f"r{i:08d}" for i in range(70_000)] + [s.youth_id for s in completed]
    rollup.refresh(db, (), records)
    db.commit()
    assert _in_step(db) == len(completed)
