"""Properties that hold for every bundled instrument and every valid set of answers (DESIGN §5).

- a more concerning answer never lowers any level (overall, any domain, any indicator);
- declining, or not enough information, never raises one;
- scoring is deterministic, whatever the order of the answers;
- every reason points at an answer that was given and is visible, and completeness adds up.

The strategy walks `visibility_order`, decides each item's visibility from the answers drawn so
far (as the engine does), and for a visible item draws a valid answer, `declined`,
`not_enough_info` where allowed, or nothing. Hidden items get no answer or `not_asked`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import instruments
import scoring
from instruments.compiled import CompiledInstrument
from instruments.expressions import Context
from instruments.loader import BUNDLED_DIR
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, SPECIAL_ANSWERS
from scoring.result import LEVEL_RANK, ScoreResult

BUNDLED = instruments.load_or_raise([BUNDLED_DIR]).all()
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHOICE_TYPES = ("yes_no", "single_choice", "indicator_rating")


BY_ID = {c.id: c for c in BUNDLED}


def each_instrument(test: Any) -> Any:
    # parametrized by id, not by the compiled instrument: hypothesis prints the arguments of a
    # failing example, and the instrument's repr is huge (a warning, so an error here)
    return pytest.mark.parametrize("instrument_id", sorted(BY_ID))(test)


# ---- what answers are valid, and which is more concerning ----


def informative(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value in SPECIAL_ANSWERS)


def allows_nei(instrument: CompiledInstrument, item_id: str) -> bool:
    return instrument.allows_not_enough_info or instrument.items[item_id].type == "indicator_rating"


def value_strategy(instrument: CompiledInstrument, item_id: str) -> st.SearchStrategy[Any]:
    """A valid, informative answer to one item."""
    item = instrument.items[item_id]
    codes = sorted(instrument.codes.get(item_id) or ())
    if item.type in CHOICE_TYPES:
        return st.sampled_from(codes)
    if item.type == "multiple_choice":
        return st.lists(st.sampled_from(codes), unique=True)
    if item.type == "number":
        low = int(item.minimum) if item.minimum is not None else -1000
        high = int(item.maximum) if item.maximum is not None else 1000
        return st.integers(low, high)
    if item.type == "date":
        return st.dates(datetime.date(1990, 1, 1), datetime.date(2040, 12, 31)).map(datetime.date.isoformat)
    limit = min(getattr(item, "max_length", 20), 20)
    return st.text(max_size=limit)


def answer_strategy(instrument: CompiledInstrument, item_id: str, quiet: bool = False) -> st.SearchStrategy[Any]:
    """Anything a visible item may get: a valid answer, declined, not enough info, or nothing.

    `quiet` leaves out the codes that imply any concern, so that answer sets near the thresholds
    of the rules (where a single answer changes the overall level) come up often."""
    special = [None, DECLINED] + ([NOT_ENOUGH_INFO] if allows_nei(instrument, item_id) else [])
    if instrument.items[item_id].type in CHOICE_TYPES:  # one draw: cheaper, and shrinks towards no answer
        codes = sorted(instrument.codes[item_id] or ())
        if quiet:
            codes = [c for c in codes if not any((implied_ranks(instrument, item_id, c) or {"?": 1}).values())]
        return st.sampled_from([*special, *codes])
    return st.one_of(st.sampled_from(special), value_strategy(instrument, item_id))


def visible_items(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> set[str]:
    """The items that `answers` leave visible, evaluated as the engine does."""
    values: dict[str, Any] = {}
    context = Context(values)
    shown = set()
    for item_id in instrument.visibility_order:
        condition = instrument.show_if.get(item_id)
        if condition is not None and not condition.truth(context):
            values[item_id] = NOT_ASKED
            continue
        shown.add(item_id)
        values[item_id] = answers.get(item_id)
    return shown


def keep_visible(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` without the answers to items they hide; newly shown items stay unanswered
    (a `not_asked` sent for an item that is now shown is dropped too)."""
    shown = visible_items(instrument, answers)
    return {k: v for k, v in answers.items() if k in shown and v != NOT_ASKED}


@st.composite
def answer_sets(draw: st.DrawFn, instrument: CompiledInstrument) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    values: dict[str, Any] = {}
    context = Context(values)
    mostly_quiet = draw(st.booleans())  # then about one item in eight may imply a concern
    for item_id in instrument.visibility_order:
        condition = instrument.show_if.get(item_id)
        if condition is not None and not condition.truth(context):
            if draw(st.booleans()):
                answers[item_id] = NOT_ASKED
            values[item_id] = NOT_ASKED
            continue
        quiet = mostly_quiet and draw(st.integers(0, 7)) > 0
        value = draw(answer_strategy(instrument, item_id, quiet))
        if value is not None:
            answers[item_id] = value
        values[item_id] = value
    return answers


def implied_ranks(instrument: CompiledInstrument, item_id: str, code: Any) -> dict[str, int] | None:
    """The rank each fed indicator takes from answering `code`; None when the item has no simple order."""
    ranks: dict[str, int] = {}
    for indicator, feeds in instrument.feeds.items():
        for feed in feeds:
            if feed.item_id != item_id:
                continue
            if not informative(code):
                rank = 0  # unknown ranks like no concern
            elif feed.rating:
                rank = LEVEL_RANK[code]
            elif feed.answers is not None:
                rank = LEVEL_RANK[feed.level] if code in feed.answers else 0
            else:
                return None  # a `when` feed: no per-code order
            ranks[indicator] = max(ranks.get(indicator, 0), rank)
    return ranks


def more_concerning_changes(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (item, code) that is at least as concerning as the item's current answer, for every
    indicator the item feeds; from declined, not enough info or no answer, every code is."""
    changes = []
    for item_id in sorted(visible_items(instrument, answers)):
        if instrument.items[item_id].type not in CHOICE_TYPES:
            continue
        current = answers.get(item_id)
        before = implied_ranks(instrument, item_id, current)
        if not before:  # feeds nothing, or has no simple order
            continue
        for code in sorted(instrument.codes[item_id] or ()):
            after = implied_ranks(instrument, item_id, code)
            if code != current and after is not None and all(after[i] >= before[i] for i in before):
                changes.append((item_id, code))
    return changes


def levels(result: ScoreResult) -> dict[str, str]:
    out = {"overall": result.overall}
    out.update({f"domain {d.id}": d.level for d in result.domains})
    out.update({f"indicator {i.id}": i.level for i in result.indicators})
    return out


def lowered(before: ScoreResult, after: ScoreResult) -> dict[str, tuple[str, str]]:
    b, a = levels(before), levels(after)
    return {k: (b[k], a[k]) for k in b if LEVEL_RANK[a[k]] < LEVEL_RANK[b[k]]}


# ---- the properties ----


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_more_concerning_answer_never_lowers_a_level(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    changes = more_concerning_changes(instrument, answers)
    if not changes:
        return
    item_id, code = data.draw(st.sampled_from(changes), label="change")
    changed = keep_visible(instrument, {**answers, item_id: code})
    before, after = scoring.score(instrument, answers), scoring.score(instrument, changed)
    assert lowered(before, after) == {}, f"{item_id}: {answers.get(item_id)!r} -> {code!r}"


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_declining_never_raises_a_level(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    given_ = sorted(k for k, v in answers.items() if informative(v))
    if not given_:
        return
    item_id = data.draw(st.sampled_from(given_), label="item")
    replacement = data.draw(
        st.sampled_from([DECLINED, NOT_ENOUGH_INFO] if allows_nei(instrument, item_id) else [DECLINED]),
        label="replacement",
    )
    changed = keep_visible(instrument, {**answers, item_id: replacement})
    before, after = scoring.score(instrument, answers), scoring.score(instrument, changed)
    assert lowered(after, before) == {}, f"{item_id}: {answers[item_id]!r} -> {replacement}"


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_scoring_is_deterministic(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    first = scoring.score(instrument, answers)
    assert scoring.score(instrument, answers) == first
    assert scoring.score(instrument, dict(reversed(answers.items()))) == first
    shuffled = data.draw(st.permutations(list(answers.items())), label="order")
    again = scoring.score(instrument, dict(shuffled))
    assert again == first
    assert again.to_dict() == first.to_dict()


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_reasons_point_at_visible_informative_answers(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    result = scoring.score(instrument, answers)
    shown = visible_items(instrument, answers)
    indicator_levels = {i.id: i.level for i in result.indicators}

    assert result.overall in ("no_concern", "possible_concern", "clear_concern")
    assert [i.id for i in result.indicators] == list(instrument.all_indicators)
    for indicator in result.indicators:
        feeding = {f.item_id for f in instrument.feeds[indicator.id]}
        assert (indicator.level == "unknown") == (not indicator.evidence), indicator
        for evidence in indicator.evidence:
            assert evidence.item_id in shown, evidence
            assert evidence.item_id in feeding, evidence
            assert informative(answers.get(evidence.item_id)), evidence
            assert evidence.answer == answers[evidence.item_id]
            assert evidence.level == indicator.level

    assert [d.id for d in result.domains] == list(instrument.domain_indicators)
    for domain in result.domains:
        members = instrument.domain_indicators[domain.id]
        assert set(domain.reason.indicators) <= set(members), domain
        assert all(indicator_levels[i] == domain.level for i in domain.reason.indicators), domain
        assert (domain.level == "unknown") == all(indicator_levels[i] == "unknown" for i in members)
        assert (domain.reason.rule == 0) == (domain.level == "unknown")

    assert set(result.reason.indicators) <= instrument.key_indicators
    assert set(result.reason.domains) <= set(instrument.domain_indicators)
    assert result.reason.rule >= 1


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_completeness_adds_up(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    c = scoring.score(instrument, answers).completeness
    shown = visible_items(instrument, answers)
    answerable = instrument.visibility_order
    assert c.total == len(answerable)
    assert c.answered + c.declined + c.not_enough_info + c.not_asked + c.unanswered == c.total
    assert c.not_asked == len(answerable) - len(shown)
    assert c.answered == sum(1 for i in shown if informative(answers.get(i)))
    assert c.declined == sum(1 for i in shown if answers.get(i) == DECLINED)
    assert c.not_enough_info == sum(1 for i in shown if answers.get(i) == NOT_ENOUGH_INFO)
    assert c.unanswered == sum(1 for i in shown if answers.get(i) is None)
