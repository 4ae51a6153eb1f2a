"""Unscored instruments (issue 12: "forms without weights ... imported as unscored instruments -- they
still validate, collect, carry and export"): scoring one concludes no level and says why in plain
words; its answers are still checked and counted. An unscored definition that asks for levels anyway
(indicators, domains, next steps) is a located problem, not a silent "no concern"."""

from __future__ import annotations

import pytest

import instruments
import scoring
from instruments.compiled import CompiledInstrument
from instruments.model import NOT_SCORED
from tests.instruments.malformed_base import edit, line_with
from tests.instruments.unscored_form import ANSWERS, UNSCORED


def load(text: str = UNSCORED) -> CompiledInstrument:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [], "\n".join(map(str, problems))
    assert compiled is not None
    return compiled


def test_a_form_without_scoring_loads_and_says_it_is_not_scored() -> None:
    compiled = load()
    assert compiled.scored is False
    assert compiled.definition.scoring is None
    assert compiled.carry_days("sleep_hours") is None  # carry still works as declared
    assert compiled.carry_days("activities") == 365


def test_scoring_it_concludes_no_level_and_says_so_plainly() -> None:
    result = scoring.score(load(), ANSWERS)
    assert result.overall == NOT_SCORED
    assert result.overall not in ("no_concern", "insufficient_information")
    assert "no scoring rules" in result.reason.explain["en"]
    assert "no level is concluded" in result.reason.explain["en"]
    assert "read the answers" in result.reason.explain["en"]
    assert "no tiene reglas de puntuación" in result.reason.explain["es"]
    assert result.reason.rule == 0
    assert (result.domains, result.indicators, result.total) == ((), (), None)
    assert result.completeness.total == 6
    assert result.completeness.answered == 6


def test_completeness_is_counted_as_for_any_instrument() -> None:
    answers = {"lives_with": "alone", "activities": "declined", "sleep_hours": 7}
    result = scoring.score(load(), answers)
    assert result.overall == NOT_SCORED
    done = result.completeness
    # pets is hidden (lives_with is not family): not asked; two items left blank
    assert (done.answered, done.declined, done.not_asked, done.unanswered) == (2, 1, 1, 2)
    assert result.to_dict()["overall"] == NOT_SCORED


def test_answers_are_still_validated() -> None:
    with pytest.raises(scoring.AnswerError) as raised:
        scoring.score(load(), {"activities": ["school", "chess"], "sleep_hours": 30})
    assert {p.item_id for p in raised.value.problems} == {"activities", "sleep_hours"}


def test_the_schema_does_not_ask_for_scoring() -> None:
    assert "scoring" not in instruments.json_schema().get("required", [])


def one_problem(text: str) -> instruments.Problem:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_indicates_without_scoring_is_a_located_plain_problem() -> None:
    text = edit(
        (
            "    carry: never\n",
            "    carry: never\n    indicates:\n"
            "      - {indicator: sleep.short, level: possible_concern, when: 'sleep_hours < 5'}\n",
        ),
        text=UNSCORED,
    )
    problem = one_problem(text)
    assert problem.code == "needs_scoring"
    assert problem.line == line_with(text, "{indicator: sleep.short")  # its first entry
    assert problem.path == "items[3](sleep_hours).indicates"
    assert "no 'scoring' section" in problem.message
    assert "sleep_hours" in problem.message


def test_domains_or_next_steps_without_scoring_are_located_problems() -> None:
    domains = edit(
        (
            "items:\n",
            "domains:\n  - id: rest\n    title: {en: Sleep, es: Sueño}\n    indicators:\n"
            "      - {id: sleep.short, text: {en: Short sleep, es: Poco sueño}}\nitems:\n",
        ),
        text=UNSCORED,
    )
    problem = one_problem(domains)
    assert (problem.code, problem.line) == ("needs_scoring", line_with(domains, "- id: rest"))
    assert "domains" in problem.message

    steps = UNSCORED + "next_steps:\n  no_concern:\n    - {text: {en: Nothing, es: Nada}}\n"
    problem = one_problem(steps)
    assert (problem.code, problem.line) == ("needs_scoring", line_with(steps, "no_concern:"))
    assert "next steps" in problem.message
