"""When to screen again (issue 11, part 4: "next steps that say 'screen again within N days' set a due
date on the youth's record").

A next step may say `screen_again: {days: N}` (N a whole number from 1 to MAX_SCREEN_AGAIN_DAYS),
counted from the day the screening was completed; with `instrument:` the re-screen is with that
instrument, otherwise with the same one. `CompiledInstrument.rescreen(level)` gives the soonest
re-screen the next steps of an overall level ask for, or None.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from instruments.compiled import CompiledInstrument, Rescreen
from instruments.model import MAX_SCREEN_AGAIN_DAYS, RESULT_LEVELS
from tests.instruments.malformed_base import BASE, case, check_one_problem

AGAIN_30 = "    - text: {en: Check in again within 30 days, es: Revise de nuevo dentro de 30 días}\n"


def with_steps(steps: str) -> str:
    """BASE with these next steps (YAML under `next_steps:`)."""
    return BASE + "next_steps:\n" + steps


def load(text: str) -> CompiledInstrument:
    compiled, problems = instruments.load_text(text)
    assert problems == [], "\n".join(map(str, problems))
    assert compiled is not None
    return compiled


def test_without_screen_again_no_level_asks_for_a_re_screen() -> None:
    compiled = load(with_steps("  possible_concern:\n" + AGAIN_30))
    assert {level: compiled.rescreen(level) for level in RESULT_LEVELS} == dict.fromkeys(RESULT_LEVELS)


def test_a_step_that_says_screen_again_asks_for_the_same_instrument_within_its_days() -> None:
    compiled = load(with_steps("  possible_concern:\n" + AGAIN_30 + "      screen_again: {days: 30}\n"))
    assert compiled.rescreen("possible_concern") == Rescreen(days=30, instrument_id="base-check")
    assert compiled.rescreen("clear_concern") is None  # only the level whose step says so
    assert compiled.rescreen("no_concern") is None


def test_the_soonest_step_of_a_level_wins_and_a_named_instrument_is_the_one_to_use() -> None:
    steps = (
        "  insufficient_information:\n"
        + AGAIN_30
        + "      screen_again: {days: 30}\n"
        + "    - text: {en: Offer the brief check-in within a week, es: Ofrezca la revisión breve en una semana}\n"
        + "      instrument: tellonce-brief-screen\n"
        + "      screen_again: {days: 7}\n"
        + "    - text: {en: Offer the brief check-in, es: Ofrezca la revisión breve}\n"
        + "      instrument: tellonce-brief-screen\n"  # recommends, but sets no date
    )
    compiled = load(with_steps(steps))
    assert compiled.rescreen("insufficient_information") == Rescreen(days=7, instrument_id="tellonce-brief-screen")


def test_the_first_of_two_equally_soon_steps_wins() -> None:
    steps = (
        "  possible_concern:\n"
        + AGAIN_30
        + "      screen_again: {days: 30}\n"
        + "    - text: {en: Offer the brief check-in, es: Ofrezca la revisión breve}\n"
        + "      instrument: tellonce-brief-screen\n"
        + "      screen_again: {days: 30}\n"
    )
    assert load(with_steps(steps)).rescreen("possible_concern") == Rescreen(30, "base-check")


def test_the_bounds_are_accepted() -> None:
    assert MAX_SCREEN_AGAIN_DAYS == 730
    steps = (
        "  possible_concern:\n"
        + AGAIN_30
        + "      screen_again: {days: 1}\n"
        + "  insufficient_information:\n"
        + AGAIN_30
        + "      screen_again: {days: 730}\n"
    )
    compiled = load(with_steps(steps))
    assert compiled.rescreen("possible_concern") == Rescreen(1, "base-check")
    assert compiled.rescreen("insufficient_information") == Rescreen(730, "base-check")


def test_the_json_schema_offers_screen_again_on_next_steps() -> None:
    defs = instruments.json_schema()["$defs"]
    assert defs["NextStep"]["properties"]["screen_again"]["anyOf"] == [
        {"$ref": "#/$defs/ScreenAgain"},
        {"type": "null"},
    ]
    assert defs["ScreenAgain"]["properties"]["days"] == {
        "maximum": 730,
        "minimum": 1,
        "title": "Days",
        "type": "integer",
    }
    assert defs["ScreenAgain"]["additionalProperties"] is False


def test_writing_screen_again_changes_the_content_hash_so_it_needs_a_new_version() -> None:
    plain = load(with_steps("  possible_concern:\n" + AGAIN_30))
    again = load(with_steps("  possible_concern:\n" + AGAIN_30 + "      screen_again: {days: 30}\n"))
    later = load(with_steps("  possible_concern:\n" + AGAIN_30 + "      screen_again: {days: 31}\n"))
    assert len({plain.content_hash, again.content_hash, later.content_hash}) == 3


def bad(days: str) -> str:
    return with_steps("  possible_concern:\n" + AGAIN_30 + f"      screen_again: {days}\n")


PATH = "next_steps.possible_concern[0].screen_again"
BAD_SCREEN_AGAIN = [
    case(
        "zero-days", bad("{days: 0}"), "schema", "screen_again: {days: 0}", PATH, "a whole number from 1 to 730, not 0"
    ),
    case("negative-days", bad("{days: -30}"), "schema", "screen_again: {days: -30}", PATH, "not -30"),
    case("more-than-two-years", bad("{days: 731}"), "schema", "screen_again: {days: 731}", PATH, "to 730, not 731"),
    case("not-a-whole-number", bad("{days: 1.5}"), "schema", "screen_again: {days: 1.5}", PATH, "whole number"),
    case("days-as-text", bad("{days: '30'}"), "schema", "screen_again: {days: '30'}", PATH, "not '30'"),
    case("days-as-true", bad("{days: true}"), "schema", "screen_again: {days: true}", PATH, "not True"),
    case("a-bare-number-gets-a-hint", bad("30"), "schema", "screen_again: 30", PATH, "write {days: 30}"),
    case("a-word", bad("soon"), "schema", "screen_again: soon", PATH, "screen_again must be {days: N}"),
    case("weeks-beside-days", bad("{days: 7, weeks: 1}"), "schema", "screen_again: {days: 7, weeks: 1}", PATH),
    case("no-days", bad("{}"), "schema", "screen_again: {}", PATH, "screen_again must be {days: N}"),
]


@pytest.mark.parametrize(("text", "code", "line", "path", "phrase"), BAD_SCREEN_AGAIN)
def test_a_bad_screen_again_is_one_located_plain_problem(
    tmp_path: Path, text: str, code: str, line: str | int, path: str | None, phrase: str | None
) -> None:
    check_one_problem(tmp_path, text, code, line, path, phrase)
