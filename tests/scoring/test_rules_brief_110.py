"""Golden cases for the brief check-in 1.1.0 (tellonce-brief-screen 1.1.0).

The same tables hold for 1.2.0 and 1.3.0, which have the same questions and rules and only add `carry`
(1.2.0) and `screen_again` (1.3.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

- the same six yes/no questions as 1.0.0, no show_if; `yes` implies clear concern for its one
  indicator; under `indicator_needs: every_answer` an indicator is no concern only when its
  question was answered (`no`), and unknown when it was declined, not known or not answered;
- domain rules: 1 clear if any indicator is clear; 2 no concern if all are no concern; 3
  insufficient information otherwise; a domain whose indicators are all unknown is insufficient
  with rule 0 (no rule ran; its reason names nothing);
- `scoring.total` counts the `yes` answers; overall rules: 1 clear if a key indicator (debt,
  earnings, sexual exchange, forced labor) is clear; 2 possible if total() >= 1 (the threshold is
  1); 3 insufficient if any domain is; 4 no concern. A `yes` still wins over anything unknown.

Reasons name what stands at exactly their level: a domain reason the indicators at the domain's
level (the unknown ones for insufficient, none for no concern); the overall reason the key
indicators and domains at the overall level (for insufficient: the unknown key indicators and the
insufficient domains; none for no concern). Clauses are the true parts of the fired rule.
"""

from __future__ import annotations

import pytest

from instruments.compiled import CompiledInstrument
from scoring import score
from tests.scoring.golden import (
    CLEAR,
    DECL,
    INS,
    NEI,
    NO,
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

INSTRUMENT_ID = "tellonce-brief-screen"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these tables hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
    return bundled(INSTRUMENT_ID, request.param)


DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable",),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.movement"),
    "exploitation": ("exploitation.sex_exchange", "exploitation.labor_forced"),
}
KEYS = ("coercion.debt", "coercion.earnings", "exploitation.sex_exchange", "exploitation.labor_forced")
ITEMS = ("nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "sexual_exchange", "kept_from_leaving")
ALL_NO = dict.fromkeys(ITEMS, "no")

KEY_CLEAR = "any(indicators, key=true, level='clear_concern')"
ANY_CLEAR = "any(indicators, level='clear_concern')"
ANY_YES = "total() >= 1"
ANY_INSUFFICIENT = "any(domains, level='insufficient_information')"
ALL_NO_CONCERN = "all(indicators, level='no_concern')"
NOTHING_KNOWN = Reason(3, KEYS, tuple(DOMAINS))  # every key indicator unknown, every domain insufficient


def nothing_known(case_id: str, answers: dict[str, str], completeness: tuple[int, int, int, int, int, int]) -> Expect:
    return Expect(
        Case(
            case_id,
            answers,
            overall=INS,
            other_domains=INS,
            other_indicators=UNK,
            reason=NOTHING_KNOWN,
            domain_reasons={d: (0, ()) for d in DOMAINS},
            completeness=completeness,
        ),
        clauses=(Clause(ANY_INSUFFICIENT, "domains", tuple(DOMAINS)),),
        domain_clauses={d: () for d in DOMAINS},
        skipped=("check_in",),
        total=0.0,
    )


CASES = [
    Expect(
        Case(
            "all-no-is-no-concern",
            ALL_NO,
            overall=NO,
            other_domains=NO,
            other_indicators=NO,
            reason=Reason(4),
            domain_reasons={d: (2, ()) for d in DOMAINS},
            evidence={"coercion.debt": (("debt_work", "no", NO),)},
            completeness=(6, 6, 0, 0, 0, 0),
        ),
        clauses=(),
        domain_clauses={"coercion": (Clause(ALL_NO_CONCERN, "indicators", DOMAINS["coercion"]),)},
        skipped=(),
        total=0.0,
    ),
    nothing_known("all-not-enough-info-is-insufficient", dict.fromkeys(ITEMS, NEI), (6, 0, 0, 6, 0, 0)),
    nothing_known("all-declined-is-insufficient", dict.fromkeys(ITEMS, DECL), (6, 0, 6, 0, 0, 0)),
    nothing_known("nothing-answered-is-insufficient", {}, (6, 0, 0, 0, 0, 6)),
    Expect(
        Case(
            "one-key-yes-with-everything-else-unknown-is-clear",
            {"debt_work": "yes"},
            overall=CLEAR,
            domains={"coercion": CLEAR},
            other_domains=INS,
            indicators={"coercion.debt": CLEAR},
            other_indicators=UNK,
            reason=Reason(1, ("coercion.debt",), ("coercion",)),
            domain_reasons={"coercion": (1, ("coercion.debt",)), "housing": (0, ()), "exploitation": (0, ())},
            evidence={"coercion.debt": (("debt_work", "yes", CLEAR),)},
            completeness=(6, 1, 0, 0, 0, 5),
        ),
        clauses=(Clause(KEY_CLEAR, "indicators", ("coercion.debt",)),),
        domain_clauses={"coercion": (Clause(ANY_CLEAR, "indicators", ("coercion.debt",)),)},
        skipped=(),
        total=1.0,
    ),
    Expect(
        Case(
            "a-yes-that-is-not-key-is-possible",
            ALL_NO | {"nowhere_to_sleep": "yes"},
            overall="possible_concern",
            domains={"housing": CLEAR},
            other_domains=NO,
            indicators={"housing.unstable": CLEAR},
            other_indicators=NO,
            reason=Reason(2),  # housing is clear, above the overall level; no key indicator is possible
            domain_reasons={"housing": (1, ("housing.unstable",)), "coercion": (2, ())},
        ),
        clauses=(Clause(ANY_YES, "total", ("nowhere_to_sleep",), 1.0, ">=", 1.0),),
        skipped=(),
        total=1.0,
    ),
    Expect(
        Case(
            "a-yes-that-is-not-key-wins-over-unknown",
            {"kept_from_leaving": "yes"},
            overall="possible_concern",
            domains={"coercion": CLEAR},
            other_domains=INS,
            indicators={"coercion.movement": CLEAR},
            other_indicators=UNK,
            reason=Reason(2),
            domain_reasons={"coercion": (1, ("coercion.movement",)), "exploitation": (0, ())},
        ),
        clauses=(Clause(ANY_YES, "total", ("kept_from_leaving",), 1.0, ">=", 1.0),),
        total=1.0,
    ),
    Expect(
        Case(
            "one-declined-key-question-among-noes-is-insufficient",
            ALL_NO | {"pay_kept": DECL},
            overall=INS,
            domains={"coercion": INS},
            other_domains=NO,
            indicators={"coercion.earnings": UNK},
            other_indicators=NO,
            reason=Reason(3, ("coercion.earnings",), ("coercion",)),
            domain_reasons={"coercion": (3, ("coercion.earnings",)), "housing": (2, ())},
            evidence={"coercion.earnings": (), "coercion.debt": (("debt_work", "no", NO),)},
            completeness=(6, 5, 1, 0, 0, 0),
        ),
        clauses=(Clause(ANY_INSUFFICIENT, "domains", ("coercion",)),),
        domain_clauses={"coercion": ()},  # the fallback rule: no condition, no clause
        skipped=(),
        total=0.0,
    ),
    Expect(
        Case(
            "every-yes-names-every-key-indicator-and-domain",
            dict.fromkeys(ITEMS, "yes"),
            overall=CLEAR,
            other_domains=CLEAR,
            other_indicators=CLEAR,
            reason=Reason(1, KEYS, tuple(DOMAINS)),
            domain_reasons={"coercion": (1, DOMAINS["coercion"])},
        ),
        clauses=(Clause(KEY_CLEAR, "indicators", KEYS),),
        total=6.0,
    ),
]


@pytest.mark.parametrize("expect", expect_params(CASES))
def test_case(instrument: CompiledInstrument, expect: Expect) -> None:
    check(instrument, expect, DOMAINS)


@pytest.mark.parametrize("expect", expect_params(CASES))
def test_reference_agrees(instrument: CompiledInstrument, expect: Expect) -> None:
    assert differences(instrument, expect.case.answers) == {}


def test_definition_matches_this_table(instrument: CompiledInstrument) -> None:
    assert dict(instrument.domain_indicators) == DOMAINS
    assert instrument.visibility_order == ITEMS
    assert instrument.key_indicators_in_order == KEYS
    assert instrument.every_answer
    assert len({e.case.id for e in CASES}) == len(CASES)


def test_the_total_has_one_threshold_from_the_possible_rule(instrument: CompiledInstrument) -> None:
    total = score(instrument, ALL_NO | {"pay_kept": "yes", "forced_work": "yes"}).total
    assert total is not None
    assert total.value == 2.0
    assert [(t.level, t.op, t.bound) for t in total.thresholds] == [("possible_concern", ">=", 1.0)]


def test_a_key_yes_is_clear_in_1_1_0_and_only_possible_in_1_0_0() -> None:
    v100 = bundled(INSTRUMENT_ID, "1.0.0")
    assert score(v100, {"debt_work": "yes"}).overall == "possible_concern"
    assert score(bundled(INSTRUMENT_ID, "1.1.0"), {"debt_work": "yes"}).overall == CLEAR
    assert score(v100, {}).total is None  # 1.0.0 declares no total
