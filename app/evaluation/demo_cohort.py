"""The demo's evaluation cohort: synthetic people from `app.evaluation.cohort`, stored through the services.

Each invented person gets a youth record at one demo agency, their screenings (answered, scored and
completed by that agency's screener, then dated back to the day the model drew), and the outcome the
model drew, recorded by the agency's supervisor. Going through the services means the stored levels,
totals, revisions and audit events are those real use would leave; only the dates are moved back.
The model is stated in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from app.crypto import KeyRing
from app.evaluation import cohort, outcomes
from app.evaluation.schemas import OutcomeCreate
from app.models import Screening, User
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import followup
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from instruments.loader import Registry


def seed(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    staff: Sequence[tuple[User, User]],
    people: int = cohort.DEMO_PEOPLE,
    today: date | None = None,
    seed_value: int = cohort.DEMO_SEED,
) -> list[cohort.Person]:
    """Store `people` synthetic people; `staff` is (screener, outcome recorder) of each demo agency, in order."""
    today = today or datetime.now(UTC).date()
    drawn = cohort.generate(registry, cohort.Model(), people, today, seed_value)
    for person in drawn:
        screener, supervisor = staff[person.agency % len(staff)]
        youth = records.create(
            db,
            keys,
            screener,
            YouthCreate(
                given_name=person.given_name,
                family_name=person.family_name,
                birth_date=person.birth_date,
                case_number=person.case_number,
            ),
        )
        for index, drawn_screening in enumerate(person.screenings):
            _store(db, keys, registry, screener, youth.id, drawn_screening, index)
        if person.outcome is not None:
            draft = person.outcome
            data = OutcomeCreate(
                kind=draft.kind,
                source=draft.source,
                learned_on=draft.learned_on,
                follow_up_months=draft.follow_up_months,
            )
            stored = outcomes.record(db, keys, supervisor, youth.id, data)
            stored.recorded_at = _at(draft.learned_on, 0)
            db.add(stored)
    db.flush()
    return drawn


def _at(day: date, index: int) -> datetime:
    """A time on that day in working hours (several screenings on one day keep their order)."""
    return datetime.combine(day, time(10, 0), UTC) + timedelta(minutes=40 * index)


def _store(
    db: Session, keys: KeyRing, registry: Registry, user: User, youth_id: str, drawn: cohort.Screening, index: int
) -> None:
    start = ScreeningCreate(
        youth_id=youth_id,
        instrument_id=drawn.instrument_id,
        instrument_version=drawn.instrument_version,
        mode=drawn.mode,
    )
    screening = screenings.start(db, keys, registry, user, start)
    saved = screenings.save_answers(
        db, keys, registry, user, screening.id, AnswersSave(version=screening.version, answers=drawn.answers)
    )
    done: Screening = screenings.complete(db, keys, registry, user, screening.id, saved.version)
    done.started_at = _at(drawn.completed_on, index) - timedelta(minutes=20)
    done.completed_at = _at(drawn.completed_on, index)
    compiled = registry.get(drawn.instrument_id, drawn.instrument_version)
    if compiled is not None:
        followup.set_due(done, compiled)  # from the day it was (as the demo tells it) completed
    db.add(done)
