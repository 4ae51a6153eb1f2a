"""Synthetic answers to any compiled instrument, drawn from a stated answer model (docs/evaluation.md).

Pure: no database and no web. Each item is answered independently given whether the person has the
condition; which answers are concerning comes from the instrument itself (the levels each option
implies, or a rating's own level), and show_if is respected, so what is drawn is exactly what the
screening service accepts and scoring scores.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from instruments.compiled import CompiledInstrument, Feed
from instruments.expressions import Context, Expression
from instruments.model import DECLINED, LEVELS, NOT_ASKED, NOT_ENOUGH_INFO

RANK = {level: rank for rank, level in enumerate(LEVELS)}  # no_concern 0, possible_concern 1, clear_concern 2


@dataclass(frozen=True)
class Answering:
    """How people answer the items of one instrument: each item independently, given the condition.

    A key item feeds an indicator the instrument marks `key` (serious enough alone to raise the overall
    level): it asks about the exploitation itself, which fewer young people disclose. Other items ask
    about circumstances (housing, health, relationships) that are common among all young people.
    """

    key_with: float  # P(concerning answer to a key item | condition)
    key_without: float  # P(concerning answer to a key item | no condition)
    other_with: float  # P(concerning answer to another item | condition)
    other_without: float  # P(concerning answer to another item | no condition)
    skipped: float  # P(an item is skipped), drawn first: 'declined', or 'not_enough_info' for a staff rating
    unsure: float = 0.0  # share of concerning answers given at the lesser concern where an item has one
    # (the self-report's 'not_sure', a 'possible_concern' rating); the rest at the item's highest level

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability: from 0 to 1, not {value}")

    def concerning(self, key: bool, condition: bool) -> float:
        """P(concerning answer | answered) for a key or other item, with or without the condition."""
        if key:
            return self.key_with if condition else self.key_without
        return self.other_with if condition else self.other_without


@dataclass(frozen=True)
class PlannedItem:
    """One answerable item, as the answer model sees it."""

    id: str
    condition: Expression | None  # show_if
    shape: str  # "code", "codes" (a list, for multiple choice), "any" (codes imply nothing), "none" (not answered)
    key: bool
    strong: tuple[str, ...]  # the codes implying the item's highest level
    weak: tuple[str, ...]  # codes implying a lesser concern
    neutral: tuple[str, ...]  # the codes implying the least (no concern), or every code for "any"
    skip: str  # the special answer of a skipped item


_PLANS: WeakKeyDictionary[CompiledInstrument, tuple[PlannedItem, ...]] = WeakKeyDictionary()


def plan(compiled: CompiledInstrument) -> tuple[PlannedItem, ...]:
    """The answerable items in visibility order, each with its codes sorted by the level they imply."""
    plan = _PLANS.get(compiled)
    if plan is not None:
        return plan
    feeds: defaultdict[str, list[Feed]] = defaultdict(list)
    for indicator_feeds in compiled.feeds.values():
        for feed in indicator_feeds:
            feeds[feed.item_id].append(feed)
    items = []
    for item_id in compiled.visibility_order:
        item = compiled.items[item_id]
        own = feeds[item_id]
        codes = sorted(compiled.codes.get(item_id) or ())  # sorted: a frozenset's order changes between runs
        if item.type == "indicator_rating":
            rank = dict(RANK)
        else:
            rank = {
                code: max((RANK[f.level] for f in own if f.answers is not None and code in f.answers), default=0)
                for code in codes
            }
        top, bottom = max(rank.values(), default=0), min(rank.values(), default=0)
        shape = "none" if not rank else "any" if top == bottom else "code"
        if shape == "code" and item.type == "multiple_choice":
            shape = "codes"
        items.append(
            PlannedItem(
                id=item_id,
                condition=compiled.show_if.get(item_id),
                shape=shape,
                key=any(f.indicator in compiled.key_indicators for f in own),
                strong=tuple(c for c, r in rank.items() if r == top),
                weak=tuple(c for c, r in rank.items() if bottom < r < top),
                neutral=tuple(c for c, r in rank.items() if r == bottom),
                skip=NOT_ENOUGH_INFO if item.type == "indicator_rating" else DECLINED,
            )
        )
    plan = _PLANS[compiled] = tuple(items)
    return plan


def draw_answers(
    compiled: CompiledInstrument, answering: Answering, condition: bool, rng: random.Random
) -> dict[str, Any]:
    """One person's answers: to every item show_if shows, given the answers before it; none to a hidden one.

    Number, date and text items are left unanswered: the model says nothing about them.
    """
    values: dict[str, Any] = {}  # as scoring sees them: hidden items are not_asked
    context = Context(values)
    answers: dict[str, Any] = {}
    for item in plan(compiled):
        if item.condition is not None and not item.condition.truth(context):
            values[item.id] = NOT_ASKED
            continue
        value = _answer(item, answering, condition, rng)
        values[item.id] = value
        if value is not None:
            answers[item.id] = value
    return answers


def _answer(item: PlannedItem, answering: Answering, condition: bool, rng: random.Random) -> Any:
    if item.shape == "none":
        return None
    if rng.random() < answering.skipped:
        return item.skip
    if item.shape == "any":
        code = rng.choice(item.neutral)
    elif rng.random() < answering.concerning(item.key, condition):
        code = rng.choice(item.weak) if item.weak and rng.random() < answering.unsure else rng.choice(item.strong)
    else:
        code = rng.choice(item.neutral)
    return [code] if item.shape == "codes" else code
