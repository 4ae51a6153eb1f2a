"""Malformed instrument files, part 2: expressions, show_if logic, scoring rules, texts and modes.

Same shape as `test_malformed.py`: each case is one targeted edit of the valid base instrument and
names the one problem it must cause, with its code, file, exact line, path and a phrase.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from tests.instruments.malformed_base import (
    BASE,
    RATING_ITEM,
    SHOW_IF,
    add_item,
    case,
    check_one_problem,
    edit,
    line_with,
)


def show_if(expression: str) -> str:
    """The base instrument with the show_if of `felt_safe` replaced."""
    return edit((SHOW_IF, f'show_if: "{expression}"'))


DOMAIN_POSSIBLE = (
    "    - {level: possible_concern, when: \"any(indicators, level='possible_concern')\", explain: {en: b, es: b}}\n"
)
DOMAIN_ALL_CLEAR = DOMAIN_POSSIBLE.replace("any(indicators, level='possible", "all(indicators, level='clear")
DOMAIN_FALLBACK = "    - {level: no_concern, explain: {en: c, es: c}}\n  overall:"
OVERALL_CLEAR = "when: \"any(indicators, key=true, level='clear_concern')\""

EXPRESSION_CASES = [
    case(
        "show_if-unknown-item",
        show_if("slept_somewhere == 'yes'"),
        "expression",
        "show_if:",
        path="items[1](felt_safe).show_if",
        phrase="unknown item 'slept_somewhere'",
    ),
    case(
        "show_if-option-the-item-does-not-offer",
        show_if("slept_elsewhere in ['yes', 'maybe']"),
        "expression",
        "show_if:",
        path="items[1](felt_safe).show_if",
        phrase="'maybe' is not an answer of item 'slept_elsewhere' (it offers: no, not_sure, yes) (at character 28",
    ),
    case(
        "show_if-syntax-error-names-the-character",
        show_if("slept_elsewhere = 'yes'"),
        "expression",
        "show_if:",
        path="items[1](felt_safe).show_if",
        phrase="cannot read this expression: invalid syntax (at character 17 of",
    ),
    case(
        "show_if-calling-__import__",
        show_if("__import__('os')"),
        "expression",
        "show_if:",
        phrase="unknown function '__import__'",
    ),
    case(
        "show_if-calling-a-method",
        show_if("slept_elsewhere.upper() == 'YES'"),
        "expression",
        "show_if:",
        phrase="only the functions of the language can be called",
    ),
    case(
        "show_if-attribute-access",
        show_if("slept_elsewhere == 'yes' or hours.real > 1"),
        "expression",
        "show_if:",
        phrase="dotted names are not allowed here",
    ),
    case(
        "show_if-lambda",
        show_if("slept_elsewhere == 'yes' or (lambda: True)"),
        "expression",
        "show_if:",
        phrase="'Lambda' is not part of the expression language (at character 30",
    ),
    case(
        "show_if-unknown-function",
        show_if("max(hours, 1) > 40"),
        "expression",
        "show_if:",
        phrase="unknown function 'max'",
    ),
    case(
        "show_if-cannot-use-level",
        show_if("level('housing.unstable') == 'clear_concern'"),
        "expression",
        "show_if:",
        phrase="indicator levels cannot be used here",
    ),
    case(
        "indicates-when-cannot-use-indicators",
        edit(('when: "hours >= 40"', "when: \"any(indicators, level='clear_concern')\"")),
        "expression",
        "{indicator: work.long_hours",
        path="items[2](hours).indicates[0].when",
        phrase="indicators cannot be used here",
    ),
    case(
        "show_if-nested-too-deeply",
        show_if("not " * 3000 + "slept_elsewhere == 'yes'"),
        "expression",
        "show_if:",
        phrase="nested too deeply",
    ),
    case(
        "show_if-cycle",
        edit(
            (
                "    text: {en: 'Did you sleep elsewhere?'",
                "    show_if: \"felt_safe == 'yes'\"\n    text: {en: 'Did you sleep elsewhere?'",
            ),
        ),
        "show_if_cycle",
        "show_if: \"felt_safe == 'yes'\"",
        path="items[0](slept_elsewhere).show_if",
        phrase="cycle: slept_elsewhere -> felt_safe -> slept_elsewhere",
    ),
    case(
        "show_if-on-itself",
        show_if("felt_safe == 'no'"),
        "show_if_cycle",
        "show_if:",
        path="items[1](felt_safe).show_if",
        phrase="cycle: felt_safe -> felt_safe",
    ),
    case(
        "item-never-shown",
        show_if("slept_elsewhere == 'yes' and slept_elsewhere == 'no'"),
        "never_shown",
        "show_if:",
        path="items[1](felt_safe).show_if",
        phrase="'felt_safe' can never be shown",
    ),
    case(
        "item-never-shown-multiple-choice-compared-as-one-code",
        edit(("    type: number\n", "    type: number\n    show_if: \"paid_with == 'money'\"\n")),
        "never_shown",
        "show_if: \"paid_with == 'money'\"",
        path="items[2](hours).show_if",
    ),
]

RULE_CASES = [
    case(
        "rule-shadowed-by-an-earlier-fallback",
        edit(
            (
                DOMAIN_POSSIBLE + DOMAIN_FALLBACK,
                "    - {level: no_concern, explain: {en: c, es: c}}\n"
                "    - {level: possible_concern, explain: {en: b, es: b}}\n  overall:",
            )
        ),
        "rule_shadowed",
        "{level: possible_concern, explain: {en: b, es: b}}",
        path="scoring.domain[2]",
        phrase="rule 2 above always matches",
    ),
    case(
        "rule-repeats-an-earlier-condition",
        edit(
            ("when: \"any(indicators, level='possible_concern')\"", "when: \"any(indicators,  level='clear_concern')\"")
        ),
        "rule_shadowed",
        "level='clear_concern')\", explain: {en: b",
        path="scoring.domain[1].when",
        phrase="repeats the condition of rule 1",
    ),
    case(
        "missing-fallback-rule",
        edit(
            (
                DOMAIN_FALLBACK,
                "    - {level: no_concern, when: \"all(indicators, level='no_concern')\", explain: {en: c, es: c}}\n"
                "  overall:",
            )
        ),
        "no_fallback",
        "level: no_concern, when:",
        path="scoring.domain[2]",
        phrase="the last rule must have no 'when'",
    ),
    case(
        "rule-always-false",
        edit(('when: "sum(weights) >= 1"', 'when: "1 > 2"')),
        "rule_never_fires",
        'when: "1 > 2"',
        path="scoring.overall[1].when",
        phrase="always false",
    ),
    case(
        "domain-rule-covered-by-an-earlier-rule",
        edit(
            (
                DOMAIN_POSSIBLE,
                DOMAIN_ALL_CLEAR + DOMAIN_POSSIBLE,
            )
        ),
        "rule_never_fires",
        "all(indicators, level='clear_concern')",
        path="scoring.domain[1]",
        phrase="domain rule can never fire",
    ),
    case(
        "overall-rule-covered-by-an-earlier-rule",
        edit(
            (OVERALL_CLEAR, "when: \"any(domains, level='clear_concern')\""),
            ('when: "sum(weights) >= 1"', "when: \"all(domains, level='clear_concern')\""),
        ),
        "rule_never_fires",
        "all(domains, level='clear_concern')",
        path="scoring.overall[1]",
        phrase="overall rule can never fire",
    ),
    case(
        "domains-in-a-domain-rule",
        edit(
            ("when: \"any(indicators, level='possible_concern')\"", "when: \"any(domains, level='possible_concern')\"")
        ),
        "expression",
        "any(domains, level='possible_concern')",
        path="scoring.domain[1].when",
        phrase="domains can only be used in overall rules",
    ),
    case(
        "domain_level-in-a-domain-rule",
        edit(
            ("when: \"any(indicators, level='possible_concern')\"", "when: \"domain_level('work') == 'clear_concern'\"")
        ),
        "expression",
        "domain_level('work')",
        path="scoring.domain[1].when",
        phrase="domain levels can only be used in overall rules",
    ),
    case(
        "rule-with-unknown-level",
        edit((OVERALL_CLEAR, "when: \"any(indicators, key=true, level='severe')\"")),
        "expression",
        "level='severe'",
        path="scoring.overall[0].when",
        phrase="unknown level 'severe'",
    ),
    case(
        "rule-with-unknown-function",
        edit(('when: "sum(weights) >= 1"', 'when: "mean(weights) >= 1"')),
        "expression",
        "mean(weights)",
        path="scoring.overall[1].when",
        phrase="unknown function 'mean'",
    ),
]

TEXT_AND_MODE_CASES = [
    case(
        "text-missing-a-declared-language",
        edit(
            (
                "text: {en: 'Did you feel safe there?', es: '¿Te sentiste seguro allí?'}",
                "text: {en: 'Did you feel safe there?'}",
            )
        ),
        "missing_translation",
        "text: {en: 'Did you feel safe there?'}",
        path="items[1](felt_safe).text",
        phrase="no es version",
    ),
    case(
        "text-in-an-undeclared-language",
        edit(("{en: Money, es: Dinero}", "{en: Money, es: Dinero, fr: Argent}")),
        "undeclared_language",
        "fr: Argent",
        path="items[3](paid_with).options[0].label",
        phrase="given in fr, which is not in languages",
    ),
    case(
        "empty-text",
        edit(("{en: Food, es: Comida}", "{en: Food, es: ' '}")),
        "empty_text",
        "{en: Food, es: ' '}",
        path="items[3](paid_with).options[1].label.es",
    ),
    case(
        "indicator-rating-in-a-self-instrument",
        add_item(RATING_ITEM),
        "mode_unsupported",
        "type: indicator_rating",
        path="items[4](unpaid_rating).type",
        phrase="cannot allow the 'self' mode",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "line", "path", "phrase"), EXPRESSION_CASES + RULE_CASES + TEXT_AND_MODE_CASES
)
def test_a_malformed_file_reports_its_problem(
    tmp_path: Path, text: str, code: str, line: str | int, path: str | None, phrase: str | None
) -> None:
    check_one_problem(tmp_path, text, code, line, path, phrase)


def test_forbidden_expressions_are_refused_and_never_run(tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    text = edit(
        (SHOW_IF, f"show_if: \"__import__('os').system('touch {witness}')\""),
        ('when: "hours >= 40"', f"when: \"open('{witness}', 'w')\""),
        ('when: "sum(weights) >= 1"', f"when: \"exec('open(\\\\'{witness}\\\\', \\\\'w\\\\')')\""),
    )
    file = tmp_path / "hostile.yaml"
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [(p.code, p.path) for p in problems] == [
        ("expression", "items[1](felt_safe).show_if"),
        ("expression", "items[2](hours).indicates[0].when"),
        ("expression", "scoring.overall[1].when"),
    ]
    assert not witness.exists()


def test_several_independent_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    text = edit(
        ("title: {en: Home, es: Hogar}", "title: {en: Home}"),
        (SHOW_IF, "show_if: \"slept_somewhere == 'yes'\""),
        ('    indicates:\n      - {indicator: work.long_hours, level: possible_concern, when: "hours >= 40"}\n', ""),
        ("license: CC-BY-4.0", "license: CC-BY-4.0  # the file is read whole"),
    )
    file = tmp_path / "several.yaml"
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    found = sorted((p.code, p.line, p.path) for p in problems)
    assert found == sorted(
        [
            ("missing_translation", line_with(text, "title: {en: Home}"), "sections[0](home).title"),
            ("expression", line_with(text, "slept_somewhere"), "items[1](felt_safe).show_if"),
            (
                "unfed_indicator",
                line_with(text, "{id: work.long_hours,"),
                "domains[1](work).indicators[0](work.long_hours).id",
            ),
        ]
    )
    assert all(p.file == str(file) for p in problems)


def test_problems_print_as_file_line_path_message_code(tmp_path: Path) -> None:
    file = tmp_path / "one.yaml"
    text = show_if("slept_somewhere == 'yes'")
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    _, problems = loaded_result.instrument, loaded_result.problems
    line = line_with(text, "show_if:")
    assert str(problems[0]).startswith(f"{file}:{line}: items[1](felt_safe).show_if: unknown item")
    assert str(problems[0]).endswith("[expression]")


def test_the_base_instrument_is_not_broken_by_the_helpers() -> None:
    assert (
        instruments.load(text=add_item(RATING_ITEM, edit(("modes: [self, interview]", "modes: [interview]")))).problems
        == []
    )
    assert instruments.load(text=BASE).problems == []
