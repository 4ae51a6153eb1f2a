"""What `tellonce instruments validate` tells an author about a file with schema errors (issue 15, item 8).

Four gaps the audit found, each as the output a person reads: warnings were dropped when the file had any
schema error; a section whose only fault was its title also read as "'sections' needs at least 1
section; this one has 0"; every schema problem had the same generic hint; and expression messages
repeated the key the path already named ("show_if: show_if: unknown item ...").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import instruments
from app.cli import cli
from instruments.problems import CATALOGUE, SCHEMA_KINDS
from instruments.schema_messages import KIND_OF_ERROR
from tests.instruments.malformed_base import BASE, SHOW_IF, edit, line_with

NOT_YES = (SHOW_IF, "show_if: \"slept_elsewhere != 'yes'\"")
"""A show_if that loads with an unanswered_comparison warning."""

FLAT_TITLE = ("title: {en: Base check, es: Revisión base}", "title: Base check")
"""A schema error far from the show_if: the instrument's title not given per language."""

ONE_SECTION = edit(("  - id: work\n    title: {en: Work, es: Trabajo}\ndomains", "domains"), text=BASE).replace(
    "section: work", "section: home"
)
"""The base instrument with all its items in one section, `home`."""


def validate(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    """Run `tellonce instruments validate` on `text` as a file; the file and the lines it printed."""
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["instruments", "validate", str(file)])
    assert result.exit_code == 1, result.output
    return file, result.stderr.splitlines()


def test_a_warning_is_given_beside_a_schema_error(tmp_path: Path) -> None:
    text = edit(FLAT_TITLE, NOT_YES)
    result = instruments.load(text=text)
    assert [p.code for p in result.problems] == ["schema"]
    assert [(w.code, w.line, w.path) for w in result.warnings] == [
        ("unanswered_comparison", line_with(text, "!= 'yes'"), "items[1](felt_safe).show_if")
    ]
    file, lines = validate(tmp_path, text)
    warning = next(line for line in lines if line.startswith("warning: "))
    assert warning.startswith(f"warning: {file}:{line_with(text, '!= ')}: items[1](felt_safe).show_if: ")
    assert "is false when 'slept_elsewhere' is unanswered" in warning
    assert lines[-1] == "1 problem(s) found."


def test_a_warning_is_given_beside_a_problem_of_logic(tmp_path: Path) -> None:
    text = edit(NOT_YES, ('when: "sum(weights) >= 1"', 'when: "sum(weight) >= 1"'))
    result = instruments.load(text=text)
    assert [p.code for p in result.problems] == ["expression"]
    assert [w.code for w in result.warnings] == ["unanswered_comparison"]


def test_a_warning_stays_when_only_a_text_beside_it_is_broken() -> None:
    # felt_safe's own text is broken: a stand-in takes its place, so its show_if is still checked
    text = edit(NOT_YES, ("{en: 'Did you feel safe there?', es: '¿Te sentiste seguro allí?'}", "7"))
    result = instruments.load(text=text)
    assert [p.code for p in result.problems] == ["schema"]
    assert [w.code for w in result.warnings] == ["unanswered_comparison"]


def test_a_warning_on_an_item_cut_for_its_schema_error_waits_until_it_is_fixed() -> None:
    text = edit(NOT_YES, ("    type: yes_no\n", "    type: slider\n"))
    result = instruments.load(text=text)
    assert [p.code for p in result.problems] == ["schema"]
    assert result.warnings == []


@pytest.mark.parametrize(
    ("case", "text", "broken"),
    [
        (
            "the only section's title",
            edit(("    title: {en: Home, es: Hogar}", "    title: Home"), text=ONE_SECTION),
            15,
        ),
        (
            "a domain's only indicator's text",
            edit(("text: {en: Unstable housing, es: Vivienda inestable}", "text: Unstable")),
            "text: Unstable",
        ),
        ("one of two options' label", edit(("label: {en: Money, es: Dinero}", "label: Money")), "label: Money"),
    ],
)
def test_an_entry_with_its_own_error_does_not_make_its_list_too_short(
    tmp_path: Path, case: str, text: str, broken: str | int
) -> None:
    result = instruments.load(text=text)
    line = broken if isinstance(broken, int) else line_with(text, broken)
    assert [(p.code, p.line) for p in result.problems] == [("schema", line)], "\n".join(map(str, result.problems))
    assert "needs at least" not in str(result.problems[0])


def test_a_list_really_too_short_says_how_many_it_has() -> None:
    text = edit(
        (
            "      - {code: money, label: {en: Money, es: Dinero}}\n"
            "      - {code: food, label: {en: Food, es: Comida}}\n",
            "      - {code: money, label: Money}\n",
        ),
        ("      - {code: nothing, label: {en: Nothing, es: Nada}, weight: 2}\n", ""),
        ("answers: [nothing]", "when: \"'money' in paid_with\""),
    )
    messages = [p.message for p in instruments.load(text=text).problems]
    assert "a multiple_choice item needs at least 2 options; this one has 1" in messages


NOTE = "  - {id: note, section: work, type: short_text, text: {en: a, es: a}, max_length: 0}\n"
"""A short text item that may hold no characters at all."""

# (kind, an edit of the base instrument that makes one schema problem of that kind, text on its line)
KIND_CASES = [
    ("missing_key", ("    text: {en: 'Did you feel safe there?', es: '¿Te sentiste seguro allí?'}\n", ""), None),
    ("unknown_key", ("    minimum: 0\n", "    minimum: 0\n    colour: red\n"), "colour: red"),
    ("wrong_type", ("  validated: false", "  validated: maybe"), "validated: maybe"),
    ("text_by_language", FLAT_TITLE, "title: Base check"),
    (
        "out_of_range",
        ("scoring:\n", f"{NOTE}scoring:\n"),
        "max_length: 0",
    ),
    ("bad_pattern", ("id: base-check", "id: Base Check"), "id: Base Check"),
    ("not_a_choice", ("modes: [self, interview]", "modes: [self, phone]"), "modes:"),
    ("item_type", ("    type: yes_no\n", "    type: slider\n"), "type: slider"),
    ("invalid_value", ("    minimum: 0\n", "    minimum: 200\n"), None),
]


@pytest.mark.parametrize(("kind", "change", "marker"), KIND_CASES, ids=[c[0] for c in KIND_CASES])
def test_each_kind_of_schema_problem_prints_its_own_hint(
    tmp_path: Path, kind: str, change: tuple[str, str], marker: str | None
) -> None:
    text = edit(change)
    (problem,) = instruments.load(text=text).problems
    assert (problem.code, problem.kind) == ("schema", kind), str(problem)
    file, lines = validate(tmp_path, text)
    at = next(i for i, line in enumerate(lines) if line.endswith("[schema]"))
    if marker is not None:
        assert lines[at].startswith(f"{file}:{line_with(text, marker)}: ")
    assert lines[at + 1] == f"    how to fix: {SCHEMA_KINDS[kind].hint}"
    assert SCHEMA_KINDS[kind].hint != CATALOGUE["schema"].hint


def test_every_kind_an_error_maps_to_has_a_hint() -> None:
    assert set(KIND_OF_ERROR.values()) | {"text_by_language", "other"} == set(SCHEMA_KINDS)
    assert len({k.hint for k in SCHEMA_KINDS.values()}) == len(SCHEMA_KINDS)


@pytest.mark.parametrize(
    ("change", "path_end"),
    [
        ((SHOW_IF, "show_if: \"slept_somewhere == 'yes'\""), ".show_if"),
        (('when: "hours >= 40"', 'when: "hour >= 40"'), ".when"),
        (('when: "sum(weights) >= 1"', 'when: "sum(weight) >= 1"'), ".when"),
    ],
    ids=["show_if", "indicates-when", "rule-when"],
)
def test_an_expression_message_does_not_repeat_the_key_its_path_names(
    tmp_path: Path, change: tuple[str, str], path_end: str
) -> None:
    text = edit(change)
    file, lines = validate(tmp_path, text)
    (line,) = [line for line in lines if line.endswith("[expression]")]
    where = f"{file}:{line_with(text, change[1])}: "
    assert line.startswith(where)
    path, message = line[len(where) :].split(": ", 1)
    assert path.endswith(path_end)
    assert not message.startswith(("show_if:", "indicates.when:", "rule:", "when:", "total:")), line
