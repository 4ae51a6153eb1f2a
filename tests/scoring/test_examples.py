"""Example cases an instrument carries (`examples:`): run by `tellonce instruments validate` through the real
scoring engine, located when they disagree, and outside the content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import instruments
from app.cli import cli
from instruments import loader
from scoring.examples import check_examples
from tests.instruments.malformed_base import BASE, line_with

EXAMPLES = """\
examples:
  - name: slept elsewhere
    answers: {slept_elsewhere: 'yes'}
    expect:
      overall: clear_concern
      domains: {housing: clear_concern, work: insufficient_information}  # nothing known of work
      indicators: {housing.unstable: clear_concern, work.long_hours: unknown}
  - name: long hours alone
    answers: {slept_elsewhere: 'no', hours: 50}
    expect:
      overall: no_concern
      domains: {housing: no_concern, work: possible_concern}
"""


def with_examples(examples: str = EXAMPLES) -> str:
    return BASE + examples


@pytest.fixture
def only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Validate files on their own: no bundled instruments, no extra folders."""
    monkeypatch.setattr(loader, "BUNDLED_DIR", tmp_path / "no-bundled")
    monkeypatch.delenv(loader.PATH_VARIABLE, raising=False)
    return tmp_path


def validate(folder: Path, text: str) -> tuple[int, str]:
    file = folder / "with-examples.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["instruments", "validate", str(file)])
    return result.exit_code, result.output


def test_examples_that_hold_are_reported_as_holding(only: Path) -> None:
    code, output = validate(only, with_examples())
    assert code == 0, output
    assert "ok  base-check 1.0.0" in output and "2 example(s) hold" in output


def test_an_example_the_rules_disagree_with_is_a_problem_at_its_line(only: Path) -> None:
    text = with_examples(EXAMPLES.replace("      overall: no_concern", "      overall: possible_concern"))
    code, output = validate(only, text)
    assert code == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "overall: possible_concern" in t)
    assert f"with-examples.yaml:{line}: examples[1].expect.overall: example 'long hours alone': expects " in output
    assert "expects overall possible_concern, and the rules conclude no_concern [example_mismatch]" in output
    assert "how to fix: fix the rules if the example follows the manual" in output


def test_every_stated_level_is_compared_and_an_unknown_domain_is_named() -> None:
    text = with_examples(
        EXAMPLES.replace("work.long_hours: unknown", "work.long_hours: clear_concern").replace(
            "domains: {housing: no_concern, work: possible_concern}", "domains: {housing: no_concern, jobs: no_concern}"
        )
    )
    compiled = instruments.load(text=text).instrument
    assert compiled is not None
    messages = [(p.code, p.line, p.message) for p in check_examples(compiled)]
    assert messages == [
        (
            "example_mismatch",
            line_with(text, "work.long_hours: clear_concern"),
            "example 'slept elsewhere': expects indicator work.long_hours clear_concern, "
            "and the rules conclude unknown",
        ),
        (
            "example_mismatch",
            line_with(text, "jobs: no_concern"),
            "example 'long hours alone': expects domain jobs no_concern, and there is no such domain",
        ),
    ]


def test_answers_that_do_not_fit_are_a_problem_of_the_example() -> None:
    text = with_examples(EXAMPLES.replace("{slept_elsewhere: 'no', hours: 50}", "{slept_elsewhere: maybe}"))
    compiled = instruments.load(text=text).instrument
    assert compiled is not None
    (problem,) = check_examples(compiled)
    assert problem.code == "example_answers"
    assert problem.line == line_with(text, "slept_elsewhere: maybe")
    assert "example 'long hours alone': its answers cannot be scored" in problem.message


def test_examples_do_not_change_the_content_hash() -> None:
    plain = instruments.load(text=BASE).instrument
    carried = instruments.load(text=with_examples()).instrument
    assert plain is not None and carried is not None
    assert carried.content_hash == plain.content_hash
    assert len(carried.definition.examples) == 2


def test_a_malformed_example_is_a_plain_schema_problem() -> None:
    text = with_examples(EXAMPLES.replace("overall: clear_concern", "overall: high"))
    result = instruments.load(text=text)
    assert [(p.code, p.line) for p in result.problems] == [("schema", line_with(text, "overall: high"))]
    assert "'high' is not a value 'overall' can take" in result.problems[0].message


EXPLAINED = """\
examples:
  - name: slept elsewhere, as the manual explains it
    answers: {slept_elsewhere: 'yes'}
    expect:
      overall: clear_concern
      domains: {housing: clear_concern}
      other_domains: insufficient_information
      indicators: {housing.unstable: clear_concern}
      other_indicators: unknown
      reason:
        rule: 1
        indicators: [housing.unstable]
        domains: [housing]
        clauses:
          - {source: "any(indicators, key=true, level='clear_concern')", members: [housing.unstable]}
      domain_reasons:
        housing: {rule: 1, indicators: [housing.unstable]}
        work: {rule: 0, clauses: []}
      skipped: [work]
      evidence:
        housing.unstable: [{item: slept_elsewhere, answer: 'yes', level: clear_concern}]
      completeness: {answered: 1, unanswered: 3}
"""


def test_an_example_can_state_the_explanation_and_it_holds(only: Path) -> None:
    code, output = validate(only, with_examples(EXPLAINED))
    assert code == 0, output
    assert "1 example(s) hold" in output


@pytest.mark.parametrize(
    ("stated", "wrong", "message"),
    [
        (
            "other_domains: insufficient_information",
            "other_domains: no_concern",
            "every other domain no_concern, and domain work is insufficient_information",
        ),
        ("rule: 1\n", "rule: 2\n", "the overall reason to be rule 2, and rule 1 fired"),
        ("domains: [housing]", "domains: []", "the overall reason to name domains [], and it names [housing]"),
        (
            "members: [housing.unstable]}",
            "members: [work.unpaid]}",
            "clause 1 of the overall reason to have members ['work.unpaid'], and it has ['housing.unstable']",
        ),
        ("work: {rule: 0,", "work: {rule: 3,", "the reason of domain work to be rule 3, and no rule ran"),
        (
            "housing: {rule: 1, indicators: [housing.unstable]}",
            "housing: {rule: 1, indicators: []}",
            "the reason of domain housing to name indicators [], and it names [housing.unstable]",
        ),
        ("skipped: [work]", "skipped: []", "skipped sections [], and the skipped are [work]"),
        (
            "answer: 'yes', level: clear_concern}",
            "answer: 'no', level: clear_concern}",
            "indicator housing.unstable to rest on slept_elsewhere='no' (clear_concern), "
            "and it rests on slept_elsewhere='yes' (clear_concern)",
        ),
        ("unanswered: 3}", "unanswered: 2}", "completeness unanswered 2, and it is 3"),
    ],
)
def test_each_stated_part_of_the_explanation_is_compared_at_its_line(stated: str, wrong: str, message: str) -> None:
    assert EXPLAINED.count(stated) == 1
    text = with_examples(EXPLAINED.replace(stated, wrong))
    compiled = instruments.load(text=text).instrument
    assert compiled is not None
    found = [(p.code, p.line, p.message) for p in check_examples(compiled)]
    example = "example 'slept elsewhere, as the manual explains it'"
    assert found == [("example_mismatch", line_with(text, wrong.strip()), f"{example}: expects {message}")]
