"""The engine against the reference scorer (tests/scoring/reference.py), on generated answers.

For every bundled instrument (every version), every valid instrument that the tests write inline,
and one written here to use every part of the expression language, hypothesis draws valid answer
sets with the strategy of test_properties.py (visibility decided as the answers are drawn; valid
answers, declined, not enough information where allowed, or nothing; hidden items not_asked or
left out) and both scorers must agree on every field the reference computes: levels, reasons and
their clauses, skipped sections, the total and its thresholds, completeness.

The inline instruments of tests/app are read from their source with `ast` rather than imported,
so that these tests do not depend on the application package.

No disagreement is known, and the comparison hides none: every field is compared as it is, in
the order it is listed. Two tests at the end pin what once disagreed: the domains a clause counted
are listed in the order of the definition (as reason.domains lists them), and a true or false
compared with a number written on the right counts as 1 or 0, as it does written on the left.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import instruments
import scoring
from instruments.compiled import CompiledInstrument
from scoring.result import ScoreResult
from tests.instruments.malformed_base import BASE, RATING_ITEM, add_item, edit
from tests.scoring import reference
from tests.scoring.test_properties import answer_sets
from tests.scoring.test_self_only_instrument import SELF_ONLY
from tests.support.bundled import bundled_registry

TESTS = Path(__file__).resolve().parent.parent


def constant_in(path: str, name: str) -> str:
    """The string assigned to `name` at the top of a test module, read without importing it."""
    tree = ast.parse((TESTS / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise LookupError(f"{name} not found in {path}")


# An instrument that uses what the bundled ones do not: indicator_needs every_answer with `when`
# feeds that read other items, numbers, dates, text and multiple choice, show_if over aggregates
# and declinable gates, weights and a declared total, level(), domain_level(), arithmetic, not in.
EXERCISE = """
id: test-exercise
version: 1.0.0
title: {en: Exercise}
description: {en: Every part of the expression language.}
authors: [tests]
license: CC-BY-4.0
provenance: {validated: false, statement: {en: Test only.}}
modes: [interview]
languages: [en]
default_language: en
sections:
  - {id: work, title: {en: Work}}
  - {id: home, title: {en: Home}}
domains:
  - id: work
    title: {en: Work}
    indicators:
      - {id: work.long_hours, key: true, text: {en: Long hours}}
      - {id: work.unpaid, text: {en: Unpaid}}
  - id: home
    title: {en: Home}
    indicators:
      - {id: home.unstable, text: {en: Unstable}}
      - {id: home.adults, key: true, text: {en: Adults}}
items:
  - {id: intro, section: work, type: notice, text: {en: About work.}}
  - {id: works, section: work, type: yes_no, text: {en: 'Work?'}}
  - id: hours
    section: work
    type: number
    minimum: 0
    maximum: 100
    show_if: "works == 'yes'"
    text: {en: 'Hours?'}
    indicates:
      - {indicator: work.long_hours, level: clear_concern, when: "hours >= 60"}
      - {indicator: work.long_hours, level: possible_concern, when: "hours >= 40 and not paid == 'yes'"}
  - id: paid
    section: work
    type: single_choice
    show_if: "works == 'yes'"
    text: {en: 'Paid?'}
    options:
      - {code: 'yes', label: {en: Yes}, weight: 0}
      - {code: 'no', label: {en: No}, weight: 2}
      - {code: partly, label: {en: Partly}, weight: 1}
    indicates:
      - {indicator: work.unpaid, level: clear_concern, answers: ['no']}
      - {indicator: work.unpaid, level: possible_concern, answers: [partly]}
  - id: paid_with
    section: work
    type: multiple_choice
    show_if: "paid in ['yes', 'partly']"
    text: {en: 'Paid with?'}
    options:
      - {code: cash, label: {en: Cash}}
      - {code: goods, label: {en: Goods}, weight: 1}
      - {code: nothing, label: {en: Nothing}, weight: 2}
    indicates:
      - {indicator: work.unpaid, level: possible_concern, answers: [goods]}
      - {indicator: work.unpaid, level: clear_concern, when: "'nothing' in paid_with"}
  - id: started
    section: work
    type: date
    show_if: "answered(hours)"
    text: {en: 'Since?'}
    indicates:
      - {indicator: work.long_hours, level: possible_concern, when: "started < '2020-01-01'"}
  - id: moved
    section: home
    type: single_choice
    text: {en: 'Moved?'}
    options:
      - {code: often, label: {en: Often}}
      - {code: once, label: {en: Once}}
      - {code: never, label: {en: Never}}
    indicates:
      - {indicator: home.unstable, level: clear_concern, answers: [often]}
      - {indicator: home.unstable, level: possible_concern, answers: [once]}
  - id: moves
    section: home
    type: number
    minimum: 0
    maximum: 20
    show_if: "moved not in ['never']"
    text: {en: 'How many moves?'}
    indicates:
      - {indicator: home.unstable, level: clear_concern, when: "moves - 1 >= 2 or moves / 0 == 1"}
  - id: who
    section: home
    type: short_text
    max_length: 12
    show_if: "count(items, among=['moved', 'moves'], answer=['often', 'once']) >= 1"
    text: {en: 'With whom?'}
    indicates:
      - {indicator: home.adults, level: possible_concern, when: "who != '' and who != 'family'"}
  - {id: adults_rating, section: home, type: indicator_rating, indicator: home.adults, text: {en: Rate adults}}
scoring:
  indicator_needs: every_answer
  total:
    of: "sum(weights, section='work')"
    label: {en: Work weight}
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: c}}
    - level: possible_concern
      when: "any(indicators, level='possible_concern') or count(indicators, level='unknown') >= 1"
      explain: {en: p}
    - {level: no_concern, when: "all(indicators, level='no_concern')", explain: {en: n}}
    - {level: insufficient_information, explain: {en: i}}
  overall:
    - level: clear_concern
      when: >-
        any(indicators, key=true, level='clear_concern') or total() >= 4
        or level('home.unstable') == 'clear_concern'
      explain: {en: c}
    - level: possible_concern
      when: >-
        domain_level('home') == 'possible_concern'
        or count(domains, level=['possible_concern', 'clear_concern']) >= 1 or total() > 1
      explain: {en: p}
    - level: insufficient_information
      when: "any(domains, level='insufficient_information') or not answered(works)"
      explain: {en: i}
    - {level: no_concern, explain: {en: n}}
"""

WRITTEN_HERE: dict[str, str] = {
    "exercise": EXERCISE,
    "self-only": SELF_ONLY,
    "malformed-base": BASE,
    "malformed-base-with-rating": add_item(RATING_ITEM, edit(("modes: [self, interview]", "modes: [interview]"))),
}
# (module under tests/, constant, the fields its text is formatted with)
IN_OTHER_TESTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "export-mini-1": ("app/exports_support.py", "MINI_YAML", {"version": "1.0.0", "extra": "old_question"}),
    "export-mini-2": ("app/exports_support.py", "MINI_YAML", {"version": "2.0.0", "extra": "new_question"}),
    "fhir-show-if": ("app/test_fhir_export.py", "SHOW_IF_YAML", {}),
    "form-kinds": ("app/test_pages_forms.py", "KINDS", {}),
    "registry-mini": (
        "instruments/test_registry.py",
        "MINI",
        {"id": "registry-mini", "domain": "housing", "key": "true", "recommends": "registry-mini"},
    ),
}


def inline_instruments() -> tuple[dict[str, CompiledInstrument], dict[str, str]]:
    """Every inline instrument that loads, and why each other one did not (so that a change in
    another test module fails one test here, not the collection of this module)."""
    texts, failed = dict(WRITTEN_HERE), {}
    for name, (path, constant, fields) in IN_OTHER_TESTS.items():
        try:
            text = constant_in(path, constant)
            texts[name] = text.format(**fields) if fields else text
        except (LookupError, OSError, SyntaxError, ValueError) as exc:
            failed[name] = f"{path} {constant}: {exc!r}"
    loaded = {}
    for name, text in texts.items():
        loaded_result = instruments.load(text=text, name=f"{name}.yaml")
        compiled, problems = loaded_result.instrument, loaded_result.problems
        if compiled is None:
            failed[name] = "; ".join(map(str, problems))
        else:
            loaded[name] = compiled
    return loaded, failed


INLINE, NOT_LOADED = inline_instruments()
INSTRUMENTS: dict[str, CompiledInstrument] = {f"{c.id}@{c.version}": c for c in bundled_registry().all()} | INLINE

DIFFERENTIAL = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def engine_view(result: ScoreResult) -> dict[str, Any]:
    """The engine's result in the reference's terms."""

    def clauses(reason: Any) -> tuple[reference.Clause, ...]:
        return tuple(
            reference.Clause(c.source, c.collection, tuple(c.members), c.value, c.op, c.bound) for c in reason.clauses
        )

    def reason(r: Any) -> reference.Reason:
        return reference.Reason(r.rule, tuple(r.indicators), tuple(r.domains), clauses(r))

    c = result.completeness
    return {
        "overall": result.overall,
        "reason": reason(result.reason),
        "domains": {d.id: d.level for d in result.domains},
        "domain_reasons": {d.id: reason(d.reason) for d in result.domains},
        "indicators": {i.id: i.level for i in result.indicators},
        "skipped_sections": result.skipped_sections,
        "total": result.total.value if result.total is not None else None,
        "thresholds": tuple((t.level, t.op, t.bound) for t in result.total.thresholds) if result.total else (),
        "completeness": (c.total, c.answered, c.declined, c.not_enough_info, c.not_asked, c.unanswered),
    }


def reference_view(result: reference.Result) -> dict[str, Any]:
    return {
        "overall": result.overall,
        "reason": result.reason,
        "domains": result.domains,
        "domain_reasons": result.domain_reasons,
        "indicators": result.indicators,
        "skipped_sections": result.skipped_sections,
        "total": result.total,
        "thresholds": result.thresholds,
        "completeness": result.completeness,
    }


def differences(instrument: CompiledInstrument, answers: dict[str, Any]) -> dict[str, Any]:
    """Every field where the engine and the reference disagree, as (engine, reference)."""
    engine = engine_view(scoring.score(instrument, answers))
    expected = reference_view(reference.score(instrument.definition, answers))
    found: dict[str, Any] = {}
    for field, value in engine.items():
        if isinstance(value, dict):
            for key in value.keys() | expected[field].keys():
                if value.get(key) != expected[field].get(key):
                    found[f"{field}[{key}]"] = (value.get(key), expected[field].get(key))
        elif value != expected[field]:
            found[field] = (value, expected[field])
    return found


def test_every_inline_instrument_loads() -> None:
    assert NOT_LOADED == {}
    assert set(INLINE) == set(WRITTEN_HERE) | set(IN_OTHER_TESTS)
    exercise = INSTRUMENTS["exercise"]
    assert exercise.every_answer and exercise.total is not None and exercise.allows_not_enough_info


@pytest.mark.parametrize("name", sorted(INSTRUMENTS))
@DIFFERENTIAL
@given(data=st.data())
def test_engine_agrees_with_the_reference(name: str, data: st.DataObject) -> None:
    instrument = INSTRUMENTS[name]
    answers = data.draw(answer_sets(instrument), label="answers")
    assert differences(instrument, answers) == {}


# ---- hand-worked cases of the exercise instrument: what the reference (and so the engine) concludes ----

CASES = [
    pytest.param(
        # paid was declined: the `when` of hours reads it, so work.long_hours cannot be no concern
        {"works": "yes", "hours": 30, "paid": "declined", "started": "2021-05-01", "moved": "never"}
        | {"adults_rating": "no_concern"},
        "insufficient_information",
        {"work": "insufficient_information", "home": "no_concern"},
        {"work.long_hours": "unknown", "work.unpaid": "unknown", "home.unstable": "no_concern"}
        | {"home.adults": "no_concern"},
        (3, ("work.long_hours",), ("work",)),
        (("any(domains, level='insufficient_information')", ("work",), None),),
        0.0,
        (),
        id="a-when-that-reads-a-declined-item-leaves-its-indicator-unknown",
    ),
    pytest.param(
        {"works": "yes", "hours": 30, "paid": "yes", "paid_with": ["cash"], "started": "2021-05-01", "moved": "never"}
        | {"adults_rating": "no_concern"},
        "no_concern",
        {"work": "no_concern", "home": "no_concern"},
        {"work.long_hours": "no_concern", "work.unpaid": "no_concern", "home.unstable": "no_concern"}
        | {"home.adults": "no_concern"},
        (4, (), ()),
        (),
        0.0,
        (),
        id="everything-settled-is-no-concern",
    ),
    pytest.param(
        {"works": "yes", "hours": 45, "paid": "partly", "paid_with": ["goods", "nothing"], "started": "2019-03-01"}
        | {"moved": "often", "moves": 5, "who": "family", "adults_rating": "no_concern"},
        "clear_concern",
        {"work": "clear_concern", "home": "clear_concern"},
        {"work.long_hours": "possible_concern", "work.unpaid": "clear_concern", "home.unstable": "clear_concern"}
        | {"home.adults": "no_concern"},
        (1, (), ("work", "home")),
        (("total() >= 4", ("paid", "paid_with"), 4.0), ("level('home.unstable') == 'clear_concern'", (), None)),
        4.0,
        (),
        id="weights-reach-the-clear-threshold-of-the-total",
    ),
    pytest.param(
        {"works": "no", "moved": "declined", "moves": 1, "adults_rating": "no_concern"},
        "insufficient_information",
        {"work": "no_concern", "home": "insufficient_information"},
        {"work.long_hours": "no_concern", "work.unpaid": "no_concern", "home.unstable": "unknown"}
        | {"home.adults": "unknown"},
        (3, ("home.adults",), ("home",)),
        (("any(domains, level='insufficient_information')", ("home",), None),),
        0.0,
        (),
        id="followups-hidden-by-an-answer-are-settled-and-by-a-declined-gate-are-not",
    ),
    pytest.param(
        {},
        "insufficient_information",
        {"work": "insufficient_information", "home": "insufficient_information"},
        dict.fromkeys(("work.long_hours", "work.unpaid", "home.unstable", "home.adults"), "unknown"),
        (3, ("work.long_hours", "home.adults"), ("work", "home")),
        (("any(domains, level='insufficient_information')", ("work", "home"), None), ("not answered(works)", (), None)),
        0.0,
        ("work", "home"),
        id="nothing-answered",
    ),
]


@pytest.mark.parametrize(
    ("answers", "overall", "domains", "indicators", "reason", "clauses", "total", "skipped"), CASES
)
def test_exercise_cases(
    answers: dict[str, Any],
    overall: str,
    domains: dict[str, str],
    indicators: dict[str, str],
    reason: tuple[int, tuple[str, ...], tuple[str, ...]],
    clauses: tuple[tuple[str, tuple[str, ...], float | None], ...],
    total: float,
    skipped: tuple[str, ...],
) -> None:
    instrument = INSTRUMENTS["exercise"]
    result = reference.score(instrument.definition, answers)
    assert (result.overall, result.domains, result.indicators) == (overall, domains, indicators)
    assert (result.reason.rule, result.reason.indicators, result.reason.domains) == reason
    assert tuple((c.source, c.members, c.value) for c in result.reason.clauses) == clauses
    assert (result.total, result.skipped_sections) == (total, skipped)
    assert result.thresholds == (("clear_concern", ">=", 4.0), ("possible_concern", ">", 1.0))
    assert differences(instrument, answers) == {}


def test_domain_members_of_a_clause_follow_the_definition() -> None:
    """trauma comes before signs in the definition (and after it in the alphabet)."""
    instrument = INSTRUMENTS["tellonce-practitioner-indicators@1.1.0"]
    ratings = {f"rate_{i.replace('.', '_')}": "no_concern" for i in instrument.all_indicators}
    result = scoring.score(
        instrument, ratings | {"rate_trauma_sexual_abuse": "clear_concern"} | {"rate_signs_fear": "clear_concern"}
    )
    assert result.reason.domains == ("trauma", "signs")
    (clause,) = result.reason.clauses
    assert (clause.source, clause.value, clause.bound) == ("count(domains, level='clear_concern') >= 2", 2.0, 2.0)
    assert clause.members == ("trauma", "signs")
    assert (
        differences(
            instrument, ratings | {"rate_trauma_sexual_abuse": "clear_concern"} | {"rate_signs_fear": "clear_concern"}
        )
        == {}
    )


@pytest.mark.parametrize(
    "condition",
    [
        "answered(hours) >= 1",
        "any(items, answer='no') == 1",
        "1 <= answered(hours)",
        "answered(hours) + 0 >= 1",
        "answered(hours) == true",
    ],
)
def test_a_true_or_false_compared_with_a_number_on_the_right(condition: str) -> None:
    """True counts as 1 however the comparison is written (the number on the right once took a
    shortcut that saw only int and float, and was false)."""
    loaded_result = instruments.load(text=edit(("sum(weights) >= 1", condition)))
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None, problems
    answers = {"slept_elsewhere": "no", "hours": 10}
    assert reference.score(instrument.definition, answers).overall == "possible_concern"
    assert scoring.score(instrument, answers).overall == "possible_concern"
    assert differences(instrument, answers) == {}
    # and false counts as 0: with nothing answered the condition does not hold
    assert scoring.score(instrument, {}).overall != "possible_concern"
    assert differences(instrument, {}) == {}
