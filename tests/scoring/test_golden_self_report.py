"""Golden cases for the youth self-report (tellonce-youth-self-report 1.0.0).

Every expected value below was worked out by hand from the instrument, not copied from the engine:

- every question offers yes / no / not_sure; usually `yes` implies clear concern for its indicator
  and `not_sure` possible concern; `parties_hotels` and `owes_money` imply only possible concern
  for `yes` too; `someone_else_involved` also implies possible concern on `coercion.earnings`;
- three follow-ups are shown only after a `yes` or `not_sure`: `stay_in_return` (after
  `no_safe_place` or `stayed_away`), `work_to_pay` (after `owes_money`) and
  `someone_else_involved` (after `sex_for_things`); a hidden follow-up is `not_asked`;
- the self-report allows the interview mode, so `not_enough_info` is an answer here;
- domain and overall rules are the same as the practitioner tool's (see that golden file),
  and reasons are expected the same way.

The end of the file checks a small self-only instrument, written inline, where
`not_enough_info` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

import instruments
import scoring
from instruments.loader import BUNDLED_DIR

NO, POSS, CLEAR, UNK = "no_concern", "possible_concern", "clear_concern", "unknown"
NEI, DECL, NOT_ASKED = "not_enough_info", "declined", "not_asked"

INSTRUMENT = instruments.load_or_raise([BUNDLED_DIR]).get("tellonce-youth-self-report", "1.0.0")

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


@dataclass(frozen=True)
class Reason:
    rule: int
    indicators: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    answers: dict[str, Any]
    overall: str
    domains: dict[str, str] = field(default_factory=dict)
    other_domains: str | None = None
    indicators: dict[str, str] = field(default_factory=dict)
    other_indicators: str | None = None
    reason: Reason | None = None
    domain_reasons: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    evidence: dict[str, tuple[tuple[str, Any, str], ...]] = field(default_factory=dict)
    completeness: tuple[int, int, int, int, int, int] | None = None  # total, answered, declined, nei, not asked, none


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
        reason=Reason(2, (), ("trauma",)),
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
        other_domains=UNK,
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
        other_domains=UNK,
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
        domains={"relationships": UNK, "housing": NO},
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
        other_domains=UNK,
        other_indicators=UNK,
        reason=Reason(3),
        completeness=(34, 0, 0, 0, 3, 31),
    ),
]


def params(*, having: str | None = None) -> list[Any]:
    chosen = [c for c in CASES if having is None or getattr(c, having)]
    return [pytest.param(c, id=c.id) for c in chosen]


def expected_levels(named: dict[str, str], others: str | None, every: tuple[str, ...]) -> dict[str, str]:
    """The named levels, and `others` for every id not named (when given)."""
    if others is None:
        return dict(named)
    return {i: named.get(i, others) for i in every}


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


# ---- a self-only instrument: `not_enough_info` is not an answer there ----

SELF_ONLY = """
id: test-self-only
version: 1.0.0
title: {en: "Self-only test"}
description: {en: "A small self-administered instrument for tests."}
authors: [tests]
license: CC-BY-4.0
provenance:
  validated: false
  statement: {en: "Test only."}
modes: [self]
languages: [en]
default_language: en
sections:
  - id: main
    title: {en: "Main"}
domains:
  - id: work
    title: {en: "Work"}
    indicators:
      - id: work.long_hours
        key: true
        text: {en: "Works long hours"}
      - id: work.unpaid
        text: {en: "Works without pay"}
items:
  - id: intro
    section: main
    type: notice
    text: {en: "Some questions about work."}
  - id: works
    section: main
    type: yes_no
    text: {en: "Do you work?"}
  - id: hours
    section: main
    type: number
    minimum: 0
    maximum: 120
    show_if: "works == 'yes'"
    text: {en: "Hours a week?"}
    indicates:
      - {indicator: work.long_hours, level: clear_concern, when: "hours >= 60"}
      - {indicator: work.long_hours, level: possible_concern, when: "hours >= 40"}
  - id: paid_with
    section: main
    type: multiple_choice
    show_if: "works == 'yes'"
    text: {en: "How are you paid?"}
    options:
      - {code: cash, label: {en: "Cash"}}
      - {code: nothing, label: {en: "Nothing"}}
      - {code: other, label: {en: "Other"}}
    indicates:
      - {indicator: work.unpaid, level: clear_concern, answers: [nothing]}
  - id: started
    section: main
    type: date
    show_if: "works == 'yes'"
    text: {en: "When did you start?"}
  - id: employer
    section: main
    type: short_text
    max_length: 10
    show_if: "works == 'yes'"
    text: {en: "Who do you work for?"}
scoring:
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: "clear"}}
    - {level: possible_concern, when: "any(indicators, level='possible_concern')", explain: {en: "possible"}}
    - {level: no_concern, explain: {en: "none"}}
  overall:
    - {level: clear_concern, when: "any(indicators, key=true, level='clear_concern')", explain: {en: "key clear"}}
    - {level: possible_concern, when: "any(domains, level=['possible_concern', 'clear_concern'])", explain: {en: "any"}}
    - {level: no_concern, explain: {en: "none"}}
"""


@pytest.fixture(scope="module")
def self_only() -> Any:
    compiled, problems = instruments.load_text(SELF_ONLY, "self-only.yaml")
    assert problems == []
    assert compiled is not None
    assert not compiled.allows_not_enough_info
    return compiled


def test_self_only_refuses_not_enough_info_and_lists_every_problem(self_only: Any) -> None:
    answers = {
        "intro": "ok",  # a notice takes no answer
        "works": "yes",
        "hours": NEI,  # not an answer when only the self mode is allowed
        "paid_with": ["cash", "cash"],  # the same option twice
        "started": "2024-02-30",  # not a real date
        "employer": "Somebody Else Ltd",  # longer than max_length 10
        "boss": "x",  # no such item
    }
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(self_only, answers)
    problems = {p.item_id: p.message for p in caught.value.problems}
    assert set(problems) == {"intro", "hours", "paid_with", "started", "employer", "boss"}
    assert len(caught.value.problems) == 6
    assert "self-administered" in problems["hours"]
    assert "twice" in problems["paid_with"]
    assert "not a real date" in problems["started"]
    assert "longer than 10" in problems["employer"]
    assert "notice" in problems["intro"]
    assert "no such item" in problems["boss"]


def test_self_only_refuses_not_enough_info_on_a_gate_too(self_only: Any) -> None:
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(self_only, {"works": NEI, "hours": 10})
    problems = {p.item_id: p.message for p in caught.value.problems}
    # works is refused, so it counts as unanswered: hours is then hidden and its answer is a problem too
    assert set(problems) == {"works", "hours"}
    assert "self-administered" in problems["works"]
    assert "show_if hides it" in problems["hours"]


@pytest.mark.parametrize(
    ("answers", "overall", "long_hours", "unpaid", "evidence"),
    [
        pytest.param(
            {"works": "yes", "hours": 65, "paid_with": ["cash"]},
            CLEAR,
            CLEAR,
            NO,
            (("hours", 65, CLEAR),),
            id="sixty-hours-is-key-clear",
        ),
        pytest.param(
            {"works": "yes", "hours": 45, "paid_with": ["cash", "nothing"]},
            POSS,
            POSS,
            CLEAR,
            (("hours", 45, POSS),),
            id="forty-hours-is-possible-and-unpaid-is-clear-but-not-key",
        ),
        pytest.param(
            {"works": "yes", "hours": 20, "paid_with": DECL, "started": "2024-02-01", "employer": "shop"},
            NO,
            NO,
            UNK,
            (("hours", 20, NO),),
            id="short-hours-no-concern-declined-pay-unknown",
        ),
        pytest.param({"works": "no"}, NO, UNK, UNK, (), id="not-working-hides-every-follow-up"),
        pytest.param({"works": DECL}, NO, UNK, UNK, (), id="declined-is-allowed-in-self-mode"),
    ],
)
def test_self_only_scores(
    self_only: Any, answers: dict[str, Any], overall: str, long_hours: str, unpaid: str, evidence: Any
) -> None:
    result = scoring.score(self_only, answers)
    assert result.overall == overall
    assert result.indicator("work.long_hours").level == long_hours
    assert result.indicator("work.unpaid").level == unpaid
    assert tuple((e.item_id, e.answer, e.level) for e in result.indicator("work.long_hours").evidence) == evidence
