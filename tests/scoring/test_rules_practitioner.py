"""The rules of the practitioner indicator rating 1.0.0 (tellonce-practitioner-indicators): what its cases rest on.

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument's rules, not copied from the engine's output:

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
    NEI,
    NO,
    NOT_ASKED,
    UNK,
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


# Cases where the engine disagrees with what the rules say. Each is a bug to fix in the engine,
# not in the expectation; `strict` makes the test fail once the engine is fixed.


def test_definition_matches_this_table() -> None:
    assert dict(INSTRUMENT.domain_indicators) == DOMAINS
    assert INSTRUMENT.key_indicators_in_order == KEY
    assert set(INSTRUMENT.visibility_order) == {item(i) for i in INDICATORS}


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
