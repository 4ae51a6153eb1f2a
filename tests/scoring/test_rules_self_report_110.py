"""The rules of the youth self-report 1.1.0 (tellonce-youth-self-report 1.1.0): what its cases rest on.

The same cases hold for 1.2.0 and 1.3.0, which have the same questions and rules and only add `carry`
(1.2.0) and `screen_again` (1.3.0).

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument, not copied from the engine:

- the same questions, follow-ups and answer mapping as 1.0.0 (see test_rules_self_report.py):
  `stay_in_return` is shown after a `yes` or `not_sure` to `no_safe_place` or `stayed_away` and
  feeds housing.exchange; `work_to_pay` after `owes_money` feeds coercion.debt;
  `someone_else_involved` after `sex_for_things` feeds exploitation.third_party and
  coercion.earnings;
- `indicator_needs: every_answer`: with no concerning answer an indicator is no concern only when
  every question feeding it is settled: answered, or hidden because its gates were answered. A
  follow-up hidden because its gate was declined or skipped is not settled, so nothing it feeds can
  be no concern; an indicator fed only by follow-ups that its gates' answers hid is no concern;
- domain and overall rules as the practitioner tool 1.1.0 (see test_rules_practitioner_110.py):
  domains 1 clear, 2 possible, 3 no concern when all are, 4 insufficient; overall 1 clear, 2
  possible, 3 insufficient when a domain is insufficient or an indicator is unknown (so an
  unsettled question under a possible area is never "no concern"), 4 no concern;
- a section is skipped when it had a question shown and not one informative answer.

Reasons name what stands at exactly their level (see test_rules_brief_110.py); the clauses of
rule 3 name the insufficient domains and the unknown indicators, in definition order.
"""

from __future__ import annotations

import pytest

from instruments.compiled import CompiledInstrument
from tests.scoring.golden import (
    CLEAR,
    INS,
    NO,
    POSS,
    RULES_OF_1_1_0,
    bundled,
)
from tests.scoring.test_rules_self_report import DOMAINS, FOLLOW_UPS

INSTRUMENT_ID = "tellonce-youth-self-report"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these cases hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
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


def test_definition_matches_this_table(instrument: CompiledInstrument) -> None:
    assert list(instrument.domain_indicators.items()) == list(DOMAINS.items())  # in order: clauses list them so
    assert instrument.key_indicators_in_order == KEYS
    assert tuple(s.id for s in instrument.definition.sections) == SECTIONS
    assert tuple(i.id for i in instrument.definition.items if i.section == "personal") == PERSONAL
    assert set(instrument.show_if) == set(FOLLOW_UPS)
    assert instrument.every_answer and instrument.total is None


def test_the_overall_rules_are_those_worked_from(instrument: CompiledInstrument) -> None:
    """Rule 3 looks at indicators as well as domains: what the insufficient cases in the file rest on."""
    rules = [(r.level, r.when) for r in instrument.definition.scoring.overall]
    assert rules == [
        (CLEAR, f"{KEY_CLEAR} or {TWO_CLEAR}"),
        (POSS, f"{ONE_CLEAR} or {KEY_POSSIBLE} or {TWO_POSSIBLE}"),
        (INS, f"{ANY_INSUFFICIENT} or {ANY_UNKNOWN}"),
        (NO, None),
    ]
