"""The rules of the brief check-in 1.1.0 (tellonce-brief-screen 1.1.0): what its cases rest on.

The same cases hold for 1.2.0, 1.3.0 and 1.4.0, which have the same questions and rules (1.2.0 adds
`carry`, 1.3.0 `screen_again`).

Its worked cases (`examples:` in its file, run by test_golden_examples.py) were worked out by hand
from the instrument, not copied from the engine:

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
    RULES_OF_1_1_0,
    bundled,
)

INSTRUMENT_ID = "tellonce-brief-screen"


@pytest.fixture(params=RULES_OF_1_1_0)
def instrument(request: pytest.FixtureRequest) -> CompiledInstrument:
    """Each version these cases hold for: 1.1.0, 1.2.0 (with `carry`), 1.3.0 (with `screen_again`)."""
    return bundled(INSTRUMENT_ID, request.param)


DOMAINS: dict[str, tuple[str, ...]] = {
    "housing": ("housing.unstable",),
    "coercion": ("coercion.debt", "coercion.earnings", "coercion.movement"),
    "exploitation": ("exploitation.sex_exchange", "exploitation.labor_forced"),
}
KEYS = ("coercion.debt", "coercion.earnings", "exploitation.sex_exchange", "exploitation.labor_forced")
ITEMS = ("nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "sexual_exchange", "kept_from_leaving")
ALL_NO = dict.fromkeys(ITEMS, "no")


def test_definition_matches_this_table(instrument: CompiledInstrument) -> None:
    assert dict(instrument.domain_indicators) == DOMAINS
    assert instrument.visibility_order == ITEMS
    assert instrument.key_indicators_in_order == KEYS
    assert instrument.every_answer


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
