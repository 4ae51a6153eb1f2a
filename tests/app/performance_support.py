"""The performance report's inputs worked out one screening at a time, and a random cohort full of edge cases.

Before issue 14 the report read every screening of the cohort, every outcome of its people and their other
screenings, and classified and paired them in Python, row by row. `cells_by_row` and `pairs_by_row` do that
here, independently of the report's grouped queries (`performance._cells`, `performance._pairs`): the tests check
that both give the same counts, and bench/performance_report.py measures one beside the other.

`random_cohort` writes invented people straight into the tables the report reads (no answers, no scoring):
score ties, completions at midnight UTC, outcomes learned the day before, the day of and after a screening,
withdrawn ones, lost to follow-up, followed too briefly, linked records at other agencies, other instruments at
equal distances before and after, results with too little information, other versions and unfinished screenings.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.evaluation import performance
from app.evaluation.performance import Cell, Pairs, PerformanceFilter, _Row
from app.models import Agency, Screening, User, Youth, new_id
from app.models_evaluation import Outcome
from instruments.model import INSUFFICIENT

BRIEF, VERSION = "tellonce-brief-screen", "1.3.0"
OTHERS = ("tellonce-practitioner-indicators", "tellonce-youth-self-report")
LEVELS = ("clear_concern", "possible_concern", "no_concern", "insufficient_information")
TOTALS = {"clear_concern": (2, 3, 3, 4), "possible_concern": (1, 2), "no_concern": (0,), INSUFFICIENT: (0, 1)}
START = date(2024, 10, 1)
TIMES = (time(0, 0), time(0, 0, 1), time(12, 0), time(23, 59, 59, 999999))


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, rng.choice(TIMES), UTC)


def random_cohort(
    db: Session, agencies: Sequence[Agency], users: Sequence[User], rng: random.Random, people: int
) -> None:
    """`people` invented people, each with a record at one agency (some also at another), one or two brief
    screens, other instruments near them and outcomes; `users[i]` works at `agencies[i]`. Not committed."""
    missing_totals = rng.random() < 0.3  # screenings from before totals were stored: the ROC curve is withheld
    youths: list[Youth] = []
    rows: list[object] = []  # written after the records they refer to (no ORM relationships order them)
    for _ in range(people):
        person, sick = new_id(), rng.random() < 0.3
        homes = [rng.choices(range(len(agencies)), weights=[5, 3, 2][: len(agencies)])[0]]
        if rng.random() < 0.15:
            homes.append(rng.randrange(len(agencies)))
        records: list[tuple[Youth, int]] = []
        for home in homes:
            youth = Youth(
                given_name_enc="-",
                family_name_enc="-",
                birth_date_enc="-",
                name_index=new_id(),
                birth_date_index=new_id(),
                person_id=person,
                created_by=users[home].id,
            )
            records.append((youth, home))
            youths.append(youth)

        def screening(
            instrument: str,
            version: str,
            day: date,
            level: str | None,
            total: float | None,
            records: list[tuple[Youth, int]] = records,
        ) -> None:
            youth, home = rng.choice(records)
            done = rng.random() > 0.03
            at = _moment(day, rng)
            rows.append(
                Screening(
                    youth_id=youth.id,
                    agency_id=agencies[home].id,
                    instrument_id=instrument,
                    instrument_version=version,
                    content_hash="-",
                    mode="self",
                    language="en",
                    status="completed" if done else "in_progress",
                    started_by=users[home].id,
                    started_at=at,
                    completed_at=at if done else None,
                    overall_level=level if done else None,
                    total_score=total if done else None,
                )
            )

        screened = []
        for _second in range(1 if rng.random() < 0.85 else 2):
            day = START + timedelta(days=rng.randrange(730))
            weights = (5, 3, 2, 1) if sick else (1, 3, 6, 1)
            level = rng.choices(LEVELS, weights=weights)[0]
            total = None if missing_totals and rng.random() < 0.02 else float(rng.choice(TOTALS[level]))
            stored_level = None if level == INSUFFICIENT and rng.random() < 0.3 else level
            version = VERSION if rng.random() < 0.95 else "1.2.0"
            screening(BRIEF, version, day, stored_level, total)
            screened.append(day)
        for other in OTHERS:
            if rng.random() < 0.5:
                day = rng.choice(screened)
                gaps = [rng.choice((-31, -30, -12, -3, 0, 3, 12, 30, 31, rng.randrange(-60, 60)))]
                if rng.random() < 0.2:
                    gaps.append(-gaps[0])  # as near before as after: the tie goes to the first level
                for gap in gaps:
                    level = rng.choice(LEVELS)
                    screening(other, "1.0.0", day + timedelta(days=gap), None if level == INSUFFICIENT else level, None)
        for _outcome in range(rng.choices((0, 1, 2, 3), weights=(2, 6, 2, 1))[0]):
            youth, home = rng.choice(records)
            kind = rng.choices(("confirmed", "not_indicated", "lost_to_follow_up"), weights=(3, 5, 1))[0]
            learned = rng.choice(screened) + timedelta(days=rng.choice((-1, 0, 0, 1, 90, 200, 400)))
            rows.append(
                Outcome(
                    youth_id=youth.id,
                    agency_id=agencies[home].id,
                    kind=kind,
                    source="later_assessment",
                    learned_on=learned,
                    follow_up_months=rng.choice((3, 6, 12, 12, None)) if kind == "not_indicated" else None,
                    recorded_by=users[home].id,
                    withdrawn_at=datetime.now(UTC) if rng.random() < 0.12 else None,
                )
            )
    db.add_all(youths)
    db.flush()
    db.add_all(rows)
    db.flush()


def _cohort_rows(db: Session, report: PerformanceFilter, agency_id: str | None) -> list[_Row]:
    """Every screening of the cohort with its agency kind and person, chosen in Python from every screening."""
    statement = (
        select(Screening, col(Youth.person_id), col(Agency.kind))
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .join(Agency, col(Agency.id) == col(Screening.agency_id))
    )
    start = datetime.combine(report.month_from, time(), UTC) if report.month_from else None
    end = datetime.combine(_next_month(report.month_to), time(), UTC) if report.month_to else None
    rows = []
    for screening, person, kind in db.exec(statement).all():
        at = screening.completed_at
        if (
            screening.status != "completed"
            or at is None
            or (screening.instrument_id, screening.instrument_version) != (report.instrument_id, report.version)
            or (agency_id is not None and screening.agency_id != agency_id)
            or (start is not None and at < start)
            or (end is not None and at >= end)
        ):
            continue
        day = at.astimezone(UTC).date()
        rows.append(_Row(screening.overall_level or INSUFFICIENT, screening.total_score, day, kind, person))
    return rows


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def cells_by_row(
    db: Session, report: PerformanceFilter, agency_id: str | None, one_per_screening: bool = False
) -> list[Cell]:
    """The cohort's cells, each screening classified on its own by `performance.condition`; with
    `one_per_screening`, one cell of 1 per screening (as the figures were once computed), else counted."""
    outcomes: dict[str, list[tuple[str, date, int]]] = defaultdict(list)
    statement = select(Outcome, col(Youth.person_id)).join(Youth, col(Youth.id) == col(Outcome.youth_id))
    for outcome, person in db.exec(statement).all():
        if outcome.withdrawn_at is None and (agency_id is None or outcome.agency_id == agency_id):
            outcomes[person].append((outcome.kind, outcome.learned_on, outcome.follow_up_months or 0))
    cells = []
    for row in _cohort_rows(db, report, agency_id):
        got = performance.condition(row, outcomes[row.person], report.min_follow_up_months)
        half = f"{row.day.year}-H{1 if row.day.month <= 6 else 2}"
        cells.append(Cell(row.level, row.total, row.kind, half, got, 1))
    if one_per_screening:
        return cells
    counted = Counter((c.level, c.total, c.kind, c.period, c.condition) for c in cells)
    return [Cell(*key, count=n) for key, n in counted.items()]


def pairs_by_row(db: Session, report: PerformanceFilter, agency_id: str | None) -> Pairs:
    """For each cohort screening and each other instrument, the nearest screening of the same person within the
    window (ties: the first level in alphabetical order), found by looking at each of them."""
    statement = select(Screening, col(Youth.person_id)).join(Youth, col(Youth.id) == col(Screening.youth_id))
    others: dict[str, dict[str, list[tuple[date, str]]]] = defaultdict(lambda: defaultdict(list))
    for screening, person in db.exec(statement).all():
        if (
            screening.status == "completed"
            and screening.completed_at is not None
            and screening.instrument_id != report.instrument_id
            and (agency_id is None or screening.agency_id == agency_id)
        ):
            day = screening.completed_at.astimezone(UTC).date()
            others[screening.instrument_id][person].append((day, screening.overall_level or INSUFFICIENT))
    found: Pairs = defaultdict(Counter)
    window = timedelta(days=report.window_days)
    for row in _cohort_rows(db, report, agency_id):
        for instrument_id, by_person in others.items():
            near = [(abs(day - row.day), level) for day, level in by_person.get(row.person, [])]
            near = [(gap, level) for gap, level in near if gap <= window]
            if near:
                found[instrument_id][row.level, min(near)[1]] += 1
    return found
