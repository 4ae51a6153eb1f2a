"""Reading a posted form page into answers, and showing answers back, for every kind of item."""

from __future__ import annotations

from starlette.datastructures import FormData

from app.screenings import forms
from instruments.compiled import CompiledInstrument
from instruments.loader import load

KINDS = """\
id: form-kinds
version: 1.0.0
title: {en: Form kinds}
description: {en: 'Every kind of item, for the form tests'}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {validated: false, statement: {en: Written for tests}}
modes: [self, interview]
languages: [en]
default_language: en
sections:
  - {id: only, title: {en: Only}}
domains:
  - id: work
    title: {en: Work}
    indicators:
      - {id: work.unpaid, text: {en: Unpaid work}}
items:
  - {id: intro, section: only, type: notice, text: {en: A few questions.}}
  - id: paid_with
    section: only
    type: multiple_choice
    text: {en: 'How were you paid?'}
    options:
      - {code: money, label: {en: Money}}
      - {code: nothing, label: {en: Nothing}}
    indicates:
      - {indicator: work.unpaid, level: clear_concern, answers: [nothing]}
  - {id: hours, section: only, type: number, text: {en: Hours last week}, minimum: 0, maximum: 168}
  - {id: started, section: only, type: date, text: {en: 'When did it start?'}}
  - {id: employer, section: only, type: short_text, text: {en: 'Who do you work for?'}}
  - {id: story, section: only, type: long_text, text: {en: 'Anything else?'}}
  - {id: safe, section: only, type: yes_no, text: {en: 'Do you feel safe?'}, show_if: "hours >= 40"}
scoring:
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: a}}
    - {level: no_concern, explain: {en: c}}
  overall:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: a}}
    - {level: no_concern, explain: {en: c}}
"""


def _instrument() -> CompiledInstrument:
    loaded_result = load(text=KINDS)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is not None, problems
    return compiled


def test_a_posted_page_reads_into_typed_answers() -> None:
    instrument = _instrument()
    items = forms.page_items(instrument, 1, {})
    assert [i.id for i in items] == ["intro", "paid_with", "hours", "started", "employer", "story"]  # safe is hidden
    posted = FormData(
        [
            ("answer.paid_with", "money"),
            ("answer.paid_with", "nothing"),
            ("answer.hours", " 42 "),
            ("answer.started", ""),
            ("answer.started.special", "declined"),
            ("answer.employer", ""),
            ("answer.story", "  "),
        ]
    )
    answers, errors = forms.parse_page(instrument, items, posted)
    assert errors == {}
    assert answers == {
        "paid_with": ["money", "nothing"],
        "hours": 42,
        "started": "declined",
        "employer": None,  # a cleared field clears the answer
        "story": None,
    }
    assert "safe" in {i.id for i in forms.page_items(instrument, 1, answers)}  # its gate is now answered
    again, _ = forms.parse_page(instrument, items, FormData(forms.form_fields(answers, instrument)))
    assert again == answers  # what the conflict page re-sends reads back the same


def test_malformed_input_is_an_error_per_item_and_a_special_answer_wins() -> None:
    instrument = _instrument()
    items = forms.page_items(instrument, 1, {})
    posted = FormData(
        [
            ("answer.paid_with", "money"),
            ("answer.paid_with", "declined"),
            ("answer.hours", "forty"),
            ("answer.employer", "Acme"),
            ("answer.employer.special", "declined"),
        ]
    )
    answers, errors = forms.parse_page(instrument, items, posted)
    assert set(errors) == {"hours"}
    assert answers["hours"] == "forty"  # kept, so the page shows what was typed
    # "Prefer not to answer" wins over a tick or a word beside it, as on the youth's page (docs/pages-and-forms.md)
    assert answers["paid_with"] == answers["employer"] == "declined"


def test_questions_offer_special_answers_by_mode_and_read_back_as_labels() -> None:
    instrument = _instrument()
    items = forms.page_items(instrument, 1, {})
    interview = {q.id: q for q in forms.questions(instrument, items, {"hours": "declined"}, "en", "interview")}
    assert ("declined", "Prefer not to answer") in interview["paid_with"].choices
    assert ("not_enough_info", "Not enough information") in interview["paid_with"].choices
    assert [code for code, _ in interview["hours"].specials] == ["declined", "not_enough_info"]
    assert interview["hours"].special == "declined" and interview["hours"].input_value == ""
    self_mode = {q.id: q for q in forms.questions(instrument, items, {}, "en", "self")}
    assert "not_enough_info" not in [code for code, _ in self_mode["paid_with"].choices]
    assert forms.answer_label(instrument, "paid_with", ["money", "nothing"], "en") == "Money, Nothing"
    assert forms.answer_label(instrument, "hours", 12.0, "en") == "12"
    assert forms.answer_label(instrument, "started", "not_enough_info", "es") == "No hay suficiente información"
    assert forms.answer_label(instrument, "employer", None, "en") == "No answer"
