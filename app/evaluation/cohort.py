"""The synthetic demo cohort: invented people, their screenings' answers and what was later learned
about them, drawn from a stated model (docs/evaluation.md, "The synthetic demo cohort").

Pure: no database and no web. The demo seeding stores what `generate` returns through the app's
services; the performance report's tests compare what the report computes with what `implied` says
the model implies.

The model in one paragraph: each person has the condition (exploitation) with probability
`prevalence`. Each item of each screening is answered independently given the condition: skipped
with probability `skipped`; otherwise in the concerning direction with a probability that depends on
the condition and on whether the item feeds a key indicator. Answers are drawn from the compiled
instrument (its items, their options, the levels each option implies, and show_if), so any instrument
works, not only the bundled ones. What was later learned is known with probability `outcome_known`,
and only once its date has come.
"""

from __future__ import annotations

import calendar
import random
from bisect import bisect
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from types import MappingProxyType
from typing import Any

from app.evaluation.answering import RANK, Answering, draw_answers, plan
from app.models_evaluation import OutcomeKind, OutcomeSource
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import INSUFFICIENT, LEVELS
from scoring import score

BRIEF_SCREEN = "tellonce-brief-screen"
SELF_REPORT = "tellonce-youth-self-report"
PRACTITIONER = "tellonce-practitioner-indicators"
DEMO_PEOPLE = 800
DEMO_SEED = 17
CUT_OFFS = LEVELS[1:]  # a result at the cut-off level or a more concerning one is "positive"


ANSWERING: Mapping[str, Answering] = MappingProxyType(
    {
        BRIEF_SCREEN: Answering(key_with=0.115, key_without=0.035, other_with=0.27, other_without=0.1, skipped=0.03),
        SELF_REPORT: Answering(
            key_with=0.11, key_without=0.01, other_with=0.08, other_without=0.01, skipped=0.006, unsure=0.35
        ),
        PRACTITIONER: Answering(
            key_with=0.12, key_without=0.01, other_with=0.09, other_without=0.012, skipped=0.008, unsure=0.4
        ),
    }
)
OTHER_INSTRUMENTS = Answering(key_with=0.12, key_without=0.01, other_with=0.1, other_without=0.01, skipped=0.01)


@dataclass(frozen=True)
class Model:
    """The stated model the demo cohort is drawn from; docs/evaluation.md says it in words and formulas."""

    prevalence: float = 0.28  # P(condition): exploitation, as a later assessment would confirm it
    answering: Mapping[str, Answering] = field(default_factory=lambda: ANSWERING)  # per instrument id
    other_instruments: Answering = OTHER_INSTRUMENTS  # for any instrument not in `answering`
    first: str = BRIEF_SCREEN  # every person takes this screening first
    # Each also taken with P = the first number when the first screening's next steps recommend it (the
    # brief screen's do after any result but no concern), else the second: about half of all people.
    later: tuple[tuple[str, float, float], ...] = ((SELF_REPORT, 0.75, 0.3), (PRACTITIONER, 0.75, 0.3))
    later_days: tuple[int, int] = (1, 21)  # a later screening comes this many days after the first (uniform)
    window_days: int = 730  # the first screening is 1 to this many days before `today` (uniform)
    second_agency: float = 0.4  # P(agency 1); else agency 0. A person's screenings are all at one agency
    outcome_known: float = 0.85  # P(what became of the person is learned)
    lost_share: float = 0.5  # P(recorded lost_to_follow_up | not learned); else nothing is recorded
    learned_months: tuple[int, int] = (2, 10)  # confirmed or lost: learned this many months after (uniform by day)
    follow_up_months: tuple[int, ...] = (12, 6)  # not_indicated: after the longest follow-up that has passed
    ages: tuple[int, int] = (12, 17)  # age at the first screening, whole years (uniform)

    def answering_for(self, instrument_id: str) -> Answering:
        """How the items of this instrument are answered."""
        return self.answering.get(instrument_id, self.other_instruments)


@dataclass(frozen=True)
class Screening:
    """One completed screening: `answers` is what AnswersSave takes and scoring accepts, as given."""

    instrument_id: str
    instrument_version: str
    mode: str
    answers: dict[str, Any]
    completed_on: date
    agency: int


@dataclass(frozen=True)
class OutcomeDraft:
    """What was later learned about a person, ready to record as an Outcome."""

    kind: OutcomeKind
    source: OutcomeSource
    learned_on: date
    follow_up_months: int | None  # set for not_indicated only


@dataclass(frozen=True)
class Person:
    """One invented young person."""

    index: int
    case_number: str
    given_name: str
    family_name: str
    birth_date: date
    agency: int
    has_condition: bool
    screenings: tuple[Screening, ...]  # the first screening, then any later ones by date
    outcome: OutcomeDraft | None


# Plainly invented: one given name per letter, one plant per letter, so no one mistakes them for people.
GIVEN_NAMES = (
    *("Ari", "Bex", "Cato", "Dara", "Eden", "Fenn", "Gale", "Hollis", "Indy", "Jules", "Kai", "Lumen", "Marlo"),
    *("Noor", "Onyx", "Pim", "Quill", "Remy", "Sage", "Tove", "Umber", "Vale", "Wynn", "Xeno", "Yael", "Zuri"),
)
FAMILY_NAMES = (
    *("Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ivy", "Juniper"),
    *("Larch", "Maple", "Nettle", "Olive", "Poplar", "Quince", "Rowan", "Sorrel", "Teak", "Willow"),
)
SOURCES: Mapping[OutcomeKind, tuple[tuple[OutcomeSource, ...], tuple[int, ...]]] = {
    OutcomeKind.confirmed: (
        (
            OutcomeSource.later_assessment,
            OutcomeSource.investigation,
            OutcomeSource.youth_disclosure,
            OutcomeSource.court_finding,
        ),
        (4, 3, 2, 1),
    ),
    OutcomeKind.not_indicated: ((OutcomeSource.later_assessment, OutcomeSource.service_record), (1, 1)),
    OutcomeKind.lost_to_follow_up: ((OutcomeSource.service_record, OutcomeSource.other), (3, 1)),
}


def generate(registry: Registry, model: Model, people: int, today: date, seed: int) -> list[Person]:
    """`people` invented people, the same for the same arguments; newest instrument versions."""
    rng = _random(seed)
    first = newest(registry, model.first)
    later = [(newest(registry, instrument_id), shares) for instrument_id, *shares in model.later]
    names = [(given, family) for given in GIVEN_NAMES for family in FAMILY_NAMES]
    rng.shuffle(names)
    cohort = []
    for index in range(people):
        condition = rng.random() < model.prevalence
        agency = 1 if rng.random() < model.second_agency else 0
        screened = today - timedelta(days=rng.randint(1, model.window_days))
        taken = [_screening(first, model, condition, screened, agency, rng)]
        level = score(first, taken[0].answers).overall
        for compiled, (if_recommended, otherwise) in later:
            recommended = recommends(first, level, compiled.id)
            day = screened + timedelta(days=rng.randint(*model.later_days))
            if rng.random() < (if_recommended if recommended else otherwise) and day <= today:
                taken.append(_screening(compiled, model, condition, day, agency, rng))
        outcome = _outcome(model, condition, screened, today, rng)
        born = _born(screened, rng.randint(*model.ages), rng)
        given, family = names[index % len(names)]
        cohort.append(
            Person(
                index=index,
                case_number=f"EV-{index + 1:04d}",
                given_name=given,
                family_name=family,
                birth_date=born,
                agency=agency,
                has_condition=condition,
                screenings=tuple(sorted(taken, key=lambda s: s.completed_on)),
                outcome=outcome,
            )
        )
    return cohort


def _random(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311  (synthetic demo data: reproducible from its seed, never secret)


def newest(registry: Registry, instrument_id: str) -> CompiledInstrument:
    """The newest loaded version of an instrument; KeyError when none is loaded."""
    compiled = registry.get(instrument_id)
    if compiled is None:
        raise KeyError(instrument_id)
    return compiled


def recommends(compiled: CompiledInstrument, level: str, instrument_id: str) -> bool:
    """Whether the next steps of `level` recommend the instrument `instrument_id`."""
    steps = (step for key, steps in compiled.definition.next_steps.items() if key == level for step in steps)
    return any(step.instrument == instrument_id for step in steps)


def _screening(
    compiled: CompiledInstrument, model: Model, condition: bool, day: date, agency: int, rng: random.Random
) -> Screening:
    answers = draw_answers(compiled, model.answering_for(compiled.id), condition, rng)
    return Screening(compiled.id, compiled.version, mode_of(compiled), answers, day, agency)


def mode_of(compiled: CompiledInstrument) -> str:
    """The mode a demo screening uses: the young person's own words where the instrument allows them
    (its first mode other than a practitioner's rating), else the practitioner's."""
    return next((m for m in compiled.definition.modes if m != "practitioner"), "practitioner")


def _outcome(model: Model, condition: bool, screened: date, today: date, rng: random.Random) -> OutcomeDraft | None:
    # The same draws whatever the dates, so that the people after this one do not depend on `today`.
    known, lost, when, pick = rng.random(), rng.random(), rng.random(), rng.random()
    months: int | None = None
    if known < model.outcome_known and condition:
        kind, learned = OutcomeKind.confirmed, _between(screened, model.learned_months, when)
    elif known < model.outcome_known:
        passed = [m for m in model.follow_up_months if add_months(screened, m) <= today]
        if not passed:
            return None  # not yet followed for long enough to say
        months = max(passed)
        kind, learned = OutcomeKind.not_indicated, add_months(screened, months)
    elif lost < model.lost_share:
        kind, learned = OutcomeKind.lost_to_follow_up, _between(screened, model.learned_months, when)
    else:
        return None
    sources, weights = SOURCES[kind]
    source = sources[bisect(list(accumulate(weights)), pick * sum(weights))]
    return OutcomeDraft(kind, source, learned, months) if learned <= today else None


def _between(day: date, months: tuple[int, int], fraction: float) -> date:
    """The day at `fraction` of the way from `months[0]` to `months[1]` months after `day`."""
    start, end = add_months(day, months[0]), add_months(day, months[1])
    return start + timedelta(days=int(fraction * ((end - start).days + 1)))


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _born(screened: date, age: int, rng: random.Random) -> date:
    """A birth date on which a person is `age` years old on `screened`."""
    latest = add_months(screened, -12 * age)
    earliest = add_months(screened, -12 * (age + 1)) + timedelta(days=1)
    return earliest + timedelta(days=int(rng.random() * ((latest - earliest).days + 1)))


# ---- answers, drawn from the compiled instrument ----


# ---- what the model implies ----


def implied(
    registry: Registry, instrument_id: str, model: Model, draws: int = 20000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """(sensitivity, specificity) the model implies at each cut-off level, among results that are not
    insufficient information: in closed form for the brief screen, else by simulation."""
    return sensitivity_specificity(*implied_levels(registry, instrument_id, model, draws, seed))


def implied_levels(
    registry: Registry, instrument_id: str, model: Model, draws: int = 20000, seed: int = 0
) -> tuple[dict[str, float], dict[str, float]]:
    """P(each overall level) with the condition and without it."""
    compiled = newest(registry, instrument_id)
    answering = model.answering_for(instrument_id)
    closed = _closed_levels(compiled, answering, True), _closed_levels(compiled, answering, False)
    if closed[0] is not None and closed[1] is not None:
        return closed[0], closed[1]
    rng = _random(seed)
    return (
        _simulated_levels(compiled, answering, True, draws, rng),
        _simulated_levels(compiled, answering, False, draws, rng),
    )


def sensitivity_specificity(
    with_condition: Mapping[str, float], without: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    """From level shares (or counts) per group: (sensitivity, specificity) at each cut-off, leaving out
    insufficient information."""
    figures = {}
    for cut_off in CUT_OFFS:
        positive = [level for level in LEVELS if RANK[level] >= RANK[cut_off]]
        concluded_with = sum(with_condition.get(level, 0.0) for level in LEVELS)
        concluded_without = sum(without.get(level, 0.0) for level in LEVELS)
        sensitivity = sum(with_condition.get(level, 0.0) for level in positive) / concluded_with
        specificity = sum(without.get(level, 0.0) for level in LEVELS if level not in positive) / concluded_without
        figures[cut_off] = (sensitivity, specificity)
    return figures


def _closed_levels(compiled: CompiledInstrument, answering: Answering, condition: bool) -> dict[str, float] | None:
    """The brief screen's level shares, worked out; None for any other instrument.

    Each of its items is yes/no with no show_if and feeds one indicator ('yes' = clear concern); overall
    clear concern = a 'yes' to a key item; possible = a 'yes' to another item; insufficient = no 'yes'
    but a skipped item; no concern = every item 'no'. With s the skip probability, c the probability
    of 'yes' once answered, k key items and m others:
        y = (1 - s) c (a 'yes'), n = (1 - s)(1 - c) (a 'no'), per kind of item;
        P(clear) = 1 - (1 - y_key)^k
        P(possible) = (1 - y_key)^k (1 - (1 - y_other)^m)
        P(no concern) = n_key^k n_other^m
        P(insufficient) = (1 - y_key)^k (1 - y_other)^m - P(no concern)
    """
    items = plan(compiled)
    shaped = all(i.shape == "code" and i.strong == ("yes",) and i.condition is None for i in items)
    if compiled.id != BRIEF_SCREEN or not compiled.every_answer or not shaped:
        return None
    s = answering.skipped
    k = sum(1 for i in items if i.key)
    m = len(items) - k
    yes_key = (1 - s) * answering.concerning(True, condition)
    yes_other = (1 - s) * answering.concerning(False, condition)
    no_key, no_other = (1 - s) - yes_key, (1 - s) - yes_other
    none_key, none_other = (1 - yes_key) ** k, (1 - yes_other) ** m  # no 'yes' among them
    no_concern = no_key**k * no_other**m
    return {
        "clear_concern": 1 - none_key,
        "possible_concern": none_key * (1 - none_other),
        INSUFFICIENT: none_key * none_other - no_concern,
        "no_concern": no_concern,
    }


def _simulated_levels(
    compiled: CompiledInstrument, answering: Answering, condition: bool, draws: int, rng: random.Random
) -> dict[str, float]:
    counts: Counter[str] = Counter()
    scored: dict[tuple[tuple[str, Any], ...], str] = {}  # the brief screen has few distinct answer sets
    for _ in range(draws):
        answers = draw_answers(compiled, answering, condition, rng)
        key = tuple((item, tuple(v) if isinstance(v, list) else v) for item, v in answers.items())
        level = scored.get(key)
        if level is None:
            level = scored[key] = score(compiled, answers).overall
        counts[level] += 1
    return {level: counts[level] / draws for level in (INSUFFICIENT, *LEVELS)}
