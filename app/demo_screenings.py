"""The demo's everyday screening: check-ins at Riverbend and Harbor over two years, enough for the aggregate report.

Each program screens the youth it takes in every six months (a wave of several dozen, in one month), so at
the deployment level every month, instrument and agency kind row of the aggregate report holds each result
level either not at all or at least 11 times: the charts show every share and nothing is suppressed. Anything
smaller (one program's share of a kind, one youth's screening in a month without a wave) still is.

The levels are never written: answers are drawn (`app.evaluation.answering`), scored by the real engine, and
kept for the level the wave still needs; then each is stored through the services (started, answered,
completed), which score it again, and dated back to its day. What already stands in a row (Avery's check-in
and rating this month) is counted first, so running it again adds nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from app.crypto import KeyRing
from app.evaluation.answering import Answering, draw_answers
from app.evaluation.cohort import FAMILY_NAMES, GIVEN_NAMES, mode_of, newest
from app.models import Screening, ScreeningStatus, User, Youth, YouthLink
from app.records import service as records
from app.records.schemas import YouthCreate
from app.reports.aggregate import THRESHOLD
from app.screenings import followup
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import INSUFFICIENT, LEVELS, NOT_SCORED
from scoring import score

SEED = 16
WAVES = 5  # one every WAVE_MONTHS months, the newest this month: two years
WAVE_MONTHS = 6
ALL_LEVELS = (*LEVELS, INSUFFICIENT)  # no, possible, clear concern; not enough information
# Drawing answers only; the level each is kept for comes from the scoring engine.
DRAWING = Answering(key_with=0.2, key_without=0.01, other_with=0.15, other_without=0.02, skipped=0.05, unsure=0.35)
# Youth who skip almost nothing: most of them score no concern, which DRAWING alone reaches about one time in
# twelve (a skipped key question is not enough information), so drawing for a wave took thousands of scorings.
FEW_SKIPPED = Answering(key_with=0.2, key_without=0.01, other_with=0.15, other_without=0.02, skipped=0.01, unsure=0.35)
MAX_DRAWS = 100_000  # a wave needing a level the instrument cannot reach stops here


@dataclass(frozen=True)
class Planned:
    """One screening to store: who screens, the instrument, its answers (already scored to `level`), the time."""

    screener: User
    instrument_id: str
    level: str
    answers: Mapping[str, Any]
    completed_at: datetime


def wave_months(today: date) -> list[date]:
    """The first days of the waves' months, newest first."""
    months, month = [], today.replace(day=1)
    for _ in range(WAVES):
        months.append(month)
        for _ in range(WAVE_MONTHS):
            month = (month - timedelta(days=1)).replace(day=1)
    return months


def wave_counts(rng: random.Random, unsure: bool) -> dict[str, int]:
    """A wave's counts by level: most no concern, some possible, fewer clear, sometimes not enough information;
    each at least THRESHOLD (or none), so none is a small cell. `unsure`: whether some are not enough information."""
    counts = {
        "no_concern": rng.randint(24, 30),
        "possible_concern": rng.randint(THRESHOLD + 1, THRESHOLD + 4),
        "clear_concern": THRESHOLD,
        INSUFFICIENT: THRESHOLD if unsure else 0,
    }
    return counts


def seed(
    db: Session,
    registry: Registry,
    keys: KeyRing,
    screeners: list[User],
    instrument_id: str,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Store the waves of `screeners`' agencies (and fill up any row already standing); returns how many.
    `progress(done, total)` is told every 25 stored and at the end."""
    now = datetime.now(UTC)
    today = today or now.date()
    rng = random.Random(SEED)  # noqa: S311  (synthetic demo data: reproducible, never secret)
    names = [(g, f) for g in GIVEN_NAMES for f in FAMILY_NAMES]
    rng.shuffle(names)
    targets: dict[tuple[str, str, date], dict[str, int]] = {}
    for screener in screeners:
        for index, month in enumerate(wave_months(today)):
            targets[(screener.agency_id, instrument_id, month)] = wave_counts(rng, index % 2 == 1)
    found = standing(db, [s.agency_id for s in screeners])
    plan = list(_planned(registry, screeners, targets, found, today, now, rng))
    first = sum(sum(counts.values()) for counts in found.values())  # case numbers a rerun has not used
    taken_in: list[dict[str, Any]] = []
    for done, planned in enumerate(plan, start=1):
        index = first + done - 1
        given, family = names[index % len(names)]
        youth_id = _store(db, keys, registry, planned, given, family, index, rng)
        # Taken in when screened, so Avery, added today, stays first in the lists.
        taken_in.append({"youth": youth_id, "at": planned.completed_at - timedelta(minutes=20)})
        if progress and (done % 25 == 0 or done == len(plan)):
            progress(done, len(plan))
    db.flush()
    if taken_in:  # the records' dates, moved back in two statements rather than two per youth
        for table, key in ((Youth, col(Youth.id)), (YouthLink, col(YouthLink.youth_id))):
            moved = update(table).where(key == bindparam("youth")).values(created_at=bindparam("at"))
            db.connection().execute(moved, taken_in)
        db.expire_all()  # what the session holds of them is older than the rows now
    return len(plan)


def standing(db: Session, agency_ids: list[str]) -> dict[tuple[str, str, date], Counter[str]]:
    """What is already completed and scored at these agencies, by agency, instrument and month."""
    month, level = col(Screening.completed_month), col(Screening.overall_level)
    rows = db.exec(
        select(col(Screening.agency_id), col(Screening.instrument_id), month, level)
        .where(col(Screening.agency_id).in_(agency_ids), col(Screening.status) == ScreeningStatus.completed)
        .where(month.is_not(None), level.is_distinct_from(NOT_SCORED))
    ).all()  # a demo's few hundred, counted here
    found: dict[tuple[str, str, date], Counter[str]] = {}
    for agency_id, instrument_id, first_day, overall in rows:
        if first_day is not None:
            found.setdefault((agency_id, instrument_id, first_day), Counter())[overall or INSUFFICIENT] += 1
    return found


def _planned(
    registry: Registry,
    screeners: list[User],
    targets: dict[tuple[str, str, date], dict[str, int]],
    found: dict[tuple[str, str, date], Counter[str]],
    today: date,
    now: datetime,
    rng: random.Random,
) -> Iterator[Planned]:
    by_agency = {s.agency_id: s for s in screeners}
    for key in sorted(set(targets) | set(found), key=lambda k: (k[2], k[0], k[1])):
        agency_id, instrument_id, month = key
        have, want = found.get(key, Counter()), targets.get(key, {})
        needed = {}
        for level in ALL_LEVELS:
            final = max(have[level], want.get(level, 0))
            if 0 < final < THRESHOLD:  # a row standing without a wave (this month's rating) is filled up
                final = THRESHOLD
            if final > have[level]:
                needed[level] = final - have[level]
        if not needed:
            continue
        compiled = newest(registry, instrument_id)
        last_day = today.day if (month.year, month.month) == (today.year, today.month) else 28
        for level, answers in _answers_for(compiled, needed, rng):
            day = month.replace(day=rng.randint(1, last_day))
            at = datetime.combine(day, time(9, 0), UTC) + timedelta(minutes=rng.randint(0, 8 * 60))
            at = max(min(at, now - timedelta(minutes=1)), datetime.combine(month, time(0, 1), UTC))
            yield Planned(by_agency[agency_id], instrument_id, level, answers, at)


def _answers_for(
    compiled: CompiledInstrument, needed: dict[str, int], rng: random.Random
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Drawn answers, scored by the engine, kept while their level is still needed."""
    left = dict(needed)
    for _ in range(MAX_DRAWS):
        if not any(left.values()):
            return
        if left.get("no_concern", 0) > 0 and rng.random() < 0.5:
            answers = draw_answers(compiled, FEW_SKIPPED, False, rng)
        else:
            answers = draw_answers(compiled, DRAWING, rng.random() < 0.4, rng)
        level = score(compiled, answers).overall
        if left.get(level, 0) > 0:
            left[level] -= 1
            yield level, answers
    raise RuntimeError(f"no answers scored to {sorted(k for k, v in left.items() if v)}")


def _store(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    planned: Planned,
    given: str,
    family: str,
    index: int,
    rng: random.Random,
) -> str:
    """Store one planned screening through the services, dated back to its day; returns the new youth's id."""
    user = planned.screener
    age_days = rng.randint(12 * 365 + 3, 17 * 365 + 300)
    youth = records.create(
        db,
        keys,
        user,
        YouthCreate(
            given_name=given,
            family_name=family,
            birth_date=planned.completed_at.date() - timedelta(days=age_days),
            case_number=f"WV-{index + 1:04d}",
        ),
    )
    compiled = newest(registry, planned.instrument_id)
    start = ScreeningCreate(youth_id=youth.id, instrument_id=compiled.id, mode=mode_of(compiled))
    screening = screenings.start(db, keys, registry, user, start)
    # The screening was just started by `user`, so its access is settled: store and finish it directly (what
    # save_answers and complete do after fetching it again), one lookup less each.
    answers = AnswersSave(version=screening.version, answers=dict(planned.answers))
    saved = screenings.store_answers(db, keys, registry, screening, answers, user.id)
    done: Screening = screenings.finish(db, keys, registry, saved, saved.version, user.id)
    done.started_at = planned.completed_at - timedelta(minutes=15)
    done.completed_at = planned.completed_at
    followup.set_due(done, compiled)
    db.add(done)
    return youth.id
