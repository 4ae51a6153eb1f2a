"""Golden cases for the practitioner indicator rating (tellonce-practitioner-indicators 1.0.0).

Every expected value below was worked out by hand from the instrument's rules, not copied from
the engine's output:

- an indicator's level is its rating; `not_enough_info`, `declined` or no answer leave it `unknown`;
- domain rules: 1 clear if any indicator is clear, 2 possible if any is possible, 3 no concern;
  a domain whose indicators are all unknown is `insufficient_information` (rule 0: no domain rule
  ran, and its reason names no indicator);
- overall rules: 1 clear if a key indicator is clear or two or more domains are clear;
  2 possible if exactly one domain is clear, a key indicator is possible, or two or more domains
  are possible; 3 no concern. These 1.0.0 rules are unchanged: with nothing known the result
  still falls back to no concern (1.1.0 concludes insufficient information).

A reason names what stands at exactly the level it gives: a domain reason names the domain's
indicators at the domain's level (none for no concern); the overall reason names the key
indicators and the domains at exactly the overall level (none for no concern). So the clear
domain behind a rule 2 "possible concern" is not named: it is above the overall level.
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

INSTRUMENT = bundled_registry().get("tellonce-practitioner-indicators", "1.0.0")

# The definition as read from the YAML file: domains, their indicators in order, and the key ones.
DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable", "housing.runaway", "housing.caregiver_unsafe", "housing.exchange"),
    "trauma": ("trauma.sexual_abuse", "trauma.physical_abuse", "trauma.witnessed_violence"),
    "health": ("health.injuries", "health.sexual_health", "health.substances", "health.exhaustion", "health.marks"),
    "environment": (
        "environment.risky_places",
        "environment.peers_involved",
        "environment.online_contacts",
        "environment.travel",
    ),
    "relationships": (
        "relationships.older_partner",
        "relationships.unexplained_items",
        "relationships.isolation",
        "relationships.secretive",
    ),
    "signs": ("signs.accompanied", "signs.scripted", "signs.trade_items", "signs.fear"),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.documents", "coercion.threats", "coercion.movement"),
    "exploitation": (
        "exploitation.sex_exchange",
        "exploitation.third_party",
        "exploitation.sexual_images",
        "exploitation.labor_forced",
        "exploitation.labor_unpaid",
    ),
}
KEY = (
    "housing.exchange",
    "coercion.debt",
    "coercion.earnings",
    "exploitation.sex_exchange",
    "exploitation.third_party",
    "exploitation.labor_forced",
)
INDICATORS = tuple(i for members in DOMAINS.values() for i in members)


def item(indicator: str) -> str:
    """The rating item of an indicator: `rate_` and the indicator id with dots as underscores."""
    return "rate_" + indicator.replace(".", "_")


def everything(answer: str) -> dict[str, Any]:
    """Every one of the 34 items given the same answer."""
    return {item(i): answer for i in INDICATORS}


def rate(ratings: dict[str, str]) -> dict[str, Any]:
    """Answers from indicator ids to ratings."""
    return {item(i): r for i, r in ratings.items()}


CASES = [
    Case(
        "all-rated-no-concern",
        everything(NO),
        overall=NO,
        other_domains=NO,
        other_indicators=NO,
        reason=Reason(3),
        domain_reasons={"housing": (3, ()), "exploitation": (3, ())},
        evidence={"housing.unstable": (("rate_housing_unstable", NO, NO),)},
        completeness=(34, 34, 0, 0, 0, 0),
    ),
    Case(
        "key-indicator-clear-alone-gives-clear-concern",
        everything(NO) | rate({"housing.exchange": CLEAR}),
        overall=CLEAR,
        domains={"housing": CLEAR},
        other_domains=NO,
        indicators={"housing.exchange": CLEAR},
        other_indicators=NO,
        reason=Reason(1, ("housing.exchange",), ("housing",)),
        domain_reasons={"housing": (1, ("housing.exchange",)), "trauma": (3, ())},
        evidence={"housing.exchange": (("rate_housing_exchange", CLEAR, CLEAR),)},
        completeness=(34, 34, 0, 0, 0, 0),
    ),
    Case(
        "key-indicator-clear-with-everything-else-unanswered",
        rate({"coercion.earnings": CLEAR}),
        overall=CLEAR,
        domains={"coercion": CLEAR},
        other_domains=INS,
        indicators={"coercion.earnings": CLEAR},
        other_indicators=UNK,
        reason=Reason(1, ("coercion.earnings",), ("coercion",)),
        domain_reasons={"coercion": (1, ("coercion.earnings",)), "housing": (0, ())},
        evidence={"coercion.earnings": (("rate_coercion_earnings", CLEAR, CLEAR),), "coercion.debt": ()},
        completeness=(34, 1, 0, 0, 0, 33),
    ),
    Case(
        "two-clear-domains-without-a-key-indicator-give-clear",
        everything(NO) | rate({"trauma.sexual_abuse": CLEAR, "signs.fear": CLEAR}),
        overall=CLEAR,
        domains={"trauma": CLEAR, "signs": CLEAR},
        other_domains=NO,
        reason=Reason(1, (), ("trauma", "signs")),
        domain_reasons={"trauma": (1, ("trauma.sexual_abuse",)), "signs": (1, ("signs.fear",))},
    ),
    Case(
        "one-clear-domain-gives-possible",
        everything(NO) | rate({"health.injuries": CLEAR}),
        overall=POSS,
        domains={"health": CLEAR},
        other_domains=NO,
        indicators={"health.injuries": CLEAR},
        other_indicators=NO,
        reason=Reason(2),  # health is clear, above the overall level
        domain_reasons={"health": (1, ("health.injuries",))},
    ),
    Case(
        "key-indicator-possible-gives-possible",
        everything(NO) | rate({"exploitation.third_party": POSS}),
        overall=POSS,
        domains={"exploitation": POSS},
        other_domains=NO,
        reason=Reason(2, ("exploitation.third_party",), ("exploitation",)),
        domain_reasons={"exploitation": (2, ("exploitation.third_party",))},
        evidence={"exploitation.third_party": (("rate_exploitation_third_party", POSS, POSS),)},
    ),
    Case(
        "one-possible-domain-without-key-stays-no-concern",
        everything(NO) | rate({"environment.travel": POSS}),
        overall=NO,
        domains={"environment": POSS},
        other_domains=NO,
        indicators={"environment.travel": POSS},
        other_indicators=NO,
        reason=Reason(3),
        domain_reasons={"environment": (2, ("environment.travel",))},
    ),
    Case(
        "two-possible-domains-give-possible",
        everything(NO) | rate({"housing.runaway": POSS, "relationships.secretive": POSS}),
        overall=POSS,
        domains={"housing": POSS, "relationships": POSS},
        other_domains=NO,
        reason=Reason(2, (), ("housing", "relationships")),
        domain_reasons={"housing": (2, ("housing.runaway",)), "relationships": (2, ("relationships.secretive",))},
    ),
    Case(
        "clear-outranks-possible-within-a-domain",
        everything(NO)
        | rate(
            {
                "coercion.documents": POSS,
                "coercion.threats": CLEAR,
                "coercion.movement": POSS,
                "exploitation.sexual_images": CLEAR,
                "exploitation.labor_unpaid": POSS,
            }
        ),
        overall=CLEAR,
        domains={"coercion": CLEAR, "exploitation": CLEAR},
        other_domains=NO,
        indicators={
            "coercion.documents": POSS,
            "coercion.threats": CLEAR,
            "coercion.movement": POSS,
            "exploitation.sexual_images": CLEAR,
            "exploitation.labor_unpaid": POSS,
        },
        other_indicators=NO,
        reason=Reason(1, (), ("coercion", "exploitation")),
        domain_reasons={"coercion": (1, ("coercion.threats",)), "exploitation": (1, ("exploitation.sexual_images",))},
    ),
    Case(
        "several-key-indicators-clear-are-all-named",
        everything(NO)
        | rate(
            {
                "exploitation.sex_exchange": CLEAR,
                "exploitation.third_party": CLEAR,
                "exploitation.labor_forced": POSS,
                "coercion.debt": POSS,
                "coercion.earnings": CLEAR,
            }
        ),
        overall=CLEAR,
        domains={"coercion": CLEAR, "exploitation": CLEAR},
        other_domains=NO,
        reason=Reason(
            1,
            ("coercion.earnings", "exploitation.sex_exchange", "exploitation.third_party"),
            ("coercion", "exploitation"),
        ),
        domain_reasons={
            "coercion": (1, ("coercion.earnings",)),
            "exploitation": (1, ("exploitation.sex_exchange", "exploitation.third_party")),
        },
    ),
    Case(
        "key-possible-plus-one-clear-domain-gives-possible",
        everything(NO) | rate({"coercion.debt": POSS, "trauma.physical_abuse": CLEAR}),
        overall=POSS,
        domains={"trauma": CLEAR, "coercion": POSS},
        other_domains=NO,
        reason=Reason(2, ("coercion.debt",), ("coercion",)),  # trauma is clear, above possible
    ),
    Case(
        "one-clear-and-two-possible-domains-realistic-mix",
        everything(NO)
        | rate(
            {
                "housing.unstable": CLEAR,
                "housing.runaway": CLEAR,
                "housing.caregiver_unsafe": POSS,
                "health.substances": POSS,
                "relationships.older_partner": POSS,
                "relationships.unexplained_items": POSS,
                "trauma.sexual_abuse": NEI,
                "environment.online_contacts": DECL,
            }
        ),
        overall=POSS,
        domains={"housing": CLEAR, "health": POSS, "relationships": POSS},
        other_domains=NO,
        indicators={"trauma.sexual_abuse": UNK, "environment.online_contacts": UNK, "housing.caregiver_unsafe": POSS},
        reason=Reason(2, (), ("health", "relationships")),
        domain_reasons={
            "housing": (1, ("housing.unstable", "housing.runaway")),
            "health": (2, ("health.substances",)),
            "relationships": (2, ("relationships.older_partner", "relationships.unexplained_items")),
            "trauma": (3, ()),
            "environment": (3, ()),
        },
        evidence={"trauma.sexual_abuse": (), "environment.online_contacts": ()},
        completeness=(34, 32, 1, 1, 0, 0),
    ),
    Case(
        "all-not-enough-info-leaves-every-domain-insufficient-not-no",
        everything(NEI),
        overall=NO,  # 1.0.0's fallback: nothing raised a concern (its domains say insufficient information)
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(3),
        domain_reasons={d: (0, ()) for d in DOMAINS},
        evidence={"housing.unstable": (), "exploitation.sex_exchange": ()},
        completeness=(34, 0, 0, 34, 0, 0),
    ),
    Case(
        "declined-everything",
        everything(DECL),
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(3),
        domain_reasons={"coercion": (0, ())},
        completeness=(34, 0, 34, 0, 0, 0),
    ),
    Case(
        "nothing-answered",
        {},
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(3),
        completeness=(34, 0, 0, 0, 0, 34),
    ),
    Case(
        "not-enough-info-is-not-no-within-a-domain",
        everything(NEI)
        | rate({"housing.caregiver_unsafe": NO, "housing.exchange": DECL, "trauma.witnessed_violence": POSS}),
        overall=NO,
        domains={"housing": NO, "trauma": POSS},
        other_domains=INS,
        indicators={
            "housing.unstable": UNK,
            "housing.runaway": UNK,
            "housing.caregiver_unsafe": NO,
            "housing.exchange": UNK,
            "trauma.witnessed_violence": POSS,
        },
        other_indicators=UNK,
        reason=Reason(3),
        domain_reasons={"housing": (3, ()), "trauma": (2, ("trauma.witnessed_violence",)), "signs": (0, ())},
        evidence={"housing.caregiver_unsafe": (("rate_housing_caregiver_unsafe", NO, NO),), "housing.exchange": ()},
        completeness=(34, 2, 1, 31, 0, 0),
    ),
    Case(
        "key-indicators-not-enough-info-do-not-raise",
        everything(NO) | rate({"housing.exchange": NEI, "coercion.debt": NEI, "exploitation.third_party": DECL}),
        overall=NO,
        other_domains=NO,
        indicators={"housing.exchange": UNK, "coercion.debt": UNK, "exploitation.third_party": UNK},
        other_indicators=NO,
        reason=Reason(3),
        completeness=(34, 31, 1, 2, 0, 0),
    ),
]


# Cases where the engine disagrees with what the rules say. Each is a bug to fix in the engine,
# not in the expectation; `strict` makes the test fail once the engine is fixed.
def params(*, having: str | None = None) -> list[Any]:
    return case_params(CASES, having=having)


def test_definition_matches_this_table() -> None:
    assert dict(INSTRUMENT.domain_indicators) == DOMAINS
    assert INSTRUMENT.key_indicators_in_order == KEY
    assert set(INSTRUMENT.visibility_order) == {item(i) for i in INDICATORS}
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
    for d, (rule, _) in case.domain_reasons.items():
        explain = result.domain(d).reason.explain
        assert explain == (dict(INSTRUMENT.definition.scoring.domain[rule - 1].explain) if rule else {})


@pytest.mark.parametrize("case", params(having="evidence"))
def test_evidence(case: Case) -> None:
    result = scoring.score(INSTRUMENT, case.answers)
    got = {i: tuple((e.item_id, e.answer, e.level) for e in result.indicator(i).evidence) for i in case.evidence}
    assert got == case.evidence


@pytest.mark.parametrize("case", params(having="completeness"))
def test_completeness(case: Case) -> None:
    c = scoring.score(INSTRUMENT, case.answers).completeness
    assert (c.total, c.answered, c.declined, c.not_enough_info, c.not_asked, c.unanswered) == case.completeness


def test_result_identifies_the_instrument_and_engine() -> None:
    result = scoring.score(INSTRUMENT, everything(NO))
    assert (result.instrument_id, result.instrument_version) == ("tellonce-practitioner-indicators", "1.0.0")
    assert result.content_hash == INSTRUMENT.content_hash
    assert len(result.content_hash) == 64
    assert result.engine_version == scoring.ENGINE_VERSION
    assert [i.id for i in result.indicators] == list(INDICATORS)
    assert {i.id for i in result.indicators if i.key} == set(KEY)
    assert all(result.indicator(i).domain == d for d, members in DOMAINS.items() for i in members)


def test_invalid_answers_list_every_problem_at_once() -> None:
    answers = everything(NO) | {
        "rate_housing_unstable": "yes",  # not one of the rating codes
        "rate_coercion_debt": [CLEAR],  # a list where one code is wanted
        "rate_signs_fear": 2,  # a number
        "rate_housing_runaway": NOT_ASKED,  # shown (no show_if), so it was asked
        "rate_housing_unknown": NO,  # no such item
        "rate_trauma_sexual_abuse": CLEAR,  # valid: not reported
    }
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(INSTRUMENT, answers)
    problems = {p.item_id: p.message for p in caught.value.problems}
    assert set(problems) == {
        "rate_housing_unstable",
        "rate_coercion_debt",
        "rate_signs_fear",
        "rate_housing_runaway",
        "rate_housing_unknown",
    }
    assert len(caught.value.problems) == 5
    assert "not one of its answers" in problems["rate_housing_unstable"]
    assert "not one of its answers" in problems["rate_coercion_debt"]
    assert "not one of its answers" in problems["rate_signs_fear"]
    assert "not_asked" in problems["rate_housing_runaway"]
    assert "no such item" in problems["rate_housing_unknown"]
    for item_id in problems:
        assert item_id in str(caught.value)


def test_declined_and_not_enough_info_are_answers_on_every_rating() -> None:
    """Both are accepted on all 34 ratings and counted as what they are; neither says anything of an indicator."""
    for answer, counted in ((DECL, (34, 0, 34, 0, 0, 0)), (NEI, (34, 0, 0, 34, 0, 0))):
        result = scoring.score(INSTRUMENT, everything(answer))
        c = result.completeness
        assert (c.total, c.answered, c.declined, c.not_enough_info, c.not_asked, c.unanswered) == counted, answer
        assert {i.level for i in result.indicators} == {UNK}, answer
