"""The rules of the youth self-report (tellonce-youth-self-report 1.0.0): what its cases rest on.

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument, not copied from the engine:

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

import pytest

import scoring
from tests.scoring.golden import (
    DECL,
    NOT_ASKED,
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


def test_definition_matches_this_table() -> None:
    assert dict(INSTRUMENT.domain_indicators) == DOMAINS
    assert set(INSTRUMENT.visibility_order) == set(ALWAYS_SHOWN) | set(FOLLOW_UPS)
    assert set(INSTRUMENT.show_if) == set(FOLLOW_UPS)
    assert INSTRUMENT.allows_not_enough_info


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
