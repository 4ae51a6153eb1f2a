"""A total without levels (issue 12 §1: "PHQ-9 and GAD-7 as published ... score their published totals"): an
instrument may declare `scoring.total` and no rules. Its result reports the total, with no thresholds, and
concludes no level (`not_scored`, never "no concern"); domain and overall rules come both or neither."""

from __future__ import annotations

import instruments
import scoring
from instruments.compiled import CompiledInstrument
from instruments.model import NOT_SCORED
from tests.instruments.malformed_base import edit, line_with
from tests.instruments.totalled_form import HIGHEST, TOTALLED

RULES = """\
  domain:
    - {level: no_concern, explain: {en: Nothing, es: Nada}}
  overall:
    - {level: possible_concern, when: 'total() >= 6', explain: {en: Six or more, es: Seis o más}}
    - {level: no_concern, explain: {en: Less, es: Menos}}
"""


def load(text: str = TOTALLED) -> CompiledInstrument:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [], "\n".join(map(str, problems))
    assert compiled is not None
    return compiled


def one_problem(text: str) -> instruments.Problem:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_a_total_without_rules_loads_unscored_and_keeps_its_total() -> None:
    compiled = load()
    assert compiled.scored is False  # no level is concluded
    assert compiled.declared_total is not None and compiled.declared_total.code is not None
    assert compiled.declared_total.code.code == "ENERGY-SUM"
    assert compiled.total is not None


def test_the_highest_answers_give_the_highest_total_and_no_level() -> None:
    result = scoring.score(load(), HIGHEST)
    assert result.total is not None
    assert result.total.value == 12
    assert result.total.thresholds == ()  # nothing compares it
    assert result.overall == NOT_SCORED
    assert result.domains == () and result.indicators == ()
    explain = result.reason.explain
    assert "total is reported" in explain["en"] and "no level is concluded" in explain["en"]
    assert "se informa su total" in explain["es"]


def test_a_mixed_set_sums_the_weights_of_what_was_chosen() -> None:
    answers = {"tired": "sometimes", "restless": "often", "bored": "declined", "troubles": ["screens", "nothing"]}
    result = scoring.score(load(), answers)
    assert result.total is not None and result.total.value == 1 + 2 + 0 + 2
    assert result.overall == NOT_SCORED
    assert result.completeness.declined == 1


def test_nothing_answered_totals_zero_and_still_concludes_nothing() -> None:
    result = scoring.score(load(), {})
    assert result.total is not None and result.total.value == 0
    assert result.overall == NOT_SCORED


def test_with_both_rules_the_total_is_compared_as_before() -> None:
    text = TOTALLED + RULES
    result = scoring.score(load(text), HIGHEST)
    assert result.overall == "possible_concern"
    assert result.total is not None and [(t.level, t.bound) for t in result.total.thresholds] == [
        ("possible_concern", 6.0)
    ]


def test_overall_rules_without_domain_rules_are_a_located_problem() -> None:
    text = TOTALLED + RULES.split("  overall:\n")[0].replace("domain", "overall").replace(
        "{level: no_concern, explain: {en: Nothing, es: Nada}}", "{level: no_concern, explain: {en: Low, es: Bajo}}"
    )
    problem = one_problem(text)
    assert problem.code == "rules_incomplete"
    assert problem.line == line_with(text, "{level: no_concern, explain: {en: Low")  # its first rule
    assert "no domain rules" in problem.message and "write both" in problem.message


def test_domain_rules_without_overall_rules_are_a_located_problem() -> None:
    text = TOTALLED + RULES.split("  overall:\n")[0]
    problem = one_problem(text)
    assert problem.code == "rules_incomplete"
    assert problem.line == line_with(text, "{level: no_concern, explain: {en: Nothing")  # its first rule
    assert "no overall rules" in problem.message


def test_rules_that_never_compare_the_total_are_still_refused() -> None:
    rules = RULES.replace("when: 'total() >= 6'", "when: \"tired == 'always'\"")
    problem = one_problem(TOTALLED + rules)
    assert problem.code == "total_unused"


def test_a_total_without_rules_cannot_ask_for_levels() -> None:
    text = edit(
        (
            "    options: *often\n  - id: bored",
            "    options: *often\n    indicates:\n"
            "      - {indicator: mood.low, level: possible_concern, answers: [always]}\n  - id: bored",
        ),
        text=TOTALLED,
    )
    problem = one_problem(text)
    assert problem.code == "needs_scoring"
    assert "has a total but no rules" in problem.message


def test_a_total_of_unknown_items_is_located() -> None:
    text = TOTALLED.replace("of: sum(weights)", "of: count(items['sleepy'], answer='yes')")
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [p.path for p in problems] == ["scoring.total.of"]
