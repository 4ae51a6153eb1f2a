"""The synthetic demo cohort (docs/evaluation.md): drawn as its stated model says, accepted by the app as
any screening would be, and with the sensitivity and specificity the model implies. Pure: no database."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest

from app.evaluation import cohort
from app.evaluation.answering import Answering, draw_answers
from app.evaluation.cohort import BRIEF_SCREEN, DEMO_PEOPLE, DEMO_SEED, PRACTITIONER, SELF_REPORT, Model, Person
from app.main import loaded_instruments
from app.models_evaluation import OutcomeKind
from app.screenings.schemas import AnswersSave
from instruments import Registry, load
from instruments.model import DECLINED, LEVELS, NOT_ASKED, NOT_ENOUGH_INFO
from scoring import answer_problem, score, visible_only
from tests.scoring.test_self_only_instrument import SELF_ONLY

TODAY = date(2026, 5, 1)
MODEL = Model()
INSTRUMENTS = (BRIEF_SCREEN, SELF_REPORT, PRACTITIONER)
Z95 = 1.959964  # the normal quantile of a two-sided 95% interval
Z999 = 3.290527  # and of a 99.9% one


@pytest.fixture(scope="module")
def registry() -> Registry:
    return loaded_instruments()  # the app's own instruments, compiled once per process


@pytest.fixture(scope="module")
def demo(registry: Registry) -> list[Person]:
    return cohort.generate(registry, MODEL, DEMO_PEOPLE, TODAY, DEMO_SEED)


@pytest.fixture(scope="module")
def large(registry: Registry) -> list[Person]:
    """Enough people that shares sit close to the model's probabilities."""
    return cohort.generate(registry, MODEL, 4000, TODAY, 1)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% unless `z` says otherwise)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_the_interval_is_wilsons() -> None:
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # worked by hand from the formula
    assert wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)


def near(share: float, expected: float, n: int) -> bool:
    """Within four standard errors of a binomial share (a false alarm about once in 16,000)."""
    return abs(share - expected) <= 4 * math.sqrt(expected * (1 - expected) / n)


def test_the_same_seed_gives_the_same_cohort_and_another_seed_another(registry: Registry) -> None:
    first = cohort.generate(registry, MODEL, 60, TODAY, 5)
    assert cohort.generate(registry, MODEL, 60, TODAY, 5) == first
    assert cohort.generate(registry, MODEL, 60, TODAY, 6) != first


def test_every_answer_set_is_taken_by_the_service_and_scored_as_given(registry: Registry, demo: list[Person]) -> None:
    given: Counter[str] = Counter()
    for person in demo:
        for screening in person.screenings:
            compiled = registry.get(screening.instrument_id, screening.instrument_version)
            assert compiled is not None
            assert screening.mode in compiled.definition.modes
            saved = AnswersSave.model_validate({"version": 0, "answers": screening.answers})
            assert saved.answers == screening.answers
            assert {i: p for i, v in screening.answers.items() if (p := answer_problem(compiled, i, v))} == {}
            assert visible_only(compiled, screening.answers) == screening.answers  # nothing hidden was answered
            score(compiled, screening.answers)  # raises on any answer scoring would refuse
            given.update(str(v) for v in screening.answers.values())
    # the special answers and the lesser concerns are drawn too, not only yes and no
    assert given[DECLINED] > 0 and given[NOT_ENOUGH_INFO] > 0
    assert given["not_sure"] > 0 and given["possible_concern"] > 0


def test_a_follow_up_question_is_answered_only_when_its_show_if_shows_it(demo: list[Person]) -> None:
    reports = [s.answers for p in demo for s in p.screenings if s.instrument_id == SELF_REPORT]
    asked = [a for a in reports if a.get("owes_money") in ("yes", "not_sure")]
    assert asked and all("work_to_pay" in a for a in asked)
    assert all("work_to_pay" not in a for a in reports if a.get("owes_money") not in ("yes", "not_sure"))
    assert all(NOT_ASKED not in a.values() for a in reports)


def test_any_instrument_can_be_drawn_from_not_only_the_bundled_ones() -> None:
    loaded_result = load(text=SELF_ONLY, name="self-only.yaml")  # multiple choice, number, date, text, show_if
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and compiled is not None
    registry = Registry({compiled.key: compiled})
    model = Model(first=compiled.id, later=())
    people = cohort.generate(registry, model, 300, TODAY, 3)
    answers = [p.screenings[0].answers for p in people]
    for given in answers:
        score(compiled, given)
    paid = Counter(tuple(a["paid_with"]) for a in answers if "paid_with" in a)
    assert paid[("nothing",)] > 0 and paid[("cash",)] + paid[("other",)] > 0  # the concerning option and others
    assert all("hours" not in a and "employer" not in a for a in answers)  # no model for numbers or text: left out
    assert all(p.screenings[0].mode == "self" for p in people)


def test_shares_of_condition_screenings_and_outcomes_follow_the_model(registry: Registry, large: list[Person]) -> None:
    n = len(large)
    assert near(sum(p.has_condition for p in large) / n, MODEL.prevalence, n)
    assert near(sum(p.agency == 1 for p in large) / n, MODEL.second_agency, n)
    # Long enough ago that every outcome's date has come: what was learned is as the model draws it.
    settled = [p for p in large if (TODAY - p.screenings[0].completed_on).days > 320]
    with_condition = [p for p in settled if p.has_condition]
    without = [p for p in settled if not p.has_condition]
    kinds_with = Counter(p.outcome.kind if p.outcome else None for p in with_condition)
    kinds_without = Counter(p.outcome.kind if p.outcome else None for p in without)
    known, lost = MODEL.outcome_known, (1 - MODEL.outcome_known) * MODEL.lost_share
    assert set(kinds_with) <= {OutcomeKind.confirmed, OutcomeKind.lost_to_follow_up, None}
    assert set(kinds_without) <= {OutcomeKind.not_indicated, OutcomeKind.lost_to_follow_up, None}
    assert near(kinds_with[OutcomeKind.confirmed] / len(with_condition), known, len(with_condition))
    assert near(kinds_without[OutcomeKind.not_indicated] / len(without), known, len(without))
    assert near(kinds_with[OutcomeKind.lost_to_follow_up] / len(with_condition), lost, len(with_condition))
    assert near(kinds_without[OutcomeKind.lost_to_follow_up] / len(without), lost, len(without))
    # Later screenings: more often when the brief screen's next steps recommend them.
    brief = cohort.newest(registry, BRIEF_SCREEN)
    recommended = [p for p in settled if score(brief, p.screenings[0].answers).overall != "no_concern"]
    not_recommended = [p for p in settled if p not in recommended]
    for instrument_id, if_recommended, otherwise in MODEL.later:
        for group, share in ((recommended, if_recommended), (not_recommended, otherwise)):
            took = sum(any(s.instrument_id == instrument_id for s in p.screenings) for p in group)
            assert near(took / len(group), share, len(group))


def test_dates_fall_in_the_two_years_before_today_and_nothing_is_learned_ahead_of_it(large: list[Person]) -> None:
    for person in large:
        first, *later = person.screenings
        assert first.instrument_id == BRIEF_SCREEN
        assert TODAY - timedelta(days=MODEL.window_days) <= first.completed_on < TODAY
        assert all(1 <= (s.completed_on - first.completed_on).days <= 21 and s.completed_on <= TODAY for s in later)
        assert all(s.agency == person.agency for s in person.screenings)
        screened, born = first.completed_on, person.birth_date
        age = screened.year - born.year - ((screened.month, screened.day) < (born.month, born.day))
        assert 12 <= age <= 17
        outcome = person.outcome
        if outcome is None:
            continue
        assert outcome.learned_on <= TODAY
        if outcome.kind == OutcomeKind.not_indicated:
            assert outcome.follow_up_months in (6, 12)
            assert outcome.learned_on == cohort.add_months(screened, outcome.follow_up_months)
            # followed for a year when a year has passed
            assert outcome.follow_up_months == 12 or cohort.add_months(screened, 12) > TODAY
        else:
            assert outcome.follow_up_months is None
            assert cohort.add_months(screened, 2) <= outcome.learned_on <= cohort.add_months(screened, 10)
    assert len({p.case_number for p in large}) == len(large) and large[0].case_number == "EV-0001"


def simulated_implied(
    registry: Registry, instrument_id: str, model: Model, draws: int, seed: int
) -> dict[str, tuple[float, float]]:
    """As `cohort.implied`, always by scoring `draws` answer sets per group with the real scoring engine."""
    compiled = cohort.newest(registry, instrument_id)
    answering = model.answering_for(instrument_id)
    rng = random.Random(seed)  # noqa: S311  (reproducible draws, never secret)

    def shares(condition: bool) -> dict[str, float]:
        levels = Counter(
            score(compiled, draw_answers(compiled, answering, condition, rng)).overall for _ in range(draws)
        )
        return {level: n / draws for level, n in levels.items()}

    return cohort.sensitivity_specificity(shares(True), shares(False))


def test_the_brief_screen_in_closed_form_agrees_with_scoring_simulated_answers(registry: Registry) -> None:
    closed = cohort.implied(registry, BRIEF_SCREEN, MODEL)
    simulated = simulated_implied(registry, BRIEF_SCREEN, MODEL, draws=20000, seed=11)
    assert set(closed) == set(simulated) == {"possible_concern", "clear_concern"}
    for cut_off, (sensitivity, specificity) in closed.items():
        assert sensitivity == pytest.approx(simulated[cut_off][0], abs=0.01)
        assert specificity == pytest.approx(simulated[cut_off][1], abs=0.01)
    # and the closed form follows the model: more 'yes' from people with the condition, more sensitivity
    keener = replace(MODEL, answering={**MODEL.answering, BRIEF_SCREEN: Answering(0.3, 0.03, 0.5, 0.1, 0.03)})
    assert cohort.implied(registry, BRIEF_SCREEN, keener)["possible_concern"][0] > closed["possible_concern"][0] + 0.1


@cache
def implied_by_the_model(instrument_id: str) -> dict[str, tuple[float, float]]:
    """What the model implies (by simulation for the long instruments: worked out once per test run)."""
    return cohort.implied(loaded_instruments(), instrument_id, MODEL, draws=10000, seed=2)


def tally(registry: Registry, people: list[Person], instrument_id: str) -> Counter[tuple[str, str | None]]:
    """(overall level, outcome kind or None) -> how many screenings with this instrument, scored for real."""
    counts: Counter[tuple[str, str | None]] = Counter()
    for person in people:
        for screening in person.screenings:
            if screening.instrument_id == instrument_id:
                compiled = registry.instruments[instrument_id, screening.instrument_version]
                level = score(compiled, screening.answers).overall
                counts[level, person.outcome.kind.value if person.outcome else None] += 1
    return counts


def observed(registry: Registry, people: list[Person], instrument_id: str) -> dict[str, tuple[int, int, int, int]]:
    """(true positives, people with the condition, true negatives, people without) at each cut-off, counting
    levels by scoring the answers; confirmed = the condition, not_indicated = none; insufficient left out."""
    counts = tally(registry, people, instrument_id)
    found = {}
    for cut_off in cohort.CUT_OFFS:
        positive = LEVELS[LEVELS.index(cut_off) :]
        tp = sum(counts[level, "confirmed"] for level in positive)
        tn = sum(counts[level, "not_indicated"] for level in LEVELS if level not in positive)
        found[cut_off] = (
            tp,
            sum(counts[level, "confirmed"] for level in LEVELS),
            tn,
            sum(counts[level, "not_indicated"] for level in LEVELS),
        )
    return found


@pytest.mark.parametrize("instrument_id", INSTRUMENTS)
@pytest.mark.parametrize(("size", "z"), [("demo", Z95), ("large", Z999)])
def test_a_cohort_shows_the_sensitivity_and_specificity_the_model_implies(
    registry: Registry, request: pytest.FixtureRequest, size: str, z: float, instrument_id: str
) -> None:
    # The demo's 400 people, each figure within its 95% interval; and ten times as many, whose narrower
    # intervals catch a smaller departure from the model (at 99.9%: twelve figures are checked there).
    people = request.getfixturevalue(size)
    implied = implied_by_the_model(instrument_id)
    for cut_off, (tp, with_condition, tn, without) in observed(registry, people, instrument_id).items():
        low, high = wilson(tp, with_condition, z)
        assert low <= implied[cut_off][0] <= high, (cut_off, "sensitivity", tp, with_condition, implied[cut_off])
        low, high = wilson(tn, without, z)
        assert low <= implied[cut_off][1] <= high, (cut_off, "specificity", tn, without, implied[cut_off])


def test_the_demo_brief_screen_has_no_small_cell_to_suppress(registry: Registry, demo: list[Person]) -> None:
    # Each cell of its 2x2 tables at both cut-offs, and of its concluded levels by outcome, is over 10, so the
    # performance page shows every figure of the demo rather than suppressing it.
    counts = tally(registry, demo, BRIEF_SCREEN)
    assert min(counts[level, kind] for level in LEVELS for kind in ("confirmed", "not_indicated")) > 10
    for tp, with_condition, tn, without in observed(registry, demo, BRIEF_SCREEN).values():
        assert min(tp, with_condition - tp, tn, without - tn) > 10


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_an_answer_model_refuses_a_probability_outside_zero_to_one(bad: Any) -> None:
    with pytest.raises(ValueError, match="probability"):
        Answering(0.1, 0.1, bad, 0.1, 0.01)
