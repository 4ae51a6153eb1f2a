"""How long an answer may carry into a new screening (issue 10, §3: "the instrument language lets an
author say per item or section how long an answer may carry ... or that it never carries").

`carry` is `never` or `{days: N}` on a section or an item; an item's own overrides its section's;
with neither, DEFAULT_CARRY_DAYS. `CompiledInstrument.carry_days(item_id)` gives the look-back in
days, or None when the answer never carries.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import instruments
from instruments.compiled import CompiledInstrument
from instruments.model import DEFAULT_CARRY_DAYS, MAX_CARRY_DAYS
from tests.instruments.malformed_base import BASE, add_item, case, check_one_problem, edit
from tests.support.bundled import bundled_registry

HOME = "    title: {en: Home, es: Hogar}\n"
WORK = "    title: {en: Work, es: Trabajo}\ndomains:\n"  # the work section (the work domain has the same title)
HOURS = "    type: number\n"
FELT_SAFE = "    type: yes_no\n"
NOTICE = "  - id: note\n    section: work\n    type: notice\n    text: {en: A note, es: Una nota}\n"


def section_carry(text: str, marker: str, carry: str) -> str:
    """`text` with `carry` written on the section whose title line starts `marker`."""
    return edit((marker, marker.replace("}\n", f"}}\n    carry: {carry}\n", 1)), text=text)


def item_carry(text: str, marker: str, carry: str) -> str:
    """`text` with `carry` written on the item whose type line is `marker`."""
    return edit((marker, f"{marker}    carry: {carry}\n"), text=text)


def load(text: str) -> CompiledInstrument:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [], "\n".join(map(str, problems))
    assert compiled is not None
    return compiled


def test_with_no_carry_anywhere_every_answer_carries_for_the_default_365_days() -> None:
    compiled = load(add_item(NOTICE))
    assert DEFAULT_CARRY_DAYS == 365
    answered = [i for i in compiled.items if i != "note"]
    assert {i: compiled.carry_days(i) for i in answered} == dict.fromkeys(answered, 365)


def test_a_notice_never_carries_it_takes_no_answer() -> None:
    compiled = load(section_carry(add_item(NOTICE), WORK, "{days: 90}"))
    assert compiled.carry_days("note") is None
    assert compiled.carry_days("hours") == 90


def test_a_section_carry_applies_to_its_items_only() -> None:
    compiled = load(section_carry(BASE, HOME, "never"))
    assert compiled.carry_days("slept_elsewhere") is None
    assert compiled.carry_days("felt_safe") is None
    assert compiled.carry_days("hours") == DEFAULT_CARRY_DAYS  # the work section says nothing
    assert compiled.carry_days("paid_with") == DEFAULT_CARRY_DAYS


def test_an_item_carry_overrides_its_section_both_ways() -> None:
    text = section_carry(BASE, HOME, "never")
    text = item_carry(text, FELT_SAFE, "{days: 30}")  # a look-back inside a never section
    text = section_carry(text, WORK, "{days: 90}")
    text = item_carry(text, HOURS, "never")  # never inside a section with a look-back
    compiled = load(text)
    assert compiled.carry_days("slept_elsewhere") is None
    assert compiled.carry_days("felt_safe") == 30
    assert compiled.carry_days("hours") is None
    assert compiled.carry_days("paid_with") == 90


def test_the_bounds_are_accepted() -> None:
    compiled = load(item_carry(item_carry(BASE, HOURS, "{days: 1}"), FELT_SAFE, f"{{days: {MAX_CARRY_DAYS}}}"))
    assert (compiled.carry_days("hours"), compiled.carry_days("felt_safe")) == (1, 3650)


def test_carry_days_of_an_unknown_item_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        load(BASE).carry_days("no_such_item")


def test_the_json_schema_offers_carry_on_sections_and_answered_items_but_not_notices() -> None:
    schema = instruments.json_schema()
    defs = schema["$defs"]
    expected = [{"const": "never", "type": "string"}, {"$ref": "#/$defs/CarryFor"}, {"type": "null"}]
    assert defs["Section"]["properties"]["carry"]["anyOf"] == expected
    for item_type in ("YesNoItem", "SingleChoiceItem", "IndicatorRatingItem", "NumberItem", "LongTextItem"):
        assert defs[item_type]["properties"]["carry"]["anyOf"] == expected, item_type
    assert defs["CarryFor"]["properties"]["days"] == {"maximum": 3650, "minimum": 1, "title": "Days", "type": "integer"}
    assert defs["CarryFor"]["additionalProperties"] is False
    assert defs["NoticeItem"]["properties"]["carry"]["type"] == "null"


def test_writing_carry_changes_the_content_hash_so_it_needs_a_new_version() -> None:
    assert load(section_carry(BASE, HOME, "never")).content_hash != load(BASE).content_hash
    assert load(item_carry(BASE, HOURS, "{days: 90}")).content_hash != load(BASE).content_hash


BAD_CARRY = [
    case(
        "zero-days-on-a-section",
        section_carry(BASE, HOME, "{days: 0}"),
        "schema",
        "carry: {days: 0}",
        path="sections[0](home).carry",
        phrase="carry days must be a whole number from 1 to 3650, not 0",
    ),
    case(
        "negative-days-on-an-item",
        item_carry(BASE, HOURS, "{days: -1}"),
        "schema",
        "carry: {days: -1}",
        path="items[2](hours).carry",
        phrase="not -1",
    ),
    case(
        "more-than-ten-years",
        item_carry(BASE, HOURS, "{days: 3651}"),
        "schema",
        "carry: {days: 3651}",
        path="items[2](hours).carry",
        phrase="from 1 to 3650, not 3651",
    ),
    case(
        "days-not-a-whole-number",
        item_carry(BASE, HOURS, "{days: 1.5}"),
        "schema",
        "carry: {days: 1.5}",
        path="items[2](hours).carry",
        phrase="whole number",
    ),
    case(
        "days-as-text",
        item_carry(BASE, HOURS, "{days: '90'}"),
        "schema",
        "carry: {days: '90'}",
        path="items[2](hours).carry",
        phrase="not '90'",
    ),
    case(
        "sometimes-is-not-a-policy",
        item_carry(BASE, FELT_SAFE, "sometimes"),
        "schema",
        "carry: sometimes",
        path="items[1](felt_safe).carry",
        phrase="carry must be 'never' or {days: N} with N from 1 to 3650, not 'sometimes'",
    ),
    case(
        "a-bare-number-gets-a-hint",
        item_carry(BASE, FELT_SAFE, "90"),
        "schema",
        "carry: 90",
        path="items[1](felt_safe).carry",
        phrase="write {days: 90}",
    ),
    case(
        "an-unknown-key-beside-days",
        section_carry(BASE, WORK, "{days: 30, weeks: 2}"),
        "schema",
        "carry: {days: 30, weeks: 2}",
        path="sections[1](work).carry",
        phrase="carry must be 'never' or {days: N}",
    ),
    case(
        "carry-on-a-notice",
        add_item(NOTICE + "    carry: never\n"),
        "schema",
        "carry: never",
        path="items[4](note).carry",
        phrase="a notice takes no answer, so it has nothing to carry",
    ),
    case(
        "days-on-a-notice",
        add_item(NOTICE + "    carry: {days: 30}\n"),
        "schema",
        "carry: {days: 30}",
        path="items[4](note).carry",
        phrase="nothing to carry",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "path", "phrase"), BAD_CARRY)
def test_a_bad_carry_is_one_located_plain_problem(
    tmp_path: Path, text: str, code: str, line: str | int, path: str | None, phrase: str | None
) -> None:
    check_one_problem(tmp_path, text, code, line, path, phrase)


# ---- the bundled instruments: 1.2.0 says how long each answer carries; 1.1.0 and 1.0.0 stay as they were ----

REGISTRY = bundled_registry()
IDS = ("tellonce-brief-screen", "tellonce-practitioner-indicators", "tellonce-youth-self-report")
BRIEF, PRACTITIONER, SELF_REPORT = IDS


def bundled(instrument_id: str, version: str) -> CompiledInstrument:
    compiled = REGISTRY.get(instrument_id, version)
    assert compiled is not None, f"{instrument_id} {version}"
    return compiled


def without_carry(compiled: CompiledInstrument) -> dict[str, Any]:
    """The definition as data, with the version and every `carry` taken out."""
    data = compiled.definition.model_dump(mode="json")
    data.pop("version")
    for part in (*data["sections"], *data["items"]):
        part.pop("carry")
    return data


@pytest.mark.parametrize("instrument_id", IDS)
def test_1_2_0_is_1_1_0_plus_carry_and_nothing_else(instrument_id: str) -> None:
    """Same questions, options, provenance ("not validated") and scoring rules: only carry is new."""
    new, old = bundled(instrument_id, "1.2.0"), bundled(instrument_id, "1.1.0")
    assert without_carry(new) == without_carry(old)
    assert new.definition.provenance.validated is False
    assert new.content_hash != old.content_hash
    newest = REGISTRY.get(instrument_id)  # the newest version, which new screenings use (1.3.0 adds screen_again)
    assert newest is not None and newest.version != "1.1.0"
    assert dict(newest.carry) == dict(new.carry)  # carries every answer as 1.2.0 does


@pytest.mark.parametrize("instrument_id", IDS)
def test_every_section_of_1_2_0_says_how_long_its_answers_carry(instrument_id: str) -> None:
    """An explicit decision everywhere: no answer of 1.2.0 falls back to the default unseen."""
    sections = bundled(instrument_id, "1.2.0").definition.sections
    assert [s.id for s in sections if s.carry is None] == []


NEVER_CARRIED = {
    # "How things are now": asked afresh every time, never shown back as "still true?"
    SELF_REPORT: (
        "unsafe_at_home",  # Do you feel unsafe with anyone you live with?
        "id_kept",  # Does someone else keep your ID, papers or phone ...? (its section carries 90 days)
        "tired_hungry",  # Are you often very tired or hungry because of work ...? (its section carries 180)
        "cant_leave",  # Do you feel you can't leave a place, a job or a person ...?
        "threatened",
        "never_alone",  # Does someone go with you almost everywhere ...?
        "afraid_to_answer",  # Are you afraid of what someone would do if they knew you answered these questions?
    ),
    BRIEF: ("kept_from_leaving",),  # Is someone stopping you from leaving a place, a job or a relationship?
}


@pytest.mark.parametrize(
    ("instrument_id", "item_id"), [(i, item) for i, items in NEVER_CARRIED.items() for item in items]
)
def test_a_present_state_question_of_1_2_0_never_carries(instrument_id: str, item_id: str) -> None:
    assert bundled(instrument_id, "1.2.0").carry_days(item_id) is None


def test_a_practitioner_rating_never_carries() -> None:
    """A staff judgement, not the youth's words: never carried as an answer (issue 10, §3)."""
    compiled = bundled(PRACTITIONER, "1.2.0")
    assert len(compiled.items) == 34
    assert {compiled.carry_days(i) for i in compiled.items} == {None}


CARRIED = {
    # recent months: money, relationships, going out; the past year
    (SELF_REPORT, "owes_money"): 90,
    (SELF_REPORT, "older_partner"): 90,
    (SELF_REPORT, "parties_hotels"): 90,
    (SELF_REPORT, "no_safe_place"): 180,  # In the past year ...
    (SELF_REPORT, "not_paid"): 180,
    (BRIEF, "debt_work"): 90,
    (BRIEF, "nowhere_to_sleep"): 180,
    # whether it ever happened: a "yes" stays true, so it carries longer than the default
    (SELF_REPORT, "stayed_away"): 730,
    (SELF_REPORT, "unwanted_touch"): 730,
    (SELF_REPORT, "sex_for_things"): 730,
    (SELF_REPORT, "someone_else_involved"): 730,  # a follow-up in the personal section
    (SELF_REPORT, "made_to_work"): 730,  # its section (work) carries 180
    (SELF_REPORT, "unwanted_tattoo"): 730,  # its section (health) carries 180
    (BRIEF, "forced_work"): 730,
    (BRIEF, "sexual_exchange"): 730,
}


@pytest.mark.parametrize(("key", "days"), [pytest.param(k, d, id="@".join(k)) for k, d in CARRIED.items()])
def test_a_question_about_the_past_of_1_2_0_carries_for_its_look_back(key: tuple[str, str], days: int) -> None:
    instrument_id, item_id = key
    assert bundled(instrument_id, "1.2.0").carry_days(item_id) == days


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
@pytest.mark.parametrize("instrument_id", IDS)
def test_the_published_versions_say_nothing_of_carry_and_carry_for_365_days(instrument_id: str, version: str) -> None:
    compiled = bundled(instrument_id, version)
    assert re.search(r"^\s*-?\s*carry:", Path(compiled.file).read_text(encoding="utf-8"), re.M) is None
    assert all(s.carry is None for s in compiled.definition.sections)
    assert all(i.carry is None for i in compiled.definition.items)
    assert {compiled.carry_days(i) for i in compiled.items} == {DEFAULT_CARRY_DAYS}
