"""Schema errors read as plain messages with the file and line, and never hide the file's other problems.

Issue 15: "raw Pydantic messages reaching instrument authors ... and a schema error hiding every other
check". Each case below is one broken variant of the base instrument that reached the author with
Pydantic's own wording before; the message it showed then is kept beside the case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from tests.instruments.malformed_base import BASE, add_item, edit, line_with

PYDANTIC_WORDING = (
    "Input should",
    "Field required",
    "Extra inputs are not permitted",
    "after validation",
    "Tuple should",
    "Value error",
    "valid dictionary",
    "valid tuple",
    "unable to",
    "discriminator",
    "union",
    "fractional part",
    "type=",
)

SHORT_TEXT = "  - {id: note, section: work, type: short_text, text: {en: a, es: a}, max_length: %s}\n"

# (id, broken text, text on the error's line (or its number), phrase of the plain message, the message before issue 15)
CASES = [
    (
        "too-few-options",
        edit(
            (
                "      - {code: no, label: {en: No, es: No}}\n"
                "      - {code: not_sure, label: {en: Not sure, es: No sé}, weight: 1}\n",
                "",
            )
        ),
        34,  # the options of slept_elsewhere
        "a single_choice item needs at least 2 options; this one has 1",
        "Tuple should have at least 2 items after validation, not 1",
    ),
    (
        "unknown-mode",
        edit(("modes: [self, interview]", "modes: [self, phone]")),
        "modes:",
        "'phone' is not a mode; write one of 'practitioner', 'interview' or 'self'",
        "Input should be 'practitioner', 'interview' or 'self'",
    ),
    (
        "unknown-indicates-level",
        edit(("level: clear_concern, answers: [nothing]", "level: high, answers: [nothing]")),
        "answers: [nothing]",
        "'high' is not a level; write one of 'possible_concern' or 'clear_concern'",
        "Input should be 'possible_concern' or 'clear_concern'",
    ),
    (
        "text-not-in-languages",
        edit(("title: {en: Base check, es: Revisión base}", "title: Base check")),
        "title: Base check",
        "'title' must give the text in each language, like {en: ..., es: ...}; this is the text 'Base check'",
        "Input should be a valid dictionary",
    ),
    (
        "empty-title",
        edit(("title: {en: Base check, es: Revisión base}", "title:")),
        3,
        "'title' must give the text in each language",
        "Input should be a valid dictionary",
    ),
    (
        "not-true-or-false",
        edit(("  validated: false", "  validated: maybe")),
        "validated: maybe",
        "'validated' must be true or false; this is the text 'maybe'",
        "Input should be a valid boolean, unable to interpret input",
    ),
    (
        "not-a-number",
        edit(("    maximum: 168", "    maximum: lots")),
        "maximum: lots",
        "'maximum' must be a number; this is the text 'lots'",
        "Input should be a valid number, unable to parse string as a number",
    ),
    (
        "not-a-whole-number",
        add_item(SHORT_TEXT % "2.5"),
        "max_length: 2.5",
        "'max_length' must be a whole number; this is the number 2.5",
        "Input should be a valid integer, got a number with a fractional part",
    ),
    (
        "number-too-small",
        add_item(SHORT_TEXT % "0"),
        "max_length: 0",
        "'max_length' must be more than 0; this is the number 0",
        "Input should be greater than 0",
    ),
    (
        "number-too-large",
        add_item(SHORT_TEXT % "900"),
        "max_length: 900",
        "'max_length' must be at most 500; this is the number 900",
        "Input should be less than or equal to 500",
    ),
    (
        "empty-list",
        edit(("authors: [TellOnce tests]", "authors: []")),
        "authors:",
        "'authors' needs at least 1 author; this one has 0",
        "Tuple should have at least 1 item after validation, not 0",
    ),
    (
        "text-instead-of-list",
        edit(("authors: [TellOnce tests]", "authors: TellOnce tests")),
        "authors:",
        "'authors' must be a list (entries on lines starting with '- ', or [a, b]); this is the text 'TellOnce tests'",
        "Input should be a valid tuple",
    ),
    (
        "item-not-a-mapping",
        add_item("  - just text\n"),
        "- just text",
        "each entry of 'items' must be a mapping of keys to values (like id: ...); this one is the text 'just text'",
        "Input should be a valid dictionary or object to extract fields from",
    ),
    (
        "number-instead-of-text",
        edit(("license: CC-BY-4.0", "license: 4")),
        "license: 4",
        "'license' must be text; this is the number 4; put it in quotes",
        "Input should be a valid string",
    ),
    (
        "next-steps-under-unknown-level",
        BASE + "next_steps:\n  high: [{text: {en: a, es: a}}]\n",
        "high:",
        "'high' is not a level (next_steps are listed under an overall level); write one of",
        "Input should be 'insufficient_information', 'no_concern', 'possible_concern' or 'clear_concern'",
    ),
    (
        "translation-not-text",
        edit(("title: {en: Base check, es: Revisión base}", "title: {en: Base check, es: [x]}")),
        3,
        "the 'es' text must be plain text; this is a list",
        "Input should be a valid string",
    ),
    (
        "unknown-indicator-needs",
        edit(("scoring:\n  domain:", "scoring:\n  indicator_needs: all\n  domain:")),
        "indicator_needs: all",
        "'all' is not a value 'indicator_needs' can take; write one of 'one_answer' or 'every_answer'",
        "Input should be 'one_answer' or 'every_answer'",
    ),
    (
        "missing-key",
        edit(("license: CC-BY-4.0", "license: CC-BY-4.0\ncodes: [{system: x}]")),
        "codes: [{system: x}]",
        "the key 'code' is required here: add it",
        "Field required (already plain before; kept so it stays plain)",
    ),
]


@pytest.mark.parametrize(("text", "marker", "phrase", "before"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_schema_error_reads_as_a_plain_message(
    tmp_path: Path, text: str, marker: str, phrase: str, before: str
) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    schema = [p for p in problems if p.code == "schema"]
    assert len(schema) == 1, "\n".join(map(str, problems))
    problem = schema[0]
    assert phrase in problem.message, str(problem)
    assert problem.file == str(file)
    assert problem.line == (marker if isinstance(marker, int) else line_with(text, marker)), str(problem)
    assert not [w for w in PYDANTIC_WORDING if w.lower() in problem.message.lower()], str(problem)
    assert before not in problem.message


def test_a_schema_error_does_not_hide_the_other_problems(tmp_path: Path) -> None:
    """One item with a schema error, a rule with an expression error and a missing translation: all three."""
    text = edit(
        ("    maximum: 168", "    maximum: lots"),
        ("sum(weights) >= 1", "sum(weight) >= 1"),
        ("statement: {en: Written for tests, es: Escrito para pruebas}", "statement: {en: Written for tests}"),
    )
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    found = {(p.code, p.line) for p in problems}
    assert found == {
        ("schema", line_with(text, "maximum: lots")),
        ("expression", line_with(text, "sum(weight) >= 1")),
        ("missing_translation", line_with(text, "statement:")),
    }, "\n".join(map(str, problems))


def test_a_cut_item_does_not_make_its_references_look_wrong(tmp_path: Path) -> None:
    """An item left out for its schema error is still the item a show_if names: no invented second problem."""
    text = edit(("    type: single_choice\n", "    type: single_choice\n    required: true\n"))
    loaded_result = instruments.load(text=text)
    _compiled, problems = loaded_result.instrument, loaded_result.problems
    assert [p.code for p in problems] == ["schema"], "\n".join(map(str, problems))
    assert "'required' is not a key this part of an instrument can have" in problems[0].message
