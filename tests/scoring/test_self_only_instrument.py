"""A small self-administered-only instrument, written inline: the answer checks and scoring that
depend on the mode (no "not enough information" from a youth on their own) and on item types the
bundled instruments do not use."""

from __future__ import annotations

from typing import Any

import pytest

import instruments
import scoring
from tests.scoring.golden import CLEAR, DECL, NEI, NO, POSS, UNK

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
    loaded_result = instruments.load(text=SELF_ONLY, name="self-only.yaml")
    compiled, problems = loaded_result.instrument, loaded_result.problems
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
