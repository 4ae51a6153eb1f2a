"""Golden cases for the youth self-report 1.1.0 (tellonce-youth-self-report 1.1.0).

The same tables hold for 1.2.0 and 1.3.0, which have the same questions and rules and only add `carry`
(1.2.0) and `screen_again` (1.3.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

- the same questions, follow-ups and answer mapping as 1.0.0 (see test_golden_self_report.py):
  `stay_in_return` is shown after a `yes` or `not_sure` to `no_safe_place` or `stayed_away` and
  feeds housing.exchange; `work_to_pay` after `owes_money` feeds coercion.debt;
  `someone_else_involved` after `sex_for_things` feeds exploitation.third_party and
  coercion.earnings;
- `indicator_needs: every_answer`: with no concerning answer an indicator is no concern only when
  every question feeding it is settled: answered, or hidden because its gates were answered. A
  follow-up hidden because its gate was declined or skipped is not settled, so nothing it feeds can
  be no concern; an indicator fed only by follow-ups that its gates' answers hid is no concern;
- domain and overall rules as the practitioner tool 1.1.0 (see test_golden_practitioner_110.py):
  domains 1 clear, 2 possible, 3 no concern when all are, 4 insufficient; overall 1 clear, 2
  possible, 3 insufficient when a domain is insufficient or an indicator is unknown (so an
  unsettled question under a possible area is never "no concern"), 4 no concern;
- a section is skipped when it had a question shown and not one informative answer.

Reasons name what stands at exactly their level (see test_golden_brief_110.py); the clauses of
rule 3 name the insufficient domains and the unknown indicators, in definition order.
"""

from __future__ import annotations

import pytest

from instruments.compiled import CompiledInstrument
from tests.scoring.golden import (
    CLEAR,
    DECL,
    INS,
    NO,
    POSS,
    RULES_OF_1_1_0,
    UNK,
    Case,
    Clause,
    Expect,
    Reason,
    bundled,
    check,
    expect_params,
)
from tests.scoring.test_differential import differences
from tests.scoring.test_golden_self_report import ALL_DECLINED, ALL_NO, DOMAINS, FOLLOW_UPS, INDICATORS

INSTRUMENT_ID = "tellonce-youth-self-report"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these tables hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
    return bundled(INSTRUMENT_ID, request.param)


SECTIONS = ("home", "past", "health", "people", "places", "money", "work", "personal", "safety")
PERSONAL = ("pictures", "sex_for_things", "someone_else_involved", "pushed_to_others")  # the third is a follow-up
KEYS = (
    "housing.exchange",
    "coercion.debt",
    "coercion.earnings",
    "exploitation.sex_exchange",
    "exploitation.third_party",
    "exploitation.labor_forced",
)
KEY_CLEAR = "any(indicators, key=true, level='clear_concern')"
TWO_CLEAR = "count(domains, level='clear_concern') >= 2"
ONE_CLEAR = "count(domains, level='clear_concern') == 1"
KEY_POSSIBLE = "any(indicators, key=true, level='possible_concern')"
TWO_POSSIBLE = "count(domains, level='possible_concern') >= 2"
ANY_INSUFFICIENT = "any(domains, level='insufficient_information')"
ANY_UNKNOWN = "any(indicators, level='unknown')"


def personal_skipped(case_id: str, answer: str | None) -> Expect:
    """Every always-shown personal question declined (or left blank): the follow-up stays hidden."""
    asked = ("pictures", "sex_for_things", "pushed_to_others")
    answers = {k: v for k, v in (ALL_NO | dict.fromkeys(asked, answer)).items() if v is not None}
    return Expect(
        Case(
            case_id,
            answers,
            overall=INS,
            # someone_else_involved is hidden because its gate was not answered: not settled, so
            # coercion.earnings (which it feeds beside money_taken) is unknown too
            domains={"exploitation": INS, "coercion": INS},
            other_domains=NO,
            indicators={
                "exploitation.sexual_images": UNK,
                "exploitation.sex_exchange": UNK,
                "exploitation.third_party": UNK,
                "coercion.earnings": UNK,
                "exploitation.labor_forced": NO,
                "exploitation.labor_unpaid": NO,
                "housing.exchange": NO,  # its follow-up was hidden by two answered gates
            },
            other_indicators=NO,
            reason=Reason(
                3,
                ("coercion.earnings", "exploitation.sex_exchange", "exploitation.third_party"),
                ("coercion", "exploitation"),
            ),
            domain_reasons={
                "exploitation": (
                    4,
                    ("exploitation.sex_exchange", "exploitation.third_party", "exploitation.sexual_images"),
                ),
                "coercion": (4, ("coercion.earnings",)),
                "housing": (3, ()),
            },
            completeness=(34, 28, 3, 0, 3, 0) if answer == DECL else (34, 28, 0, 0, 3, 3),
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", ("coercion", "exploitation")),
            Clause(
                ANY_UNKNOWN,
                "indicators",
                (
                    "coercion.earnings",
                    "exploitation.sex_exchange",
                    "exploitation.third_party",
                    "exploitation.sexual_images",
                ),
            ),
        ),
        domain_clauses={"exploitation": ()},
        skipped=("personal",),
    )


CASES = [
    Expect(
        Case(
            "all-no-settles-every-hidden-follow-up",
            ALL_NO,
            overall=NO,
            other_domains=NO,
            other_indicators=NO,  # housing.exchange too (it was unknown under 1.0.0)
            reason=Reason(4),
            domain_reasons={d: (3, ()) for d in DOMAINS},
            evidence={"housing.exchange": (), "coercion.debt": (("owes_money", "no", NO),)},
            completeness=(34, 31, 0, 0, 3, 0),
        ),
        clauses=(),
        skipped=(),
    ),
    Expect(
        Case(
            "all-declined-is-insufficient",
            ALL_DECLINED,
            overall=INS,
            other_domains=INS,
            other_indicators=UNK,
            reason=Reason(3, KEYS, tuple(DOMAINS)),
            domain_reasons={d: (0, ()) for d in DOMAINS},
            completeness=(34, 0, 31, 0, 3, 0),
        ),
        clauses=(Clause(ANY_INSUFFICIENT, "domains", tuple(DOMAINS)), Clause(ANY_UNKNOWN, "indicators", INDICATORS)),
        skipped=SECTIONS,
    ),
    personal_skipped("personal-section-declined-is-insufficient-never-no-concern", DECL),
    personal_skipped("personal-section-left-blank-is-insufficient-never-no-concern", None),
    Expect(
        Case(
            "both-housing-gates-no-settle-the-hidden-follow-up",
            {"no_safe_place": "no", "stayed_away": "no", "unsafe_at_home": "no"},
            overall=INS,
            domains={"housing": NO},
            other_domains=INS,
            indicators={
                "housing.unstable": NO,
                "housing.runaway": NO,
                "housing.caregiver_unsafe": NO,
                "housing.exchange": NO,
            },
            other_indicators=UNK,
            reason=Reason(3, KEYS[1:], tuple(DOMAINS)[1:]),
            domain_reasons={"housing": (3, ()), "coercion": (0, ()), "exploitation": (0, ())},
            evidence={"housing.exchange": ()},
            completeness=(34, 3, 0, 0, 3, 28),  # work_to_pay and someone_else_involved: gates unanswered
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", tuple(DOMAINS)[1:]),
            Clause(ANY_UNKNOWN, "indicators", INDICATORS[len(DOMAINS["housing"]) :]),  # all but housing's
        ),
        skipped=SECTIONS[1:],
    ),
    Expect(
        Case(
            "a-declined-housing-gate-leaves-the-hidden-follow-up-unsettled",
            ALL_NO | {"no_safe_place": DECL},
            overall=INS,
            domains={"housing": INS},
            other_domains=NO,
            indicators={"housing.unstable": UNK, "housing.exchange": UNK},
            other_indicators=NO,
            reason=Reason(3, ("housing.exchange",), ("housing",)),
            domain_reasons={"housing": (4, ("housing.unstable", "housing.exchange"))},
            completeness=(34, 30, 1, 0, 3, 0),
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", ("housing",)),
            Clause(ANY_UNKNOWN, "indicators", ("housing.unstable", "housing.exchange")),
        ),
        skipped=(),
    ),
    Expect(
        Case(
            "one-clear-key-answer-with-everything-else-unanswered-is-clear",
            {"made_to_work": "yes"},
            overall=CLEAR,
            domains={"exploitation": CLEAR},
            other_domains=INS,
            indicators={"exploitation.labor_forced": CLEAR},
            other_indicators=UNK,
            reason=Reason(1, ("exploitation.labor_forced",), ("exploitation",)),
            domain_reasons={"exploitation": (1, ("exploitation.labor_forced",)), "housing": (0, ())},
            completeness=(34, 1, 0, 0, 3, 30),
        ),
        clauses=(Clause(KEY_CLEAR, "indicators", ("exploitation.labor_forced",)),),
        skipped=tuple(s for s in SECTIONS if s != "work"),
    ),
    Expect(
        Case(
            "a-declined-follow-up-does-not-undo-the-concern-of-its-gate",
            ALL_NO | {"owes_money": "yes", "work_to_pay": DECL},
            overall=POSS,
            domains={"coercion": POSS},
            other_domains=NO,
            indicators={"coercion.debt": POSS},
            other_indicators=NO,
            reason=Reason(2, ("coercion.debt",), ("coercion",)),
            domain_reasons={"coercion": (2, ("coercion.debt",))},
            evidence={"coercion.debt": (("owes_money", "yes", POSS),)},
        ),
        clauses=(Clause(KEY_POSSIBLE, "indicators", ("coercion.debt",)),),
    ),
    Expect(
        Case(
            "two-clear-domains-count-two-against-a-bound-of-two",
            ALL_NO | {"hurt_by_caregiver": "yes", "threatened": "yes"},
            overall=CLEAR,
            domains={"trauma": CLEAR, "coercion": CLEAR},
            other_domains=NO,
            reason=Reason(1, (), ("trauma", "coercion")),
        ),
        clauses=(Clause(TWO_CLEAR, "domains", ("trauma", "coercion"), 2.0, ">=", 2.0),),
    ),
    Expect(
        Case(
            # 'not sure' about having no safe place shows the follow-up about a place to stay in
            # exchange; left unanswered, housing.exchange (a key indicator) is unknown. The housing
            # area is possible (housing.unstable) and no area is insufficient, but an indicator is
            # unknown: rule 3 by its second part, naming the key indicator and no domain.
            "a-key-follow-up-left-unanswered-under-a-possible-domain-is-insufficient",
            ALL_NO | {"no_safe_place": "not_sure"},
            overall=INS,
            domains={"housing": POSS},
            other_domains=NO,
            indicators={"housing.unstable": POSS, "housing.exchange": UNK},
            other_indicators=NO,
            reason=Reason(3, ("housing.exchange",)),
            domain_reasons={"housing": (2, ("housing.unstable",))},
            completeness=(34, 31, 0, 0, 2, 1),
        ),
        clauses=(Clause(ANY_UNKNOWN, "indicators", ("housing.exchange",)),),
        skipped=(),
    ),
    Expect(
        Case(
            # 'not sure' about unwanted touching makes trauma possible; declining the question about
            # being hurt by a caregiver leaves trauma.physical_abuse (not key) unknown. No area is
            # insufficient and nothing key is unknown, so the reason names nothing; the clause names
            # the indicator (see test_properties.py: before declining, trauma was clear).
            "a-declined-question-under-a-possible-domain-is-insufficient",
            ALL_NO | {"unwanted_touch": "not_sure", "hurt_by_caregiver": DECL},
            overall=INS,
            domains={"trauma": POSS},
            other_domains=NO,
            indicators={"trauma.sexual_abuse": POSS, "trauma.physical_abuse": UNK},
            other_indicators=NO,
            reason=Reason(3),
            domain_reasons={"trauma": (2, ("trauma.sexual_abuse",))},
            completeness=(34, 30, 1, 0, 3, 0),
        ),
        clauses=(Clause(ANY_UNKNOWN, "indicators", ("trauma.physical_abuse",)),),
        domain_clauses={
            "trauma": (Clause("any(indicators, level='possible_concern')", "indicators", ("trauma.sexual_abuse",)),)
        },
        skipped=(),
    ),
]


@pytest.mark.parametrize("expect", expect_params(CASES))
def test_case(instrument: CompiledInstrument, expect: Expect) -> None:
    check(instrument, expect, DOMAINS)


@pytest.mark.parametrize("expect", expect_params(CASES))
def test_reference_agrees(instrument: CompiledInstrument, expect: Expect) -> None:
    assert differences(instrument, expect.case.answers) == {}


def test_definition_matches_this_table(instrument: CompiledInstrument) -> None:
    assert list(instrument.domain_indicators.items()) == list(DOMAINS.items())  # in order: clauses list them so
    assert instrument.key_indicators_in_order == KEYS
    assert tuple(s.id for s in instrument.definition.sections) == SECTIONS
    assert tuple(i.id for i in instrument.definition.items if i.section == "personal") == PERSONAL
    assert set(instrument.show_if) == set(FOLLOW_UPS)
    assert instrument.every_answer and instrument.total is None
    assert len({e.case.id for e in CASES}) == len(CASES)


def test_the_overall_rules_are_those_worked_from(instrument: CompiledInstrument) -> None:
    """Rule 3 looks at indicators as well as domains: what the insufficient cases above rest on."""
    rules = [(r.level, r.when) for r in instrument.definition.scoring.overall]
    assert rules == [
        (CLEAR, f"{KEY_CLEAR} or {TWO_CLEAR}"),
        (POSS, f"{ONE_CLEAR} or {KEY_POSSIBLE} or {TWO_POSSIBLE}"),
        (INS, f"{ANY_INSUFFICIENT} or {ANY_UNKNOWN}"),
        (NO, None),
    ]
