"""The rules of the practitioner indicator rating 1.1.0 (tellonce-practitioner-indicators): what its cases rest on.

The same cases hold for 1.2.0 and 1.3.0, which have the same questions and rules and only add `carry`
(1.2.0) and `screen_again` (1.3.0).

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument, not copied from the engine:

- the same 34 lines as 1.0.0, one rating per indicator, no show_if; an indicator's level is its
  rating; `not_enough_info`, `declined` or no rating leave it unknown (`every_answer`: its one line);
- domain rules: 1 clear if any indicator is clear; 2 possible if any is possible; 3 no concern if
  all are no concern; 4 insufficient information otherwise; a domain whose indicators are all
  unknown is insufficient with rule 0 (no rule ran; its reason names nothing);
- overall rules: 1 clear if a key indicator is clear or two or more domains are clear; 2 possible
  if exactly one domain is clear, a key indicator is possible, or two or more domains are
  possible; 3 insufficient if any domain is insufficient or any indicator is unknown (a possible
  domain can hide an unknown line, so the rule looks at indicators too); 4 no concern. A concern
  wins over anything unknown. An insufficient domain always has an unknown indicator, so rule 3
  names both parts whenever a domain is insufficient, and only the second when the unknown lines
  all sit in possible domains;
- no total is declared, and each section holds one domain's lines.

Reasons name what stands at exactly their level (see test_rules_brief_110.py): for rule 3 the
unknown key indicators and the insufficient domains, so an unknown line that is not key, in a
possible domain, is named only by the clause. Clauses are the true parts of the fired rule (for
rules 1 and 2 only those of their `or` parts that held), their members in definition order.
"""

from __future__ import annotations

import pytest

from instruments.compiled import CompiledInstrument
from scoring import score
from tests.scoring.golden import (
    CLEAR,
    INS,
    NO,
    POSS,
    RULES_OF_1_1_0,
    bundled,
)
from tests.scoring.test_rules_practitioner import DOMAINS, KEY, everything

INSTRUMENT_ID = "tellonce-practitioner-indicators"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these cases hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
    return bundled(INSTRUMENT_ID, request.param)


KEY_CLEAR = "any(indicators, key=true, level='clear_concern')"
TWO_CLEAR = "count(domains, level='clear_concern') >= 2"
ONE_CLEAR = "count(domains, level='clear_concern') == 1"
KEY_POSSIBLE = "any(indicators, key=true, level='possible_concern')"
TWO_POSSIBLE = "count(domains, level='possible_concern') >= 2"
ANY_INSUFFICIENT = "any(domains, level='insufficient_information')"
ANY_UNKNOWN = "any(indicators, level='unknown')"


def test_definition_matches_this_table(instrument: CompiledInstrument) -> None:
    assert list(instrument.domain_indicators.items()) == list(DOMAINS.items())  # in order: clauses list them so
    assert instrument.key_indicators_in_order == KEY
    assert [s.id for s in instrument.definition.sections] == list(DOMAINS)
    assert instrument.every_answer


def test_no_total_is_declared(instrument: CompiledInstrument) -> None:
    assert score(instrument, everything(NO)).total is None


def test_the_overall_rules_are_those_worked_from(instrument: CompiledInstrument) -> None:
    """Rule 3 looks at indicators as well as domains: what the insufficient cases in the file rest on."""
    rules = [(r.level, r.when) for r in instrument.definition.scoring.overall]
    assert rules == [
        (CLEAR, f"{KEY_CLEAR} or {TWO_CLEAR}"),
        (POSS, f"{ONE_CLEAR} or {KEY_POSSIBLE} or {TWO_POSSIBLE}"),
        (INS, f"{ANY_INSUFFICIENT} or {ANY_UNKNOWN}"),
        (NO, None),
    ]
