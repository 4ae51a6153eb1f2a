"""The rules of the brief check-in (tellonce-brief-screen 1.0.0): what its cases rest on.

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument, not copied from the engine:

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

import pytest

import scoring
from tests.scoring.golden import (
    NEI,
    NOT_ASKED,
)
from tests.support.bundled import bundled_registry

INSTRUMENT = bundled_registry().get("tellonce-brief-screen", "1.0.0")

DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable",),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.movement"),
    "exploitation": ("exploitation.sex_exchange", "exploitation.labor_forced"),
}
ITEMS = ("nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "sexual_exchange", "kept_from_leaving")


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
