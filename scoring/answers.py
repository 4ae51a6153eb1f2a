"""Checking answers against a compiled instrument before anything is scored."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from instruments.compiled import CompiledInstrument
from instruments.expressions import Context, Expression
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, Item


@dataclass(frozen=True)
class AnswerProblem:
    """One invalid answer: which item and what is wrong."""

    item_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.item_id}: {self.message}"


class AnswerError(ValueError):
    """The answers cannot be scored; `problems` lists every reason."""

    def __init__(self, problems: list[AnswerProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def check_answers(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Validate answers and return every answerable item's value, with `not_asked` for hidden items.

    Raises AnswerError listing every problem: unknown items, wrong types, options not offered,
    answers to items that show_if hides.
    """
    plan = _plan(instrument)
    if plan.quick is not None and plan.answerable.issuperset(answers):
        # No show_if, and every item takes one code: valid answers need no more than a set lookup each.
        get = answers.get
        quick = {item_id: get(item_id) for item_id in instrument.visibility_order}
        try:
            if all(map(frozenset.__contains__, plan.quick, quick.values())):
                return quick
        except TypeError:  # an unhashable answer: the checks below say what is wrong with it
            pass
    problems = [
        AnswerProblem(k, "there is no such item in this instrument") for k in answers if k not in instrument.items
    ]
    values: dict[str, Any] = {}
    context = Context(values)
    for item_id, condition, accepted in plan.steps:
        given = answers.get(item_id)
        if condition is not None and not condition.truth(context):
            if given is not None and given != NOT_ASKED:
                problems.append(AnswerProblem(item_id, "was answered, but its show_if hides it"))
            values[item_id] = NOT_ASKED
            continue
        if given is None or (accepted is not None and type(given) is str and given in accepted):
            values[item_id] = given  # no answer, or one of the codes the item takes: nothing to check
            continue
        if given == NOT_ASKED:
            problems.append(AnswerProblem(item_id, "is shown, so it cannot be 'not_asked'"))
            given = None
        else:
            message = _check_value(instrument, instrument.items[item_id], given)
            if message:
                problems.append(AnswerProblem(item_id, message))
                given = None
        values[item_id] = given
    if plan.notices and not plan.notices.isdisjoint(answers):
        for item_id, given in answers.items():
            item = instrument.items.get(item_id)
            if item is not None and item.type == "notice" and given is not None:
                problems.append(AnswerProblem(item_id, "is a notice and takes no answer"))
    if problems:
        raise AnswerError(problems)
    return values


def answer_problem(instrument: CompiledInstrument, item_id: str, value: Any) -> str | None:
    """Why `value` is not a valid answer to one item (ignoring show_if), or None when it is."""
    item = instrument.items.get(item_id)
    if item is None:
        return "there is no such item in this instrument"
    if value is None:
        return None
    if value == NOT_ASKED:
        return "'not_asked' is set by the engine, not given as an answer"
    return _check_value(instrument, item, value)


def visible_only(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to items that show_if shows, given the other answers; hidden ones are left out.

    Stored answers to items that a later change hid are kept by the caller, never deleted; this
    only decides what is scored.
    """
    shown, _context = _show(instrument, answers)
    return {item_id: answers[item_id] for item_id in shown if item_id in answers}


def shown_items(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> set[str]:
    """Every item that show_if shows given the answers: the answerable ones and the notices (a page, the
    review and a summary show exactly these)."""
    shown, context = _show(instrument, answers)
    for item in instrument.definition.items:
        if item.type == "notice":
            condition = instrument.show_if.get(item.id)
            if condition is None or condition.truth(context):
                shown.append(item.id)
    return set(shown)


def _show(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> tuple[list[str], Context]:
    """The answerable items show_if shows, in visibility order (a hidden item reads as not asked to the
    conditions after it), and the context the conditions were read in."""
    values: dict[str, Any] = {}
    context = Context(values)
    shown: list[str] = []
    for item_id in instrument.visibility_order:
        condition = instrument.show_if.get(item_id)
        if condition is not None and not condition.truth(context):
            values[item_id] = NOT_ASKED
            continue
        values[item_id] = answers.get(item_id)
        shown.append(item_id)
    return shown, context


class _Plan:
    """Per instrument, computed once: each answerable item in visibility order, with its show_if
    and, for items answered with one code, every code it takes (`_check_value` accepts exactly
    these plain strings, and `not_asked` is never among them); the ids of notice items."""

    __slots__ = ("answerable", "notices", "quick", "steps")

    def __init__(self, instrument: CompiledInstrument) -> None:
        self.steps: list[tuple[str, Expression | None, frozenset[str] | None]] = []
        for item_id in instrument.visibility_order:
            item = instrument.items[item_id]
            codes = instrument.codes.get(item_id)
            accepted = None
            if item.type in ("yes_no", "single_choice", "indicator_rating") and codes is not None:
                nei = item.type == "indicator_rating" or instrument.allows_not_enough_info
                accepted = frozenset({*codes, DECLINED, *([NOT_ENOUGH_INFO] if nei else [])})
            self.steps.append((item_id, instrument.show_if.get(item_id), accepted))
        self.notices = frozenset(i for i, item in instrument.items.items() if item.type == "notice")
        self.answerable = frozenset(instrument.visibility_order)
        # when no item has a show_if and every item takes one code: the codes of every item, and
        # None (no answer), in visibility order
        simple = not instrument.show_if and all(accepted is not None for _, _, accepted in self.steps)
        self.quick: tuple[frozenset[str | None], ...] | None = (
            tuple(frozenset({*accepted, None}) for _, _, accepted in self.steps if accepted is not None)
            if simple
            else None
        )


_PLANS: WeakKeyDictionary[CompiledInstrument, _Plan] = WeakKeyDictionary()


def _plan(instrument: CompiledInstrument) -> _Plan:
    plan = _PLANS.get(instrument)
    if plan is None:
        plan = _PLANS[instrument] = _Plan(instrument)
    return plan


def _check_value(instrument: CompiledInstrument, item: Item, value: Any) -> str | None:
    """Why `value` is not a valid answer to `item`, or None when it is."""
    if value == DECLINED:
        return None
    if value == NOT_ENOUGH_INFO:
        if item.type == "indicator_rating" or instrument.allows_not_enough_info:
            return None
        return "'not_enough_info' is not an answer in a self-administered instrument"
    codes = instrument.codes.get(item.id)
    kind = item.type
    if kind in ("yes_no", "single_choice", "indicator_rating"):
        if not isinstance(value, str) or codes is None or value not in codes:
            return f"{_shown(value)} is not one of its answers ({', '.join(sorted(codes or ()))})"
        return None
    if kind == "multiple_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "needs a list of option codes"
        unknown = [v for v in value if codes is None or v not in codes]
        if unknown:
            return f"{', '.join(map(repr, unknown))} not among its options ({', '.join(sorted(codes or ()))})"
        if len(set(value)) != len(value):
            return "lists the same option twice"
        return None
    if kind == "number":
        return _check_number(item, value)
    if kind == "date":
        if not isinstance(value, str) or len(value) != 10:
            return "needs a date written YYYY-MM-DD"
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not a real date (YYYY-MM-DD)"
        return None
    if kind in ("short_text", "long_text"):
        if not isinstance(value, str):
            return "needs text"
        limit = getattr(item, "max_length", 0)
        return f"is longer than {limit} characters" if len(value) > limit else None
    return "takes no answer"


MAX_NUMBER = 10**12  # no item asks for more; a larger (or infinite) number is refused before any arithmetic


def _shown(value: Any) -> str:
    """A wrong answer as it is quoted in a message: short, and never a huge number written out."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        return "a number that large"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(item: Any, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "needs a number"
    if not -MAX_NUMBER <= value <= MAX_NUMBER:  # False for NaN too
        return f"is outside the range of numbers accepted (at most {MAX_NUMBER:,} either way)"
    if item.integer and not float(value).is_integer():
        return "needs a whole number"
    if item.minimum is not None and value < item.minimum:
        return f"is below the minimum {item.minimum:g}"
    if item.maximum is not None and value > item.maximum:
        return f"is above the maximum {item.maximum:g}"
    return None
