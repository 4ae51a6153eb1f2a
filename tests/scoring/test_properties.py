"""Properties that hold for every bundled instrument (every version) and every valid set of answers (DESIGN §5).

- a more concerning answer never lowers any level (overall, any domain, any indicator);
- declining, or not enough information, never raises one;
- under `indicator_needs: every_answer` (the 1.1.0 instruments), removing information never turns
  the overall level, a domain or an indicator into no concern unless it already was;
- scoring is deterministic, whatever the order of the answers;
- every reason points at an answer that was given and is visible, names what stands at exactly the
  level it gives, and names clauses of the rule that fired; completeness adds up.

The strategy walks `visibility_order`, decides each item's visibility from the answers drawn so
far (as the engine does), and for a visible item draws a valid answer, `declined`,
`not_enough_info` where allowed, or nothing; one answer set in four answers every shown item.
Hidden items get no answer or `not_asked`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import scoring
from instruments.compiled import CompiledInstrument
from instruments.expressions import Context
from instruments.model import DECLINED, INSUFFICIENT, NOT_ASKED, NOT_ENOUGH_INFO, RESULT_LEVELS, SPECIAL_ANSWERS
from scoring.result import LEVEL_RANK, ScoreResult
from tests.scoring.golden import RULES_OF_1_1_0
from tests.support.bundled import bundled_registry

BUNDLED = bundled_registry().all()
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHOICE_TYPES = ("yes_no", "single_choice", "indicator_rating")


BY_ID = {f"{c.id}@{c.version}": c for c in BUNDLED}  # every version: 1.0.0 stays for its screenings


def each_instrument(test: Any) -> Any:
    # parametrized by id@version, not by the compiled instrument: hypothesis prints the arguments of
    # a failing example, and the instrument's repr is huge (a warning, so an error here)
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
    # hypothesis also tries strings it finds in the code, such as 'not_asked': a text that is a
    # special code is that code, not an informative answer
    return st.text(max_size=limit).filter(lambda text: text not in SPECIAL_ANSWERS)


_STRATEGIES: dict[tuple[str, str, str, bool, bool], st.SearchStrategy[Any]] = {}


def answer_strategy(
    instrument: CompiledInstrument, item_id: str, quiet: bool = False, complete: bool = False
) -> st.SearchStrategy[Any]:
    """Anything a visible item may get: a valid answer, declined, not enough info, or nothing.

    `quiet` leaves out the codes that imply any concern, so that answer sets near the thresholds
    of the rules (where a single answer changes the overall level) come up often; `complete` leaves
    out the special answers and no answer, so that fully answered sets (where an instrument can
    conclude no concern) come up often. Built once per item and kind (the same strategy each draw):
    building them on every draw was most of these tests' time."""
    key = (instrument.id, instrument.version, item_id, quiet, complete)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _answer_strategy(instrument, item_id, quiet, complete)
    return _STRATEGIES[key]


def _answer_strategy(
    instrument: CompiledInstrument, item_id: str, quiet: bool, complete: bool
) -> st.SearchStrategy[Any]:
    special = [] if complete else [None, DECLINED] + ([NOT_ENOUGH_INFO] if allows_nei(instrument, item_id) else [])
    if instrument.items[item_id].type in CHOICE_TYPES:  # one draw: cheaper, and shrinks towards no answer
        codes = sorted(instrument.codes[item_id] or ())
        if quiet:
            quiet_codes = [c for c in codes if not any((implied_ranks(instrument, item_id, c) or {"?": 1}).values())]
            codes = quiet_codes if quiet_codes or special else codes
        return st.sampled_from([*special, *codes])
    if complete:
        return value_strategy(instrument, item_id)
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
    complete = draw(st.integers(0, 3)) == 0  # then every shown item gets an informative answer
    for item_id in instrument.visibility_order:
        condition = instrument.show_if.get(item_id)
        if condition is not None and not condition.truth(context):
            if draw(st.booleans()):
                answers[item_id] = NOT_ASKED
            values[item_id] = NOT_ASKED
            continue
        quiet = mostly_quiet and draw(st.integers(0, 7)) > 0
        value = draw(answer_strategy(instrument, item_id, quiet, complete))
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
    assume(changes)
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
    assume(given_)
    item_id = data.draw(st.sampled_from(given_), label="item")
    replacement = data.draw(
        st.sampled_from([DECLINED, NOT_ENOUGH_INFO] if allows_nei(instrument, item_id) else [DECLINED]),
        label="replacement",
    )
    changed = keep_visible(instrument, {**answers, item_id: replacement})
    before, after = scoring.score(instrument, answers), scoring.score(instrument, changed)
    assert lowered(after, before) == {}, f"{item_id}: {answers[item_id]!r} -> {replacement}"


# Removing information: replacing informative answers by declined (or not enough information where
# it is allowed), then deciding visibility again (a follow-up of a declined gate is hidden, a newly
# shown item is unanswered). Under every_answer, an indicator is no concern only when every item
# feeding it is settled, and a 1.1.0 domain only when all its indicators are no concern; so neither
# can become no concern by losing information. Nor can the overall level: an indicator that lost
# an answer is unknown unless another answer still raises it, and an unknown indicator keeps the
# overall result from no concern. The brief screen's domains have no "possible" rule, so a domain
# with an unknown indicator is clear or insufficient, and its overall "insufficient" rule, which
# looks at domains, sees it. The practitioner tool and the self-report do have one, and it fires
# before "no concern only when every indicator is": a possible domain can hide an unknown
# indicator, so their overall "insufficient" rule looks at indicators as well as domains (before
# it did, both turned results into no concern; the two hand-made cases below are such results).
EVERY_ANSWER = sorted(k for k, c in BY_ID.items() if c.every_answer)


def without_information(instrument: CompiledInstrument, answers: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """`answers` with a drawn, non-empty set of its informative answers declined or not known."""
    given_ = sorted(k for k, v in answers.items() if informative(v))
    removed = data.draw(st.lists(st.sampled_from(given_), min_size=1, unique=True), label="removed")
    changed = dict(answers)
    for item_id in removed:
        specials = [DECLINED, NOT_ENOUGH_INFO] if allows_nei(instrument, item_id) else [DECLINED]
        changed[item_id] = data.draw(st.sampled_from(specials), label=item_id)
    return keep_visible(instrument, changed)


def became_no_concern(before: ScoreResult, after: ScoreResult) -> dict[str, tuple[str, str]]:
    b, a = levels(before), levels(after)
    return {k: (b[k], a[k]) for k in b if a[k] == "no_concern" and b[k] != "no_concern"}


@pytest.mark.parametrize("instrument_id", EVERY_ANSWER)
@EXAMPLES
@given(data=st.data())
def test_removing_information_never_concludes_no_concern(instrument_id: str, data: st.DataObject) -> None:
    instrument = BY_ID[instrument_id]
    answers = data.draw(answer_sets(instrument), label="answers")
    assume(any(informative(v) for v in answers.values()))
    changed = without_information(instrument, answers, data)
    before, after = scoring.score(instrument, answers), scoring.score(instrument, changed)
    assert became_no_concern(before, after) == {}


def test_every_instrument_from_1_1_0_on_is_tested_for_removing_information() -> None:
    """The removal property runs on every 1.1.0 and later instrument, with no exception."""
    from_1_1_0 = sorted(k for k in BY_ID if not k.endswith("@1.0.0"))
    assert from_1_1_0 == EVERY_ANSWER
    assert from_1_1_0 == [
        "tellonce-brief-screen@1.1.0",
        "tellonce-brief-screen@1.2.0",
        "tellonce-brief-screen@1.3.0",
        "tellonce-brief-screen@1.4.0",
        "tellonce-practitioner-indicators@1.1.0",
        "tellonce-practitioner-indicators@1.2.0",
        "tellonce-practitioner-indicators@1.3.0",
        "tellonce-youth-self-report@1.1.0",
        "tellonce-youth-self-report@1.2.0",
        "tellonce-youth-self-report@1.3.0",
    ]


def test_the_1_0_0_practitioner_tool_concludes_no_concern_when_information_is_removed() -> None:
    """Why 1.1.0 exists: under 1.0.0 a clear key indicator rated 'not enough information' instead
    leaves its domain "no concern" (one rated line is enough) and the overall result no concern."""
    v100 = BY_ID["tellonce-practitioner-indicators@1.0.0"]
    v110 = BY_ID["tellonce-practitioner-indicators@1.1.0"]
    every_line_no = {f"rate_{i.replace('.', '_')}": "no_concern" for i in v100.all_indicators}
    answers = every_line_no | {"rate_housing_exchange": "clear_concern"}
    removed = every_line_no | {"rate_housing_exchange": NOT_ENOUGH_INFO}

    before, after = scoring.score(v100, answers), scoring.score(v100, removed)
    assert (before.overall, before.domain("housing").level) == ("clear_concern", "clear_concern")
    assert (after.overall, after.domain("housing").level) == ("no_concern", "no_concern")
    assert became_no_concern(before, after) == {
        "overall": ("clear_concern", "no_concern"),
        "domain housing": ("clear_concern", "no_concern"),
    }
    # 1.1.0, the same answers: the line is unknown, so the housing domain and the result are insufficient
    after = scoring.score(v110, removed)
    assert (after.overall, after.domain("housing").level) == (INSUFFICIENT, INSUFFICIENT)
    assert after.reason.indicators == ("housing.exchange",) and after.reason.domains == ("housing",)


# A possible domain hiding an indicator that lost its answer, by hand: the overall result is
# insufficient by the second part of rule 3 (no domain is insufficient). Under the first 1.1.0 rule 3
# ("insufficient when a domain is") both gave no concern.


@pytest.mark.parametrize("version", RULES_OF_1_1_0)
def test_1_1_0_practitioner_a_clear_key_line_not_known_is_insufficient(version: str) -> None:
    instrument = BY_ID[f"tellonce-practitioner-indicators@{version}"]
    every_line_no = {f"rate_{i.replace('.', '_')}": "no_concern" for i in instrument.all_indicators}
    answers = every_line_no | {"rate_housing_runaway": "possible_concern", "rate_housing_exchange": "clear_concern"}
    assert scoring.score(instrument, answers).overall == "clear_concern"
    # the key line is now unknown and the housing domain possible (housing.runaway)
    removed = answers | {"rate_housing_exchange": NOT_ENOUGH_INFO}
    after = scoring.score(instrument, removed)
    assert (after.overall, after.domain("housing").level) == (INSUFFICIENT, "possible_concern")
    assert (after.reason.rule, after.reason.indicators, after.reason.domains) == (3, ("housing.exchange",), ())
    assert [(c.source, c.members) for c in after.reason.clauses] == [
        ("any(indicators, level='unknown')", ("housing.exchange",))
    ]
    assert became_no_concern(scoring.score(instrument, answers), after) == {}


@pytest.mark.parametrize("version", RULES_OF_1_1_0)
def test_1_1_0_self_report_declining_the_clear_answer_of_a_domain_is_insufficient(version: str) -> None:
    instrument = BY_ID[f"tellonce-youth-self-report@{version}"]
    all_no = {i: "no" for i in instrument.visibility_order if i not in instrument.show_if}
    answers = all_no | {"unwanted_touch": "not_sure", "hurt_by_caregiver": "yes"}
    assert scoring.score(instrument, answers).overall == "possible_concern"  # one clear domain: trauma
    # trauma.physical_abuse (not key) is now unknown and trauma possible (trauma.sexual_abuse)
    removed = answers | {"hurt_by_caregiver": DECLINED}
    after = scoring.score(instrument, removed)
    assert (after.overall, after.domain("trauma").level) == (INSUFFICIENT, "possible_concern")
    assert (after.reason.rule, after.reason.indicators, after.reason.domains) == (3, (), ())
    assert [(c.source, c.members) for c in after.reason.clauses] == [
        ("any(indicators, level='unknown')", ("trauma.physical_abuse",))
    ]
    assert became_no_concern(scoring.score(instrument, answers), after) == {}


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

    values = scoring.check_answers(instrument, answers)
    indicator_levels = {i.id: i.level for i in result.indicators}

    assert result.overall in RESULT_LEVELS
    assert [i.id for i in result.indicators] == list(instrument.all_indicators)
    for indicator in result.indicators:
        feeding = {f.item_id for f in instrument.feeds[indicator.id]}
        if indicator.level == "unknown":
            assert not indicator.evidence, indicator
        elif not indicator.evidence:
            # only under every_answer: no concern because the answers given hid every item feeding it
            assert instrument.every_answer and indicator.level == "no_concern", indicator
            assert all(values[i] == NOT_ASKED for i in feeding), indicator
        for evidence in indicator.evidence:
            assert evidence.item_id in shown, evidence
            assert evidence.item_id in feeding, evidence
            assert informative(answers.get(evidence.item_id)), evidence
            assert evidence.answer == answers[evidence.item_id]
            assert evidence.level == indicator.level

    assert [d.id for d in result.domains] == list(instrument.domain_indicators)
    for domain in result.domains:
        members = instrument.domain_indicators[domain.id]
        nothing_known = all(indicator_levels[i] == "unknown" for i in members)
        assert (domain.reason.rule == 0) == nothing_known, domain
        if nothing_known:
            assert (domain.level, domain.reason.indicators, domain.reason.clauses) == (INSUFFICIENT, (), ()), domain
            continue
        rule = instrument.definition.scoring.domain[domain.reason.rule - 1]
        assert rule.level == domain.level
        wanted = {"no_concern": None, INSUFFICIENT: "unknown"}.get(domain.level, domain.level)
        assert domain.reason.indicators == tuple(i for i in members if indicator_levels[i] == wanted), domain
        assert_clauses_of(rule.when, domain.reason.clauses)

    rule = instrument.definition.scoring.overall[result.reason.rule - 1]
    assert result.reason.rule >= 1 and rule.level == result.overall
    key_level = "unknown" if result.overall == INSUFFICIENT else result.overall
    concluded = result.overall != "no_concern"
    keys = instrument.key_indicators_in_order
    assert result.reason.indicators == tuple(i for i in keys if concluded and indicator_levels[i] == key_level)
    assert result.reason.domains == tuple(d.id for d in result.domains if concluded and d.level == result.overall)
    assert_clauses_of(rule.when, result.reason.clauses)

    for section in instrument.definition.sections:
        section_values = [values[i] for i in shown if instrument.items[i].section == section.id]
        skipped = bool(section_values) and not any(informative(v) for v in section_values)
        assert (section.id in result.skipped_sections) == skipped, section.id


def assert_clauses_of(when: str | None, clauses: tuple[Any, ...]) -> None:
    """A rule without a condition names no clause; one with a condition names true parts of it."""
    if when is None:
        assert clauses == ()
        return
    assert clauses, when
    for clause in clauses:
        assert clause.source in when, (clause, when)


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


@each_instrument
@EXAMPLES
@given(data=st.data())
def test_the_result_as_a_dict_is_what_dataclasses_asdict_gives(instrument_id: str, data: st.DataObject) -> None:
    """`to_dict` skips `asdict`'s deep copies (issue 14) but must store the very same result."""
    instrument = BY_ID[instrument_id]
    result = scoring.score(instrument, data.draw(answer_sets(instrument), label="answers"))
    assert result.to_dict() == asdict(result)
