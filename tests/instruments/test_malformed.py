"""Malformed instrument files, part 1: YAML, the schema, ids and references.

Each case is one targeted edit of the valid instrument in `malformed_base`, and says which problem the
loader must report: its code, the file, the exact line (given as a text that is on that line), and where
useful the path and a phrase of the message. Cases that break logic live in `test_malformed_logic.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from tests.instruments.malformed_base import BASE, RATING_ITEM, SHOW_IF, add_item, case, check_one_problem, edit


def test_the_base_instrument_is_valid(tmp_path: Path) -> None:
    file = tmp_path / "base.yaml"
    file.write_text(BASE, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == []
    assert compiled is not None
    assert compiled.key == ("base-check", "1.0.0")


FILE_CASES = [
    case(
        "yaml-syntax-error",
        edit(("license: CC-BY-4.0", "license: CC BY: 4.0")),
        "yaml",
        "license: CC BY: 4.0",
        phrase="mapping values are not allowed here",
    ),
    case(
        "yaml-unclosed-brace-says-where-it-opened",
        edit(("title: {en: Base check, es: Revisión base}", "title: {en: Base check, es: Revisión base")),
        "yaml",
        "description:",  # where YAML notices; the message names the line where the mapping opened
        phrase="starts on line 3",
    ),
    case(
        "duplicate-yaml-key",
        edit(("    maximum: 168\n", "    maximum: 168\n    minimum: 1\n")),
        "duplicate_key",
        "minimum: 1",
        path="items[2]",
        phrase="'minimum' appears twice",
    ),
    case(
        "alias-that-contains-itself",  # used to recurse until Python gave up with a traceback
        edit(("authors: [TellOnce tests]", "authors: &me [*me]")),
        "yaml",
        "authors: &me",
        phrase="alias to itself",
    ),
    case("not-a-mapping", "- id: base-check\n- version: 1.0.0\n", "not_a_mapping", 1, phrase="must be a mapping"),
    case("empty-file", "", "empty", 1),
    case("only-comments", "# an instrument, one day\n\n", "empty", 1),
]

SCHEMA_CASES = [
    case(
        "missing-required-key",
        edit(("license: CC-BY-4.0\n", "")),
        "schema",
        1,
        path="license",
        phrase="the key 'license' is required",
    ),
    case(
        "item-missing-its-text",
        edit(("    text: {en: Hours worked last week, es: Horas trabajadas la semana pasada}\n", "")),
        "schema",
        "- id: hours",
        path="items[2](hours).text",
        phrase="the key 'text' is required",
    ),
    case(
        "unknown-key",
        edit(("    maximum: 168\n", "    maximum: 168\n    colour: red\n")),
        "schema",
        "colour: red",
        path="items[2](hours).colour",
        phrase="'colour' is not a key",
    ),
    case(
        "misspelt-show_if-is-an-unknown-key",
        edit((SHOW_IF, SHOW_IF.replace("show_if", "show_iff"))),
        "schema",
        "show_iff:",
        path="items[1](felt_safe).show_iff",
    ),
    case(
        "unknown-item-type",
        edit(("type: number", "type: slider")),
        "schema",
        "type: slider",
        path="items[2](hours).type",
        phrase="unknown item type 'slider'",
    ),
    case(
        "item-without-type",
        edit(("    type: number\n", "")),
        "schema",
        "- id: hours",
        path="items[2](hours)",
        phrase="needs a 'type'",
    ),
    case(
        "bad-item-id",
        edit(("- id: hours", "- id: Hours-Worked")),
        "schema",
        "- id: Hours-Worked",
        path="items[2](Hours-Worked).id",
        phrase="'Hours-Worked' is not a valid id",
    ),
    case(
        "bad-indicator-id",
        edit(("{id: work.unpaid,", "{id: Work.Unpaid,")),
        "schema",
        "{id: Work.Unpaid,",
        path="domains[1](work).indicators[1](Work.Unpaid).id",
        phrase="'Work.Unpaid'",
    ),
    case(
        "bad-semver",
        edit(("version: 1.0.0", "version: 1.0.0-beta")),
        "schema",
        "version: 1.0.0-beta",
        path="version",
        phrase="'1.0.0-beta'",
    ),
    case(
        "bad-semver-message-says-what-a-version-is",
        edit(("version: 1.0.0", "version: 1.0.0-beta")),
        "schema",
        "version: 1.0.0-beta",
        path="version",
        phrase="MAJOR.MINOR.PATCH",
    ),
    case(
        "bad-instrument-id-message-allows-dashes",
        edit(("id: base-check", "id: Base_Check")),
        "schema",
        1,
        path="id",
        phrase="dashes",
    ),
    case(
        "default-language-not-in-languages",
        edit(("default_language: en", "default_language: fr")),
        "schema",
        "default_language: fr",
        path="default_language",
        phrase="'fr' is not in languages",
    ),
    case(
        "validated-without-citation",
        edit(("  validated: false", "  validated: true")),
        "schema",
        "validated: true",
        path="provenance",
        phrase="needs a citation",
    ),
    case(
        "option-code-is-a-special-answer",
        edit(("{code: not_sure, label:", "{code: declined, label:")),
        "schema",
        "{code: declined,",
        path="items[0](slept_elsewhere).options[2].code",
        phrase="'declined' is a special answer code",
    ),
    case(
        "indicates-with-both-answers-and-when",
        edit(("answers: [nothing]}", "answers: [nothing], when: \"'nothing' in paid_with\"}")),
        "schema",
        "{indicator: work.unpaid,",
        path="items[3](paid_with).indicates[0]",
        phrase="exactly one of 'answers' or 'when'",
    ),
    case(
        "indicates-with-neither-answers-nor-when",
        edit(("level: clear_concern, answers: [nothing]}", "level: clear_concern}")),
        "schema",
        "{indicator: work.unpaid,",
        path="items[3](paid_with).indicates[0]",
        phrase="exactly one of 'answers' or 'when'",
    ),
    case(
        "number-minimum-above-maximum",
        edit(("    minimum: 0\n", "    minimum: 200\n")),
        "schema",
        "- id: hours",
        path="items[2](hours)",
        phrase="minimum is greater than maximum",
    ),
]

REFERENCE_CASES = [
    case(
        "duplicate-item-id",
        edit(("  - id: paid_with\n", "  - id: felt_safe  # was paid_with\n")),
        "duplicate_id",
        "was paid_with",
        path="items[3](felt_safe).id",
        phrase="item id 'felt_safe' is used twice",
    ),
    case(
        "duplicate-option-code",
        edit(("{code: food, label:", "{code: money, label:")),
        "duplicate_id",
        "{code: money, label: {en: Food",
        path="items[3](paid_with).options[1].code",
        phrase="option id 'money' is used twice",
    ),
    case(
        "duplicate-indicator-id",
        edit(
            (
                "      - {id: work.unpaid, text: {en: Unpaid work, es: Trabajo sin pago}}\n",
                "      - {id: work.unpaid, text: {en: Unpaid work, es: Trabajo sin pago}}\n"
                "      - {id: housing.unstable, text: {en: Again, es: Otra vez}}\n",
            )
        ),
        "duplicate_id",
        "{id: housing.unstable, text: {en: Again",
        path="domains[1](work).indicators[2](housing.unstable).id",
        phrase="indicator id 'housing.unstable' is used twice",
    ),
    case(
        "item-in-unknown-section",
        edit(("    section: work\n    type: number", "    section: leisure\n    type: number")),
        "unknown_section",
        "section: leisure",
        path="items[2](hours).section",
        phrase="section 'leisure', which is not defined",
    ),
    case(
        "empty-section",
        edit(
            (
                "    title: {en: Work, es: Trabajo}\ndomains:",
                "    title: {en: Work, es: Trabajo}\n  - id: leisure\n    title: {en: Leisure, es: Ocio}\ndomains:",
            )
        ),
        "empty_section",
        "- id: leisure",
        path="sections[2](leisure)",
        phrase="section 'leisure' has no items",
    ),
    case(
        "indicates-answer-the-item-does-not-offer",
        edit(("answers: [nothing]}", "answers: [nothing, barter]}")),
        "unknown_option",
        "answers: [nothing, barter]",
        path="items[3](paid_with).indicates[0].answers",
        phrase="does not offer 'barter'",
    ),
    case(
        "indicates-answers-on-a-number-item",
        edit(('when: "hours >= 40"}', "answers: [many]}")),
        "answers_need_choices",
        "answers: [many]",
        path="items[2](hours).indicates[0].answers",
        phrase="use 'when' instead",
    ),
    case(
        "indicates-unknown-indicator",
        edit(
            (
                "{indicator: housing.unstable, level: possible_concern",
                "{indicator: housing.unstabel, level: possible_concern",
            )
        ),
        "unknown_indicator",
        "housing.unstabel",
        path="items[0](slept_elsewhere).indicates[1].indicator",
        phrase="unknown indicator 'housing.unstabel'",
    ),
    case(
        "indicator-rating-of-unknown-indicator",
        add_item(
            RATING_ITEM.replace("indicator: work.unpaid", "indicator: work.unpayed"),
            edit(("modes: [self, interview]", "modes: [practitioner]")),
        ),
        "unknown_indicator",
        "indicator: work.unpayed",
        path="items[4](unpaid_rating).indicator",
        phrase="rates unknown indicator 'work.unpayed'",
    ),
    case(
        "indicator-no-item-feeds",
        edit(("    indicates:\n      - {indicator: work.unpaid, level: clear_concern, answers: [nothing]}\n", "")),
        "unfed_indicator",
        "{id: work.unpaid,",
        path="domains[1](work).indicators[1](work.unpaid).id",
        phrase="no item feeds indicator 'work.unpaid'",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "path", "phrase"), FILE_CASES + SCHEMA_CASES + REFERENCE_CASES)
def test_a_malformed_file_reports_its_problem(
    tmp_path: Path, text: str, code: str, line: str | int, path: str | None, phrase: str | None
) -> None:
    check_one_problem(tmp_path, text, code, line, path, phrase)


def test_an_unreadable_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes(BASE.replace("Revisión", "Revisi\xf3n").encode("latin-1"))
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [(p.code, p.file) for p in problems] == [("unreadable", str(file))]


def test_a_file_that_explodes_through_aliases_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 7)]  # 10**7 values
    file = tmp_path / "lol.yaml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [p.code for p in problems] == ["yaml"]
    assert "aliases" in problems[0].message


def test_a_file_nested_too_deeply_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "deep.yaml"
    file.write_text("authors: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [p.code for p in problems] == ["yaml"]
    assert "nested too deeply" in problems[0].message
