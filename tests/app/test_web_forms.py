"""The one form layer (`app.web_forms`): one rule for typed numbers, on the practitioner's and the youth's
pages alike; validation errors on the fields one way; a failed write rolled back before the form shows again."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, select
from starlette.datastructures import FormData

from app import i18n, web_forms
from app.errors import Conflict, InvalidInput
from app.models import Agency
from app.portal import answers as youth_form
from app.screenings import forms as practitioner_form
from app.screenings.schemas import AnswersSave
from instruments.compiled import CompiledInstrument
from instruments.loader import load

NUMBERS = """\
id: number-forms
version: 1.0.0
title: {en: Numbers}
description: {en: 'A number item, for the form tests'}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {validated: false, statement: {en: Written for tests}}
modes: [self, interview]
languages: [en]
default_language: en
sections:
  - {id: only, title: {en: Only}}
domains:
  - id: money
    title: {en: Money}
    indicators:
      - {id: money.owed, text: {en: Owes money}}
items:
  - {id: owed, section: only, type: number, text: {en: 'How much do you owe?'}, integer: false}
  - id: ways
    section: only
    type: multiple_choice
    text: {en: 'How do you pay it back?'}
    options:
      - {code: cash, label: {en: Cash}}
      - {code: work, label: {en: Work}}
  - id: debt
    section: only
    type: yes_no
    text: {en: 'Do you owe money?'}
    indicates:
      - {indicator: money.owed, level: possible_concern, answers: ['yes']}
scoring:
  domain:
    - {level: no_concern, explain: {en: c}}
  overall:
    - {level: no_concern, explain: {en: c}}
"""
# (typed, the number read, or None when the form refuses it)
TYPED = [
    ("12", 12),
    ("1,000", 1000),
    ("1,000,000.5", 1000000.5),
    (" -3 ", -3),
    ("2.5", 2.5),
    ("1,00", None),  # a comma that does not group thousands may have meant a decimal: refused, not read as 100
    ("1.000,5", None),
    ("12,5", None),
    ("twelve", None),
    ("1e3", None),
    ("", None),
    ("1" * 5000, None),  # int() refuses 4,300 digits and more with an error: the page answered 500
    ("9" * 31, None),
    ("\u0661\u0662", None),  # Arabic-Indic "12": int() reads it, the form's rule does not
    ("\uff11\uff12", None),  # full-width "12"
]


def _instrument() -> CompiledInstrument:
    loaded_result = load(text=NUMBERS)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is not None, problems
    return compiled


@pytest.mark.parametrize(("typed", "number"), TYPED)
def test_one_rule_for_numbers(typed: str, number: float | None) -> None:
    assert web_forms.parse_number(typed) == number


@pytest.mark.parametrize(("typed", "number"), [t for t in TYPED if t[0].strip()])
def test_the_practitioner_and_youth_pages_read_a_number_alike(typed: str, number: float | None) -> None:
    instrument = _instrument()
    item = instrument.items["owed"]
    staff_answers, staff_errors = practitioner_form.parse_page(
        instrument, [item], FormData([(practitioner_form.FIELD + "owed", typed)])
    )
    youth_answers, youth_errors = youth_form.parse_page(instrument, ["owed"], FormData([("q_owed", typed)]))
    if number is None:
        assert "owed" in staff_errors and "owed" in youth_errors  # both refuse it, each page in its words
        with i18n.rendering_in("es"):
            assert str(staff_errors["owed"]) == "Hace falta un número, por ejemplo 12."
    else:
        assert staff_answers["owed"] == youth_answers["owed"] == number
        assert not staff_errors and not youth_errors


@pytest.mark.parametrize(
    ("item_id", "staff_posted", "youth_posted"),
    [
        ("ways", ["cash", "declined"], ["cash", "declined"]),  # a stray tick beside "prefer not to answer"
        ("owed", ["12", "declined"], ["12", "declined"]),  # typed, and "prefer not to answer" ticked
        ("owed", ["twelve", "declined"], ["twelve", "declined"]),  # not even a number: still declined
    ],
)
def test_prefer_not_to_answer_wins_alike_on_both_pages(
    item_id: str, staff_posted: list[str], youth_posted: list[str]
) -> None:
    instrument = _instrument()
    item = instrument.items[item_id]
    name = practitioner_form.FIELD + item_id
    staff_fields = [(name, staff_posted[0])] + [
        (name + practitioner_form.SPECIAL if item.type == "number" else name, v) for v in staff_posted[1:]
    ]
    staff_answers, staff_errors = practitioner_form.parse_page(instrument, [item], FormData(staff_fields))
    youth_fields = [(f"q_{item_id}", v) for v in youth_posted]
    youth_answers, youth_errors = youth_form.parse_page(instrument, [item_id], FormData(youth_fields))
    assert staff_answers[item_id] == youth_answers[item_id] == "declined"
    assert staff_errors == youth_errors == {}


def test_an_answer_the_api_refuses_goes_on_its_item_in_the_page_s_words() -> None:
    posted = {"version": 1, "answers": {"story": "x" * 20_001, "owed": 12}, "notes": "fine"}
    words = {"notes": "The notes are too long.", "answers": web_forms.answer_refused}
    saved, errors = web_forms.parse(AnswersSave, posted, words, items="answers")
    assert saved is None
    assert {k: str(v) for k, v in errors.items()} == {"story": "This answer is too long: shorten it, or leave it out."}
    long_notes = posted | {"answers": {}, "notes": "x" * 20_001}
    _saved, notes = web_forms.parse(AnswersSave, long_notes, words, items="answers")
    assert notes == {"notes": "The notes are too long."}


class _Release(BaseModel):
    name: str = Field(min_length=1)
    days: int
    ends: int = 0

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Release:
        if self.ends and self.ends < self.days:
            raise ValueError("ends before it starts")
        return self


def test_errors_go_on_their_fields_once_each_with_the_form_s_words() -> None:
    model, errors = web_forms.parse(_Release, {"name": "", "days": "x"}, {"name": "Write a name."})
    assert model is None
    assert {k: str(v) for k, v in errors.items()} == {"name": "Write a name.", "days": "Check this field."}
    words: dict[str, Any] = {"days": lambda error: f"days: {error['type']}"}
    _model, by_kind = web_forms.parse(_Release, {"name": "a", "days": "x"}, words)
    assert by_kind == {"days": "days: int_parsing"}
    _model, whole = web_forms.parse(_Release, {"name": "a", "days": 5, "ends": 2})  # no one field is wrong
    assert list(whole) == ["form"]
    parsed, none = web_forms.parse(_Release, {"name": "a", "days": "3"})
    assert parsed == _Release(name="a", days=3) and none == {}


def test_a_refusal_reads_onto_its_field_its_items_or_the_whole_form() -> None:
    on_field = InvalidInput("That agency cannot receive it.", {"field": "to_agency_id"})
    assert web_forms.refused_errors(on_field, ("to_agency_id",)) == {"to_agency_id": "That agency cannot receive it."}
    assert web_forms.refused_errors(on_field, ()) == {"form": "That agency cannot receive it."}
    per_item = InvalidInput("Some answers are not valid.", {"answers": {"owed": "needs a number"}})
    assert web_forms.refused_errors(per_item, items="answers") == {"owed": "needs a number"}
    assert web_forms.refused_errors(per_item, whole_form="main") == {"main": "Some answers are not valid."}


def test_a_failed_write_is_rolled_back_before_the_form_shows_again(session: Session) -> None:
    with web_forms.attempt(session, Conflict) as tried:
        session.add(Agency(name="Half-written", kind="school"))
        session.flush()
        raise Conflict("Someone else saved first.")
    assert tried.failed and isinstance(tried.error, Conflict)
    assert session.exec(select(Agency).where(Agency.name == "Half-written")).first() is None
    with web_forms.attempt(session, Conflict) as fine:
        session.add(Agency(name="Written", kind="school"))
        session.flush()
    assert not fine.failed
    assert session.exec(select(Agency).where(Agency.name == "Written")).first() is not None


def test_an_unexpected_error_is_not_swallowed(session: Session) -> None:
    with pytest.raises(ValueError), web_forms.attempt(session, Conflict):
        raise ValueError("a bug, not a refusal")


def test_a_refusal_that_keeps_its_writes_keeps_them(session: Session) -> None:
    with web_forms.attempt(session, InvalidInput) as tried:
        session.add(Agency(name="Counted attempt", kind="school"))
        session.flush()
        raise InvalidInput("Slow down.", keep_writes=True)
    assert tried.failed
    assert session.exec(select(Agency).where(Agency.name == "Counted attempt")).first() is not None
