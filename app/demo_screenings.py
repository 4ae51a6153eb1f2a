"""The demo's everyday screening: check-ins at Riverbend and Harbor over two years, enough for the aggregate report.

Each program screens the youth it takes in every six months (a wave of a few dozen, in one month). A wave's
count of each level is drawn around the program's own rates (a probation intake sees more concern than a youth
program) and is then either none or at least THRESHOLD, so at the deployment level every month, instrument and
agency kind row holds each level not at all or at least 11 times: the charts show every share and nothing is
suppressed. The newest wave (this month) holds every level at least THRESHOLD times, so a newcomer's own few
check-ins never make a small cell there. Anything smaller (one program's share of a kind, one youth's screening
in a month without a wave) still is suppressed.

The levels are never written: answers are drawn (`app.evaluation.answering`), scored by the real engine, and
kept for the level the wave still needs; then each is stored through the services (started, answered,
completed), which score it again, and dated back to its day. What already stands in a row (Avery's check-in
and rating this month) is counted first, and a row standing this month without a wave of its own (Avery's
rating) gets this month's mix too, so running it again adds nothing. Only the newest wave's follow-ups are
left due (in the future): in two years the program screened the older waves' youth again or closed their
cases, so their dates are settled.
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
from app.models import Agency, AgencyKind, Screening, ScreeningStatus, User, Youth, YouthLink
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
# Each program kind's shares of the levels at intake, roughly as published screening studies report them:
# most no concern, some possible, fewer clear; a probation intake sees more concern (and more it cannot tell).
RATES: dict[str, dict[str, float]] = {
    AgencyKind.youth_program: {"no_concern": 0.62, "possible_concern": 0.22, "clear_concern": 0.09, INSUFFICIENT: 0.07},
    AgencyKind.probation: {"no_concern": 0.46, "possible_concern": 0.26, "clear_concern": 0.16, INSUFFICIENT: 0.12},
}
# An older wave's intakes.
WAVE_SIZE: dict[str, tuple[int, int]] = {AgencyKind.youth_program: (40, 56), AgencyKind.probation: (36, 50)}
# The newest wave is larger, so that each level's floor (THRESHOLD) is not most of it.
NEWEST_SIZE: dict[str, tuple[int, int]] = {AgencyKind.youth_program: (70, 82), AgencyKind.probation: (58, 68)}
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


def wave_counts(rng: random.Random, kind: str, newest: bool) -> dict[str, int]:
    """A wave's counts by level, drawn around the program kind's rates (each level's count varies by wave).

    An older wave's count is kept when it is THRESHOLD or more; below, it becomes a little over THRESHOLD or none at
    random in proportion (so the shares stay about right on average and no level is a small cell). The newest wave,
    larger, holds every level at least THRESHOLD times, whatever the rates say."""
    low, high = NEWEST_SIZE[kind] if newest else WAVE_SIZE[kind]
    size = rng.randint(low, high)
    counts = {}
    for level, rate in RATES[kind].items():
        count = round(size * rate * rng.uniform(0.75, 1.25))
        if newest:
            count = max(count, THRESHOLD + rng.randint(0, 4))
        elif count < THRESHOLD:
            count = THRESHOLD + rng.randint(0, 3) if rng.random() < count / THRESHOLD else 0
        counts[level] = count
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
    """Store the waves of `screeners`' agencies (and this month's mix of any row already standing without one);
    returns how many. `progress(done, total)` is told every 25 stored and at the end."""
    now = datetime.now(UTC)
    today = today or now.date()
    rng = random.Random(SEED)  # noqa: S311  (synthetic demo data: reproducible, never secret)
    names = [(g, f) for g in GIVEN_NAMES for f in FAMILY_NAMES]
    rng.shuffle(names)
    kinds = {s.agency_id: _kind(db, s.agency_id) for s in screeners}
    months = wave_months(today)
    targets: dict[tuple[str, str, date], dict[str, int]] = {}
    for screener in screeners:
        for index, month in enumerate(months):
            targets[(screener.agency_id, instrument_id, month)] = wave_counts(
                rng, kinds[screener.agency_id], index == 0
            )
    found = standing(db, [s.agency_id for s in screeners])
    for agency_id, other, month in sorted(found):  # Avery's rating: its own mix, not a top-up of one level
        if month == months[0] and (agency_id, other, month) not in targets:
            targets[(agency_id, other, month)] = wave_counts(rng, kinds[agency_id], True)
    plan = list(_planned(registry, screeners, targets, found, today, now, rng))
    first = sum(sum(counts.values()) for counts in found.values())  # case numbers a rerun has not used
    taken_in: list[dict[str, Any]] = []
    for done, planned in enumerate(plan, start=1):
        index = first + done - 1
        given, family = names[index % len(names)]
        youth_id = _store(
            db, keys, registry, planned, given, family, index, rng, settled=planned.completed_at.date() < months[0]
        )
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


def _kind(db: Session, agency_id: str) -> str:
    agency = db.get(Agency, agency_id)
    if agency is None or agency.kind not in RATES:
        raise ValueError(f"the demo's waves are for a youth program and a probation department, not {agency_id}")
    return str(agency.kind)


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
    *,
    settled: bool,
) -> str:
    """Store one planned screening through the services, dated back to its day; returns the new youth's id.
    `settled`: an older wave's, whose follow-up the program has since done (no date left due)."""
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
    if settled:  # screened again or closed since: what `set_due` stores when nothing is left to do
        done.rescreen_due_on, done.rescreen_instrument_id = None, None
    db.add(done)
    return youth.id
