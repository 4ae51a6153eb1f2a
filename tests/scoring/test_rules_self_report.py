"""Golden cases for the youth self-report (tellonce-youth-self-report 1.0.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

- every question offers yes / no / not_sure; usually `yes` implies clear concern for its indicator
  and `not_sure` possible concern; `parties_hotels` and `owes_money` imply only possible concern
  for `yes` too; `someone_else_involved` also implies possible concern on `coercion.earnings`;
- three follow-ups are shown only after a `yes` or `not_sure`: `stay_in_return` (after
  `no_safe_place` or `stayed_away`), `work_to_pay` (after `owes_money`) and
  `someone_else_involved` (after `sex_for_things`); a hidden follow-up is `not_asked`;
- the self-report allows the interview mode, so `not_enough_info` is an answer here;
- domain and overall rules are the same as the practitioner tool's 1.0.0 (see that golden file):
  a domain whose indicators are all unknown is `insufficient_information` (rule 0), while with
  nothing known the overall result still falls back to no concern (1.1.0 concludes insufficient);
- reasons are expected the same way: a domain reason names the domain's indicators at exactly the
  domain's level, the overall reason the key indicators and domains at exactly the overall level,
  and neither names anything for no concern.
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

INSTRUMENT = bundled_registry().get("tellonce-youth-self-report", "1.0.0")

DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable", "housing.runaway", "housing.caregiver_unsafe", "housing.exchange"),
    "trauma": ("trauma.sexual_abuse", "trauma.physical_abuse", "trauma.witnessed_violence"),
    "health": ("health.injuries", "health.substances", "health.exhaustion", "health.marks"),
    "environment": ("environment.risky_places", "environment.online_contacts", "environment.travel"),
    "relationships": (
        "relationships.older_partner",
        "relationships.unexplained_items",
        "relationships.isolation",
        "relationships.secretive",
    ),
    "signs": ("signs.accompanied", "signs.scripted", "signs.fear"),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.documents", "coercion.threats", "coercion.movement"),
    "exploitation": (
        "exploitation.sex_exchange",
        "exploitation.third_party",
        "exploitation.sexual_images",
        "exploitation.labor_forced",
        "exploitation.labor_unpaid",
    ),
}
INDICATORS = tuple(i for members in DOMAINS.values() for i in members)
FOLLOW_UPS = ("stay_in_return", "work_to_pay", "someone_else_involved")
# The 31 questions that are always shown, in the order of the file.
ALWAYS_SHOWN = (
    "no_safe_place",
    "stayed_away",
    "unsafe_at_home",
    "hurt_by_caregiver",
    "unwanted_touch",
    "saw_violence",
    "hurt_no_doctor",
    "given_drugs",
    "unwanted_tattoo",
    "older_partner",
    "gifts",
    "kept_from_family",
    "keep_secret",
    "parties_hotels",
    "taken_far",
    "online_contact",
    "owes_money",
    "money_taken",
    "id_kept",
    "not_paid",
    "made_to_work",
    "made_to_break_law",
    "tired_hungry",
    "pictures",
    "sex_for_things",
    "pushed_to_others",
    "cant_leave",
    "threatened",
    "told_what_to_say",
    "never_alone",
    "afraid_to_answer",
)
ALL_NO = dict.fromkeys(ALWAYS_SHOWN, "no")
ALL_DECLINED = dict.fromkeys(ALWAYS_SHOWN, DECL)


CASES = [
    Case(
        "all-no-hides-every-follow-up",
        ALL_NO,
        overall=NO,
        other_domains=NO,
        # housing.exchange is fed only by the hidden follow-up stay_in_return
        indicators={"housing.exchange": UNK},
        other_indicators=NO,
        reason=Reason(3),
        domain_reasons={"housing": (3, ()), "coercion": (3, ())},
        evidence={
            "housing.exchange": (),
            "coercion.debt": (("owes_money", "no", NO),),
            "exploitation.third_party": (("pushed_to_others", "no", NO),),
        },
        completeness=(34, 31, 0, 0, 3, 0),
    ),
    Case(
        "follow-up-hidden-when-gate-is-no-may-be-sent-as-not-asked",
        ALL_NO | dict.fromkeys(FOLLOW_UPS, NOT_ASKED),
        overall=NO,
        other_domains=NO,
        indicators={"housing.exchange": UNK},
        other_indicators=NO,
        reason=Reason(3),
        completeness=(34, 31, 0, 0, 3, 0),
    ),
    Case(
        "place-to-stay-in-exchange-is-key-clear",
        ALL_NO | {"no_safe_place": "yes", "stay_in_return": "yes"},
        overall=CLEAR,
        domains={"housing": CLEAR},
        other_domains=NO,
        indicators={"housing.unstable": CLEAR, "housing.exchange": CLEAR},
        other_indicators=NO,
        reason=Reason(1, ("housing.exchange",), ("housing",)),
        domain_reasons={"housing": (1, ("housing.unstable", "housing.exchange"))},
        evidence={
            "housing.unstable": (("no_safe_place", "yes", CLEAR),),
            "housing.exchange": (("stay_in_return", "yes", CLEAR),),
        },
        completeness=(34, 32, 0, 0, 2, 0),
    ),
    Case(
        "either-gate-shows-the-housing-follow-up",
        ALL_NO | {"stayed_away": "not_sure", "stay_in_return": "not_sure"},
        overall=POSS,
        domains={"housing": POSS},
        other_domains=NO,
        indicators={"housing.unstable": NO, "housing.runaway": POSS, "housing.exchange": POSS},
        reason=Reason(2, ("housing.exchange",), ("housing",)),
        domain_reasons={"housing": (2, ("housing.runaway", "housing.exchange"))},
        evidence={"housing.exchange": (("stay_in_return", "not_sure", POSS),)},
        completeness=(34, 32, 0, 0, 2, 0),
    ),
    Case(
        "owing-money-alone-is-a-possible-key-concern",
        ALL_NO | {"owes_money": "yes"},  # work_to_pay is shown but left unanswered
        overall=POSS,
        domains={"coercion": POSS},
        other_domains=NO,
        indicators={"coercion.debt": POSS, "housing.exchange": UNK},
        other_indicators=NO,
        reason=Reason(2, ("coercion.debt",), ("coercion",)),
        domain_reasons={"coercion": (2, ("coercion.debt",))},
        evidence={"coercion.debt": (("owes_money", "yes", POSS),)},
        completeness=(34, 31, 0, 0, 2, 1),
    ),
    Case(
        "debt-paid-off-by-work-is-key-clear",
        ALL_NO | {"owes_money": "yes", "work_to_pay": "yes"},
        overall=CLEAR,
        domains={"coercion": CLEAR},
        other_domains=NO,
        indicators={"coercion.debt": CLEAR},
        reason=Reason(1, ("coercion.debt",), ("coercion",)),
        domain_reasons={"coercion": (1, ("coercion.debt",))},
        evidence={"coercion.debt": (("work_to_pay", "yes", CLEAR),)},
        completeness=(34, 32, 0, 0, 2, 0),
    ),
    Case(
        "debt-follow-up-no-leaves-owing-as-possible",
        ALL_NO | {"owes_money": "not_sure", "work_to_pay": "no"},
        overall=POSS,
        domains={"coercion": POSS},
        other_domains=NO,
        indicators={"coercion.debt": POSS},
        reason=Reason(2, ("coercion.debt",), ("coercion",)),
        evidence={"coercion.debt": (("owes_money", "not_sure", POSS),)},
    ),
    Case(
        "parties-yes-is-only-possible-and-alone-gives-no-concern",
        ALL_NO | {"parties_hotels": "yes"},
        overall=NO,
        domains={"environment": POSS},
        other_domains=NO,
        indicators={"environment.risky_places": POSS, "housing.exchange": UNK},
        other_indicators=NO,
        reason=Reason(3),
        domain_reasons={"environment": (2, ("environment.risky_places",))},
        evidence={"environment.risky_places": (("parties_hotels", "yes", POSS),)},
    ),
    Case(
        "two-possible-domains-give-possible",
        ALL_NO | {"parties_hotels": "yes", "gifts": "not_sure"},
        overall=POSS,
        domains={"environment": POSS, "relationships": POSS},
        other_domains=NO,
        reason=Reason(2, (), ("environment", "relationships")),
        domain_reasons={"relationships": (2, ("relationships.unexplained_items",))},
    ),
    Case(
        "one-clear-domain-gives-possible",
        ALL_NO | {"unwanted_touch": "yes"},
        overall=POSS,
        domains={"trauma": CLEAR},
        other_domains=NO,
        indicators={"trauma.sexual_abuse": CLEAR},
        reason=Reason(2),  # trauma is clear, above the overall level
        domain_reasons={"trauma": (1, ("trauma.sexual_abuse",))},
    ),
    Case(
        "two-clear-domains-give-clear",
        ALL_NO | {"hurt_by_caregiver": "yes", "threatened": "yes"},
        overall=CLEAR,
        domains={"trauma": CLEAR, "coercion": CLEAR},
        other_domains=NO,
        reason=Reason(1, (), ("trauma", "coercion")),
        domain_reasons={"trauma": (1, ("trauma.physical_abuse",)), "coercion": (1, ("coercion.threats",))},
    ),
    Case(
        "third-party-follow-up-is-key-clear-and-also-feeds-earnings",
        ALL_NO | {"sex_for_things": "not_sure", "someone_else_involved": "yes"},
        overall=CLEAR,
        domains={"exploitation": CLEAR, "coercion": POSS},
        other_domains=NO,
        indicators={
            "exploitation.sex_exchange": POSS,
            "exploitation.third_party": CLEAR,
            "coercion.earnings": POSS,
            "housing.exchange": UNK,
        },
        other_indicators=NO,
        reason=Reason(1, ("exploitation.third_party",), ("exploitation",)),
        domain_reasons={"exploitation": (1, ("exploitation.third_party",)), "coercion": (2, ("coercion.earnings",))},
        evidence={
            "exploitation.sex_exchange": (("sex_for_things", "not_sure", POSS),),
            "exploitation.third_party": (("someone_else_involved", "yes", CLEAR),),
            "coercion.earnings": (("someone_else_involved", "yes", POSS),),
        },
        completeness=(34, 32, 0, 0, 2, 0),
    ),
    Case(
        "not-sure-on-sex-exchange-and-its-follow-up-gives-possible-on-three-keys",
        ALL_NO | {"sex_for_things": "not_sure", "someone_else_involved": "not_sure"},
        overall=POSS,
        domains={"exploitation": POSS, "coercion": POSS},
        other_domains=NO,
        reason=Reason(
            2,
            ("coercion.earnings", "exploitation.sex_exchange", "exploitation.third_party"),
            ("coercion", "exploitation"),
        ),
        evidence={
            "exploitation.third_party": (("someone_else_involved", "not_sure", POSS),),
            "coercion.earnings": (("someone_else_involved", "not_sure", POSS),),
        },
    ),
    Case(
        "two-questions-on-one-indicator-are-both-evidence",
        ALL_NO | {"made_to_work": "yes", "made_to_break_law": "yes"},
        overall=CLEAR,
        domains={"exploitation": CLEAR},
        other_domains=NO,
        reason=Reason(1, ("exploitation.labor_forced",), ("exploitation",)),
        evidence={
            "exploitation.labor_forced": (("made_to_work", "yes", CLEAR), ("made_to_break_law", "yes", CLEAR)),
        },
    ),
    Case(
        "declined-everything",
        ALL_DECLINED,
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(3),
        domain_reasons={d: (0, ()) for d in DOMAINS},
        evidence={"coercion.debt": ()},
        completeness=(34, 0, 31, 0, 3, 0),
    ),
    Case(
        "declining-a-gate-hides-its-follow-up",
        ALL_NO | {"owes_money": DECL},
        overall=NO,
        other_domains=NO,
        indicators={"coercion.debt": UNK, "housing.exchange": UNK},
        other_indicators=NO,
        reason=Reason(3),
        completeness=(34, 30, 1, 0, 3, 0),
    ),
    Case(
        "key-clear-with-everything-else-declined",
        ALL_DECLINED | {"made_to_work": "yes"},
        overall=CLEAR,
        domains={"exploitation": CLEAR},
        other_domains=INS,
        indicators={"exploitation.labor_forced": CLEAR},
        other_indicators=UNK,
        reason=Reason(1, ("exploitation.labor_forced",), ("exploitation",)),
        domain_reasons={"exploitation": (1, ("exploitation.labor_forced",)), "housing": (0, ())},
        completeness=(34, 1, 30, 0, 3, 0),
    ),
    Case(
        "not-enough-info-is-an-answer-because-interview-mode-is-allowed",
        ALL_NO | dict.fromkeys(("unsafe_at_home", "older_partner", "gifts", "kept_from_family", "keep_secret"), NEI),
        overall=NO,
        domains={"relationships": INS, "housing": NO},
        other_domains=NO,
        indicators={"housing.caregiver_unsafe": UNK, "housing.exchange": UNK, "relationships.isolation": UNK},
        reason=Reason(3),
        domain_reasons={"relationships": (0, ()), "housing": (3, ())},
        completeness=(34, 26, 0, 5, 3, 0),
    ),
    Case(
        "skipped-everything",
        {},
        overall=NO,
        other_domains=INS,
        other_indicators=UNK,
        reason=Reason(3),
        completeness=(34, 0, 0, 0, 3, 31),
    ),
]


def params(*, having: str | None = None) -> list[Any]:
    return case_params(CASES, having=having)


def test_definition_matches_this_table() -> None:
    assert dict(INSTRUMENT.domain_indicators) == DOMAINS
    assert set(INSTRUMENT.visibility_order) == set(ALWAYS_SHOWN) | set(FOLLOW_UPS)
    assert set(INSTRUMENT.show_if) == set(FOLLOW_UPS)
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
    answers = ALL_NO | {
        "where_do_you_sleep": "yes",  # no such item
        "no_safe_place": "maybe",  # not an option
        "older_partner": True,  # wrong type
        "gifts": ["yes"],  # a list for a single choice
        "keep_secret": NOT_ASKED,  # shown, so it cannot be not_asked
        "stay_in_return": "yes",  # hidden: no_safe_place is invalid and stayed_away is no
        "work_to_pay": DECL,  # hidden: owes_money is no; even declining it is an answer to a hidden item
        "someone_else_involved": NOT_ASKED,  # hidden and sent as not_asked: fine
    }
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(INSTRUMENT, answers)
    problems = {p.item_id: p.message for p in caught.value.problems}
    assert set(problems) == {
        "where_do_you_sleep",
        "no_safe_place",
        "older_partner",
        "gifts",
        "keep_secret",
        "stay_in_return",
        "work_to_pay",
    }
    assert len(caught.value.problems) == 7
    assert "no such item" in problems["where_do_you_sleep"]
    assert "'maybe' is not one of its answers" in problems["no_safe_place"]
    assert "not one of its answers" in problems["older_partner"]
    assert "not one of its answers" in problems["gifts"]
    assert "cannot be 'not_asked'" in problems["keep_secret"]
    assert "show_if hides it" in problems["stay_in_return"]
    assert "show_if hides it" in problems["work_to_pay"]


def test_check_answers_fills_in_not_asked_and_unanswered() -> None:
    values = scoring.check_answers(INSTRUMENT, {"owes_money": "yes"})
    assert values["work_to_pay"] is None  # shown, not answered
    assert values["stay_in_return"] == NOT_ASKED
    assert values["someone_else_involved"] == NOT_ASKED
    assert values["no_safe_place"] is None
    assert set(values) == set(ALWAYS_SHOWN) | set(FOLLOW_UPS)
