"""When to screen again (issue 11, part 4: "next steps that say 'screen again within N days' set a due
date on the youth's record").

A next step may say `screen_again: {days: N}` (N a whole number from 1 to MAX_SCREEN_AGAIN_DAYS),
counted from the day the screening was completed; with `instrument:` the re-screen is with that
instrument, otherwise with the same one. `CompiledInstrument.rescreen(level)` gives the soonest
re-screen the next steps of an overall level ask for, or None.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import instruments
import scoring
from instruments.compiled import CompiledInstrument, Rescreen
from instruments.model import MAX_SCREEN_AGAIN_DAYS, RESULT_LEVELS
from tests.instruments.malformed_base import BASE, case, check_one_problem
from tests.scoring.test_properties import answer_sets
from tests.support.bundled import bundled_registry

AGAIN_30 = "    - text: {en: Check in again within 30 days, es: Revise de nuevo dentro de 30 días}\n"


def with_steps(steps: str) -> str:
    """BASE with these next steps (YAML under `next_steps:`)."""
    return BASE + "next_steps:\n" + steps


def load(text: str) -> CompiledInstrument:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
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


# ---- the bundled instruments: 1.3.0 says when to screen again; earlier versions stay as they were ----

REGISTRY = bundled_registry()
IDS = ("tellonce-brief-screen", "tellonce-practitioner-indicators", "tellonce-youth-self-report")
BRIEF, PRACTITIONER, SELF_REPORT = IDS


def bundled(instrument_id: str, version: str) -> CompiledInstrument:
    compiled = REGISTRY.get(instrument_id, version)
    assert compiled is not None, f"{instrument_id} {version}"
    return compiled


def steps_of(compiled: CompiledInstrument) -> dict[str, list[dict[str, Any]]]:
    data = compiled.definition.model_dump(mode="json")
    return {level: list(steps) for level, steps in data["next_steps"].items()}


@pytest.mark.parametrize("instrument_id", IDS)
def test_1_3_0_is_1_2_0_plus_screen_again_and_nothing_else(instrument_id: str) -> None:
    """Same questions, options, carry, provenance ("not validated") and scoring rules; the next steps of
    1.2.0 are all there, in order and unchanged; what 1.3.0 adds is screen_again, and steps that say it."""
    new, old = bundled(instrument_id, "1.3.0"), bundled(instrument_id, "1.2.0")
    new_data, old_data = new.definition.model_dump(mode="json"), old.definition.model_dump(mode="json")
    for data in (new_data, old_data):
        data.pop("version")
        data.pop("next_steps")
    assert new_data == old_data
    assert new.definition.provenance.validated is False
    statement = new.definition.provenance.statement
    assert "It has NOT been validated" in statement["en"] and "NO ha sido validad" in statement["es"]
    new_steps, old_steps = steps_of(new), steps_of(old)
    assert new_steps.keys() == old_steps.keys()
    for level, steps in new_steps.items():
        kept = [s for s in steps if s["text"] in [o["text"] for o in old_steps[level]]]
        added = [s for s in steps if s not in kept]
        assert [{**s, "screen_again": None} for s in kept] == old_steps[level], level
        assert all(s["screen_again"] is not None for s in added), level
    assert new.content_hash != old.content_hash
    newest = REGISTRY.get(instrument_id)  # which new screenings use: 1.3.0 or a later version keeping its steps
    assert newest is not None and newest.definition.next_steps == new.definition.next_steps


EXPECTED = {
    # the practitioner's own "Rate again within 30 days" steps
    PRACTITIONER: {"possible_concern": 30, "insufficient_information": 30},
    BRIEF: {"possible_concern": 30, "insufficient_information": 30},
    SELF_REPORT: {"possible_concern": 30, "insufficient_information": 30},
}


@pytest.mark.parametrize("instrument_id", IDS)
def test_1_3_0_asks_to_screen_again_after_a_possible_concern_or_too_little_known_and_never_otherwise(
    instrument_id: str,
) -> None:
    """A clear concern calls for safety, a report and a referral, not a date to ask again; no concern asks
    again only if things change."""
    compiled = bundled(instrument_id, "1.3.0")
    asked = {level: r for level in RESULT_LEVELS if (r := compiled.rescreen(level)) is not None}
    assert {level: r.days for level, r in asked.items()} == EXPECTED[instrument_id]
    assert {r.instrument_id for r in asked.values()} == {instrument_id}  # again with the same instrument


def test_the_practitioner_steps_that_say_rate_again_within_30_days_carry_the_date() -> None:
    for level in ("possible_concern", "insufficient_information"):
        (step,) = [s for s in bundled(PRACTITIONER, "1.3.0").definition.next_steps[level] if s.screen_again]
        assert "again within 30 days" in step.text["en"] and "dentro de 30 días" in step.text["es"]


@pytest.mark.parametrize("instrument_id", IDS)
def test_every_step_with_a_date_says_it_in_every_language(instrument_id: str) -> None:
    """What staff read and what the record shows agree: the step's own words name the days."""
    compiled = bundled(instrument_id, "1.3.0")
    dated = [s for steps in compiled.definition.next_steps.values() for s in steps if s.screen_again]
    assert dated
    for step in dated:
        assert step.screen_again is not None
        for language in compiled.definition.languages:
            assert re.search(rf"\b{step.screen_again.days}\b", step.text[language]), (language, step.text)


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "1.2.0"])
@pytest.mark.parametrize("instrument_id", IDS)
def test_the_published_versions_say_nothing_of_screen_again(instrument_id: str, version: str) -> None:
    compiled = bundled(instrument_id, version)
    assert "screen_again" not in Path(compiled.file).read_text(encoding="utf-8")
    assert all(compiled.rescreen(level) is None for level in RESULT_LEVELS)


EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("instrument_id", IDS)
@EXAMPLES
@given(data=st.data())
def test_1_3_0_scores_every_answer_set_exactly_as_1_2_0(instrument_id: str, data: st.DataObject) -> None:
    """The whole result (levels, reasons, clauses, total, completeness) is the same under both versions;
    only the version it names differs."""
    old, new = bundled(instrument_id, "1.2.0"), bundled(instrument_id, "1.3.0")
    answers = data.draw(answer_sets(old), label="answers")
    before, after = scoring.score(old, answers).to_dict(), scoring.score(new, answers).to_dict()
    assert (before.pop("instrument_version"), after.pop("instrument_version")) == ("1.2.0", "1.3.0")
    assert (before.pop("content_hash"), after.pop("content_hash")) == (old.content_hash, new.content_hash)
    assert after == before
