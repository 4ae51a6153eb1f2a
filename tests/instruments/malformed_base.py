"""A small valid instrument as YAML text, and helpers to break it one targeted edit at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments

BASE = """\
id: base-check
version: 1.0.0
title: {en: Base check, es: Revisión base}
description: {en: A test instrument, es: Un instrumento de prueba}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance:
  validated: false
  statement: {en: Written for tests, es: Escrito para pruebas}
modes: [self, interview]
languages: [en, es]
default_language: en
sections:
  - id: home
    title: {en: Home, es: Hogar}
  - id: work
    title: {en: Work, es: Trabajo}
domains:
  - id: housing
    title: {en: Housing, es: Vivienda}
    indicators:
      - {id: housing.unstable, text: {en: Unstable housing, es: Vivienda inestable}, key: true}
  - id: work
    title: {en: Work, es: Trabajo}
    indicators:
      - {id: work.long_hours, text: {en: Long hours, es: Muchas horas}}
      - {id: work.unpaid, text: {en: Unpaid work, es: Trabajo sin pago}}
items:
  - id: slept_elsewhere
    section: home
    type: single_choice
    text: {en: 'Did you sleep elsewhere?', es: '¿Dormiste en otro lugar?'}
    options:
      - {code: yes, label: {en: Yes, es: Sí}, weight: 2}
      - {code: no, label: {en: No, es: No}}
      - {code: not_sure, label: {en: Not sure, es: No sé}, weight: 1}
    indicates:
      - {indicator: housing.unstable, level: clear_concern, answers: [yes]}
      - {indicator: housing.unstable, level: possible_concern, answers: [not_sure]}
  - id: felt_safe
    section: home
    type: yes_no
    text: {en: 'Did you feel safe there?', es: '¿Te sentiste seguro allí?'}
    show_if: "slept_elsewhere in ['yes', 'not_sure']"
  - id: hours
    section: work
    type: number
    text: {en: Hours worked last week, es: Horas trabajadas la semana pasada}
    minimum: 0
    maximum: 168
    indicates:
      - {indicator: work.long_hours, level: possible_concern, when: "hours >= 40"}
  - id: paid_with
    section: work
    type: multiple_choice
    text: {en: 'How were you paid?', es: '¿Cómo te pagaron?'}
    options:
      - {code: money, label: {en: Money, es: Dinero}}
      - {code: food, label: {en: Food, es: Comida}}
      - {code: nothing, label: {en: Nothing, es: Nada}, weight: 2}
    indicates:
      - {indicator: work.unpaid, level: clear_concern, answers: [nothing]}
scoring:
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: a, es: a}}
    - {level: possible_concern, when: "any(indicators, level='possible_concern')", explain: {en: b, es: b}}
    - {level: no_concern, explain: {en: c, es: c}}
  overall:
    - {level: clear_concern, when: "any(indicators, key=true, level='clear_concern')", explain: {en: a, es: a}}
    - {level: possible_concern, when: "sum(weights) >= 1", explain: {en: b, es: b}}
    - {level: no_concern, explain: {en: c, es: c}}
"""

SHOW_IF = """show_if: "slept_elsewhere in ['yes', 'not_sure']\""""
"""The one show_if of the base instrument (on `felt_safe`), for cases that replace it."""

RATING_ITEM = """\
  - id: unpaid_rating
    section: work
    type: indicator_rating
    text: {en: Rate unpaid work, es: Califica el trabajo sin pago}
    indicator: work.unpaid
"""
"""An indicator_rating item, to append to the items."""


def edit(*changes: tuple[str, str], text: str = BASE) -> str:
    """`text` with each (old, new) applied; each `old` must occur exactly once, so every edit is targeted."""
    for old, new in changes:
        assert text.count(old) == 1, f"not exactly one {old!r} in the text"
        text = text.replace(old, new)
    return text


def add_item(item: str, text: str = BASE) -> str:
    """`text` with an item appended to the items."""
    return edit(("scoring:\n", item + "scoring:\n"), text=text)


def line_with(text: str, marker: str) -> int:
    """The number (from 1) of the one line of `text` that contains `marker`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(found) == 1, f"{marker!r} is on lines {found}, not on exactly one"
    return found[0]


def case(
    case_id: str,
    text: str,
    code: str,
    line: str | int,
    path: str | None = None,
    phrase: str | None = None,
    bug: str | None = None,
) -> object:
    """One malformed file; `line` is the line number or a text found on exactly that line.

    `bug` marks a case where the loader is known to be wrong today: the case states the correct
    behaviour and is a strict xfail, so it starts failing (and must be unmarked) once fixed.
    """
    marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
    return pytest.param(text, code, line, path, phrase, id=case_id, marks=marks)


def check_one_problem(
    tmp_path: Path, text: str, code: str, line: str | int, path: str | None, phrase: str | None
) -> None:
    """Write `text` to a file, load it, and check it reports exactly that one problem."""
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    loaded_result = instruments.load([file])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    assert [p.code for p in problems] == [code], "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.file == str(file)
    assert problem.line == (line if isinstance(line, int) else line_with(text, line)), str(problem)
    if path is not None:
        assert problem.path == path
    if phrase is not None:
        assert phrase in problem.message, str(problem)
    assert "Traceback" not in str(problem)
