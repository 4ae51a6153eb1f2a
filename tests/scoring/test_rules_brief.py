"""Golden cases for the brief check-in (tellonce-brief-screen 1.0.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

- six yes/no questions, no show_if; `yes` implies clear concern for its one indicator, `no`
  implies no concern; declined, not enough information (allowed: the practitioner and interview
  modes are allowed) and no answer leave it unknown;
- domains: housing (housing.unstable), coercion (debt and earnings, both key, and movement),
  exploitation (sex_exchange and labor_forced, both key); domain rules as in the full tools;
- overall: rule 1 possible concern when at least one answer is `yes`, else rule 2 no concern.
  A brief screen never gives clear concern, even for a `yes` on a key indicator (1.1.0 does);
- a domain whose indicators are all unknown is `insufficient_information`, with reason rule 0
  (no domain rule ran) naming no indicator; 1.0.0's overall rules are unchanged, so an empty or
  all-declined check-in still falls back to overall no concern (1.1.0 concludes insufficient).

A reason names what stands at exactly the level it gives: a domain reason the domain's indicators
at the domain's level (none for no concern); the overall reason the key indicators and the domains
at exactly the overall level. The overall rule 1 gives possible concern, while a `yes` gives its
indicator and its domain clear concern, so the overall reason of this instrument names none.
"""

from __future__ import annotations

from typing import Any

import pytest

import scoring
from tests.scoring.golden import (
    CLEAR,
    DECL,
    INS,
    NEI,
    NO,
    NOT_ASKED,
    POSS,
    UNK,
    Case,
    Reason,
    case_params,
    expected_levels,
)
from tests.support.bundled import bundled_registry

INSTRUMENT = bundled_registry().get("tellonce-brief-screen", "1.0.0")

DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable",),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.movement"),
    "exploitation": ("exploitation.sex_exchange", "exploitation.labor_forced"),
}
INDICATORS = tuple(i for members in DOMAINS.values() for i in members)
ITEMS = ("nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "sexual_exchange", "kept_from_leaving")
ALL_NO = dict.fromkeys(ITEMS, "no")
ALL_YES = dict.fromkeys(ITEMS, "yes")


CASES = [
    Case(
        "all-no-gives-no-concern",
        ALL_NO,
        overall=NO,
        other_domains=NO,
        other_indicators=NO,
        reason=Reason(2),
        domain_reasons={"housing": (3, ()), "coercion": (3, ()), "exploitation": (3, ())},
        evidence={"coercion.debt": (("debt_work", "no", NO),)},
        completeness=(6, 6, 0, 0, 0, 0),
    ),
    Case(
        "one-yes-gives-possible",
        ALL_NO | {"nowhere_to_sleep": "yes"},
        overall=POSS,
        domains={"housing": CLEAR},
        other_domains=NO,
        indicators={"housing.unstable": CLEAR},
        other_indicators=NO,
        reason=Reason(1),
        domain_reasons={"housing": (1, ("housing.unstable",)), "coercion": (3, ())},
        evidence={"housing.unstable": (("nowhere_to_sleep", "yes", CLEAR),)},
    ),
    Case(
        "yes-on-a-key-indicator-is-still-only-possible",
        ALL_NO | {"debt_work": "yes"},
        overall=POSS,
        domains={"coercion": CLEAR},
        other_domains=NO,
        indicators={"coercion.debt": CLEAR},
        other_indicators=NO,
        reason=Reason(1),  # coercion.debt and coercion are clear, above possible
        domain_reasons={"coercion": (1, ("coercion.debt",))},
        evidence={"coercion.debt": (("debt_work", "yes", CLEAR),)},
    ),
    Case(
        "every-yes-is-still-only-possible",
        ALL_YES,
        overall=POSS,
        other_domains=CLEAR,
        other_indicators=CLEAR,
        reason=Reason(1),  # every key indicator and every domain is clear: none at exactly possible
        domain_reasons={
            "housing": (1, ("housing.unstable",)),
            "coercion": (1, ("coercion.debt", "coercion.earnings", "coercion.movement")),
            "exploitation": (1, ("exploitation.sex_exchange", "exploitation.labor_forced")),
        },
        completeness=(6, 6, 0, 0, 0, 0),
    ),
    Case(
        "two-yes-in-different-domains-still-possible",
        ALL_NO | {"pay_kept": "yes", "forced_work": "yes"},
        overall=POSS,
        domains={"housing": NO, "coercion": CLEAR, "exploitation": CLEAR},
        indicators={"coercion.earnings": CLEAR, "exploitation.labor_forced": CLEAR, "coercion.debt": NO},
        reason=Reason(1),
        domain_reasons={"coercion": (1, ("coercion.earnings",)), "exploitation": (1, ("exploitation.labor_forced",))},
    ),
    Case(
        "yes-with-everything-else-unanswered",
        {"sexual_exchange": "yes"},
        overall=POSS,
        domains={"exploitation": CLEAR},
        other_domains=INS,
        indicators={"exploitation.sex_exchange": CLEAR},
        other_indicators=UNK,
        reason=Reason(1),
        domain_reasons={"exploitation": (1, ("exploitation.sex_exchange",)), "housing": (0, ())},
        completeness=(6, 1, 0, 0, 0, 5),
    ),
    Case(
        "yes-among-declined-answers",
        dict.fromkeys(ITEMS, DECL) | {"kept_from_leaving": "yes"},
        overall=POSS,
        domains={"coercion": CLEAR},
        other_domains=INS,
        indicators={"coercion.movement": CLEAR},
        other_indicators=UNK,
        reason=Reason(1),
        domain_reasons={"coercion": (1, ("coercion.movement",))},
        evidence={"coercion.movement": (("kept_from_leaving", "yes", CLEAR),), "coercion.debt": ()},
        completeness=(6, 1, 5, 0, 0, 0),
    ),
    Case(
        "declined-everything",
        dict.fromkeys(ITEMS, DECL),
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(2),
        domain_reasons={"housing": (0, ()), "coercion": (0, ()), "exploitation": (0, ())},
        completeness=(6, 0, 6, 0, 0, 0),
    ),
    Case(
        "all-not-enough-info-is-insufficient-not-no",
        dict.fromkeys(ITEMS, NEI),
        overall=NO,  # 1.0.0's fallback: no answer was yes (its domains say insufficient information)
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(2),
        evidence={"housing.unstable": ()},
        completeness=(6, 0, 0, 6, 0, 0),
    ),
    Case(
        "nothing-answered",
        {},
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(2),
        completeness=(6, 0, 0, 0, 0, 6),
    ),
    Case(
        "declined-and-not-enough-info-do-not-count-as-no",
        {
            "nowhere_to_sleep": "no",
            "debt_work": "no",
            "pay_kept": DECL,
            "kept_from_leaving": NEI,
            "forced_work": DECL,
            "sexual_exchange": NEI,
        },
        overall=NO,
        domains={"housing": NO, "coercion": NO, "exploitation": INS},
        indicators={
            "housing.unstable": NO,
            "coercion.debt": NO,
            "coercion.earnings": UNK,
            "coercion.movement": UNK,
            "exploitation.sex_exchange": UNK,
            "exploitation.labor_forced": UNK,
        },
        reason=Reason(2),
        domain_reasons={"housing": (3, ()), "coercion": (3, ()), "exploitation": (0, ())},
        evidence={"coercion.debt": (("debt_work", "no", NO),), "coercion.earnings": ()},
        completeness=(6, 2, 2, 2, 0, 0),
    ),
    Case(
        "explicit-none-counts-as-unanswered",
        ALL_NO | {"debt_work": None},
        overall=NO,
        domains={"coercion": NO},
        other_domains=NO,
        indicators={"coercion.debt": UNK},
        other_indicators=NO,
        reason=Reason(2),
        completeness=(6, 5, 0, 0, 0, 1),
    ),
]


def params(*, having: str | None = None) -> list[Any]:
    return case_params(CASES, having=having)


def test_definition_matches_this_table() -> None:
    assert dict(INSTRUMENT.domain_indicators) == DOMAINS
    assert INSTRUMENT.visibility_order == ITEMS
    assert INSTRUMENT.key_indicators_in_order == (
        "coercion.debt",
        "coercion.earnings",
        "exploitation.sex_exchange",
        "exploitation.labor_forced",
    )
    assert INSTRUMENT.allows_not_enough_info
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", params())
def test_levels(case: Case) -> None:
    result = scoring.score(INSTRUMENT, case.answers)
    assert result.overall == case.overall
    domains = expected_levels(case.domains, case.other_domains, tuple(DOMAINS))
    assert {d: result.domain(d).level for d in domains} == domains
    indicators = expected_levels(case.indicators, case.other_indicators, INDICATORS)
    assert {i: result.indicator(i).level for i in indicators} == indicators


@pytest.mark.parametrize("case", params(having="reason"))
def test_overall_reason(case: Case) -> None:
    assert case.reason is not None
    reason = scoring.score(INSTRUMENT, case.answers).reason
    assert (reason.rule, reason.indicators, reason.domains) == (
        case.reason.rule,
        case.reason.indicators,
        case.reason.domains,
    )
    assert reason.explain == dict(INSTRUMENT.definition.scoring.overall[case.reason.rule - 1].explain)


@pytest.mark.parametrize("case", params(having="domain_reasons"))
def test_domain_reasons(case: Case) -> None:
    result = scoring.score(INSTRUMENT, case.answers)
    got = {d: (result.domain(d).reason.rule, result.domain(d).reason.indicators) for d in case.domain_reasons}
    assert got == case.domain_reasons


@pytest.mark.parametrize("case", params(having="evidence"))
def test_evidence(case: Case) -> None:
    result = scoring.score(INSTRUMENT, case.answers)
    got = {i: tuple((e.item_id, e.answer, e.level) for e in result.indicator(i).evidence) for i in case.evidence}
    assert got == case.evidence


@pytest.mark.parametrize("case", params(having="completeness"))
def test_completeness(case: Case) -> None:
    c = scoring.score(INSTRUMENT, case.answers).completeness
    assert (c.total, c.answered, c.declined, c.not_enough_info, c.not_asked, c.unanswered) == case.completeness


def test_invalid_answers_list_every_problem_at_once() -> None:
    answers = {
        "nowhere_to_sleep": "maybe",  # not yes or no
        "debt_work": True,  # a boolean, not the code 'yes'
        "pay_kept": ["yes"],  # a list
        "forced_work": NOT_ASKED,  # shown (no show_if), so it was asked
        "sexual_exchange": NEI,  # fine: the practitioner and interview modes are allowed
        "kept_from_leaving": "no",
        "anything_else": "yes",  # no such item
    }
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(INSTRUMENT, answers)
    problems = {p.item_id: p.message for p in caught.value.problems}
    assert set(problems) == {"nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "anything_else"}
    assert len(caught.value.problems) == 5
    assert "not one of its answers (no, yes)" in problems["nowhere_to_sleep"]
    assert "not one of its answers" in problems["debt_work"]
    assert "not one of its answers" in problems["pay_kept"]
    assert "cannot be 'not_asked'" in problems["forced_work"]
    assert "no such item" in problems["anything_else"]
    assert isinstance(caught.value, ValueError)
