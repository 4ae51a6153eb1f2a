"""Golden cases for the practitioner indicator rating 1.1.0 (tellonce-practitioner-indicators 1.1.0).

The same tables hold for 1.2.0 and 1.3.0, which have the same questions and rules and only add `carry`
(1.2.0) and `screen_again` (1.3.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

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

Reasons name what stands at exactly their level (see test_golden_brief_110.py): for rule 3 the
unknown key indicators and the insufficient domains, so an unknown line that is not key, in a
possible domain, is named only by the clause. Clauses are the true parts of the fired rule (for
rules 1 and 2 only those of their `or` parts that held), their members in definition order.
"""

from __future__ import annotations

from typing import Any

import pytest

from instruments.compiled import CompiledInstrument
from scoring import score
from tests.scoring.golden import (
    CLEAR,
    DECL,
    INS,
    NEI,
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
from tests.scoring.test_golden_practitioner import DOMAINS, INDICATORS, KEY, everything, rate

INSTRUMENT_ID = "tellonce-practitioner-indicators"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these tables hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
    return bundled(INSTRUMENT_ID, request.param)


ANY_CLEAR = "any(indicators, level='clear_concern')"
KEY_CLEAR = "any(indicators, key=true, level='clear_concern')"
TWO_CLEAR = "count(domains, level='clear_concern') >= 2"
ONE_CLEAR = "count(domains, level='clear_concern') == 1"
KEY_POSSIBLE = "any(indicators, key=true, level='possible_concern')"
TWO_POSSIBLE = "count(domains, level='possible_concern') >= 2"
ANY_INSUFFICIENT = "any(domains, level='insufficient_information')"
ANY_UNKNOWN = "any(indicators, level='unknown')"


def nothing_known(case_id: str, answers: dict[str, Any], completeness: tuple[int, int, int, int, int, int]) -> Expect:
    return Expect(
        Case(
            case_id,
            answers,
            overall=INS,
            other_domains=INS,
            other_indicators=UNK,
            reason=Reason(3, KEY, tuple(DOMAINS)),
            domain_reasons={d: (0, ()) for d in DOMAINS},
            completeness=completeness,
        ),
        clauses=(Clause(ANY_INSUFFICIENT, "domains", tuple(DOMAINS)), Clause(ANY_UNKNOWN, "indicators", INDICATORS)),
        domain_clauses={d: () for d in DOMAINS},
        skipped=tuple(DOMAINS),  # the sections have the ids of the domains, in the same order
    )


CASES = [
    Expect(
        Case(
            "all-rated-no-concern",
            everything(NO),
            overall=NO,
            other_domains=NO,
            other_indicators=NO,
            reason=Reason(4),
            domain_reasons={d: (3, ()) for d in DOMAINS},
        ),
        clauses=(),
        domain_clauses={"signs": (Clause("all(indicators, level='no_concern')", "indicators", DOMAINS["signs"]),)},
        skipped=(),
    ),
    nothing_known("every-line-not-enough-info-is-insufficient", everything(NEI), (34, 0, 0, 34, 0, 0)),
    nothing_known("every-line-declined-is-insufficient", everything(DECL), (34, 0, 34, 0, 0, 0)),
    nothing_known("nothing-rated-is-insufficient", {}, (34, 0, 0, 0, 0, 34)),
    Expect(
        Case(
            "one-clear-key-line-with-everything-else-unknown-is-clear",
            everything(NEI) | rate({"coercion.earnings": CLEAR}),
            overall=CLEAR,
            domains={"coercion": CLEAR},
            other_domains=INS,
            indicators={"coercion.earnings": CLEAR},
            other_indicators=UNK,
            reason=Reason(1, ("coercion.earnings",), ("coercion",)),
            domain_reasons={"coercion": (1, ("coercion.earnings",)), "housing": (0, ())},
            evidence={"coercion.earnings": (("rate_coercion_earnings", CLEAR, CLEAR),)},
            completeness=(34, 1, 0, 33, 0, 0),
        ),
        clauses=(Clause(KEY_CLEAR, "indicators", ("coercion.earnings",)),),  # one clear domain: not two
        skipped=tuple(d for d in DOMAINS if d != "coercion"),
    ),
    Expect(
        Case(
            "two-clear-domains-count-two-against-a-bound-of-two",
            everything(NO) | rate({"trauma.sexual_abuse": CLEAR, "signs.fear": CLEAR}),
            overall=CLEAR,
            domains={"trauma": CLEAR, "signs": CLEAR},
            other_domains=NO,
            reason=Reason(1, (), ("trauma", "signs")),
        ),
        clauses=(Clause(TWO_CLEAR, "domains", ("trauma", "signs"), 2.0, ">=", 2.0),),
        domain_clauses={
            "trauma": (Clause("any(indicators, level='clear_concern')", "indicators", ("trauma.sexual_abuse",)),)
        },
    ),
    Expect(
        Case(
            "one-line-not-known-makes-its-domain-and-the-result-insufficient",
            everything(NO) | rate({"signs.scripted": NEI}),
            overall=INS,
            domains={"signs": INS},
            other_domains=NO,
            indicators={"signs.scripted": UNK},
            other_indicators=NO,
            reason=Reason(3, (), ("signs",)),  # signs.scripted is not a key indicator
            domain_reasons={"signs": (4, ("signs.scripted",)), "health": (3, ())},
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", ("signs",)),
            Clause(ANY_UNKNOWN, "indicators", ("signs.scripted",)),
        ),
        domain_clauses={"signs": ()},
        skipped=(),  # the signs section has three informative ratings
    ),
    Expect(
        Case(
            "a-key-line-not-known-is-named",
            everything(NO) | rate({"housing.exchange": DECL}),
            overall=INS,
            domains={"housing": INS},
            other_domains=NO,
            indicators={"housing.exchange": UNK},
            other_indicators=NO,
            reason=Reason(3, ("housing.exchange",), ("housing",)),
            domain_reasons={"housing": (4, ("housing.exchange",))},
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", ("housing",)),
            Clause(ANY_UNKNOWN, "indicators", ("housing.exchange",)),
        ),
    ),
    Expect(
        Case(
            "one-clear-domain-wins-over-an-insufficient-one",
            everything(NO) | rate({"health.injuries": CLEAR, "trauma.sexual_abuse": NEI}),
            overall=POSS,
            domains={"health": CLEAR, "trauma": INS},
            other_domains=NO,
            reason=Reason(2),  # health is clear, above the overall level; no key indicator is possible
            domain_reasons={"health": (1, ("health.injuries",)), "trauma": (4, ("trauma.sexual_abuse",))},
        ),
        clauses=(Clause(ONE_CLEAR, "domains", ("health",), 1.0, "==", 1.0),),
    ),
    Expect(
        Case(
            "a-possible-key-line-and-two-possible-domains-are-two-clauses",
            everything(NO) | rate({"coercion.debt": POSS, "housing.runaway": POSS}),
            overall=POSS,
            domains={"coercion": POSS, "housing": POSS},
            other_domains=NO,
            reason=Reason(2, ("coercion.debt",), ("housing", "coercion")),
            domain_reasons={"coercion": (2, ("coercion.debt",)), "housing": (2, ("housing.runaway",))},
        ),
        clauses=(
            Clause(KEY_POSSIBLE, "indicators", ("coercion.debt",)),
            Clause(TWO_POSSIBLE, "domains", ("housing", "coercion"), 2.0, ">=", 2.0),
        ),
    ),
    Expect(
        Case(
            # A possible domain hides its unknown line (housing is possible through housing.runaway)
            # and no domain is insufficient, but housing.unstable is unknown: rule 3 by its second
            # part. housing.unstable is not key and housing not insufficient, so the reason names
            # nothing; the clause names the line.
            "a-possible-domain-with-a-line-not-known-is-insufficient",
            everything(NO) | rate({"housing.runaway": POSS, "housing.unstable": NEI}),
            overall=INS,
            domains={"housing": POSS},
            other_domains=NO,
            indicators={"housing.runaway": POSS, "housing.unstable": UNK},
            other_indicators=NO,
            reason=Reason(3),
            domain_reasons={"housing": (2, ("housing.runaway",))},
            completeness=(34, 33, 0, 1, 0, 0),
        ),
        clauses=(Clause(ANY_UNKNOWN, "indicators", ("housing.unstable",)),),
        domain_clauses={
            "housing": (Clause("any(indicators, level='possible_concern')", "indicators", ("housing.runaway",)),)
        },
        skipped=(),
    ),
    Expect(
        Case(
            # The same with the key line of the domain: clear before, not known now (see
            # test_properties.py). Under the old rule 3 this was no concern; the key line is named.
            "a-key-line-not-known-under-a-possible-domain-is-insufficient-and-named",
            everything(NO) | rate({"housing.runaway": POSS, "housing.exchange": NEI}),
            overall=INS,
            domains={"housing": POSS},
            other_domains=NO,
            indicators={"housing.runaway": POSS, "housing.exchange": UNK},
            other_indicators=NO,
            reason=Reason(3, ("housing.exchange",)),  # no domain is insufficient
            domain_reasons={"housing": (2, ("housing.runaway",))},
        ),
        clauses=(Clause(ANY_UNKNOWN, "indicators", ("housing.exchange",)),),
    ),
    Expect(
        Case(
            # Unknown lines in a possible domain (housing) and in two insufficient ones (trauma,
            # signs): the first part names the insufficient domains, the second every unknown line,
            # both in the order of the definition (trauma before signs, housing first).
            "unknown-lines-of-possible-and-insufficient-domains-are-listed-in-definition-order",
            everything(NO)
            | rate(
                {
                    "signs.scripted": DECL,
                    "housing.runaway": POSS,
                    "housing.unstable": DECL,
                    "trauma.witnessed_violence": NEI,
                }
            ),
            overall=INS,
            domains={"housing": POSS, "trauma": INS, "signs": INS},
            other_domains=NO,
            indicators={
                "housing.unstable": UNK,
                "housing.runaway": POSS,
                "trauma.witnessed_violence": UNK,
                "signs.scripted": UNK,
            },
            other_indicators=NO,
            reason=Reason(3, (), ("trauma", "signs")),  # one possible domain is not two
            domain_reasons={
                "housing": (2, ("housing.runaway",)),
                "trauma": (4, ("trauma.witnessed_violence",)),
                "signs": (4, ("signs.scripted",)),
            },
            completeness=(34, 31, 2, 1, 0, 0),
        ),
        clauses=(
            Clause(ANY_INSUFFICIENT, "domains", ("trauma", "signs")),
            Clause(ANY_UNKNOWN, "indicators", ("housing.unstable", "trauma.witnessed_violence", "signs.scripted")),
        ),
        domain_clauses={"trauma": (), "signs": ()},
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
    assert instrument.key_indicators_in_order == KEY
    assert [s.id for s in instrument.definition.sections] == list(DOMAINS)
    assert instrument.every_answer
    assert len({e.case.id for e in CASES}) == len(CASES)


def test_no_total_is_declared(instrument: CompiledInstrument) -> None:
    assert score(instrument, everything(NO)).total is None


def test_the_overall_rules_are_those_worked_from(instrument: CompiledInstrument) -> None:
    """Rule 3 looks at indicators as well as domains: what the insufficient cases above rest on."""
    rules = [(r.level, r.when) for r in instrument.definition.scoring.overall]
    assert rules == [
        (CLEAR, f"{KEY_CLEAR} or {TWO_CLEAR}"),
        (POSS, f"{ONE_CLEAR} or {KEY_POSSIBLE} or {TWO_POSSIBLE}"),
        (INS, f"{ANY_INSUFFICIENT} or {ANY_UNKNOWN}"),
        (NO, None),
    ]
