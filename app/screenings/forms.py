"""The screening form as HTML: which items a page shows, how answers read as labels, and parsing a posted page.

Pure helpers over a compiled instrument (no database): the page routes call them around the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from app.screenings.answer_labels import SPECIAL_CODES, label
from app.screenings.answer_labels import answer_label as answer_label  # the form shows earlier answers with it
from app.texts import text
from app.web_forms import item_answer
from instruments.compiled import RATING_CODES, YES_NO_LABELS, CompiledInstrument
from instruments.model import DECLINED, NOT_ENOUGH_INFO, Item, Section, wording
from scoring import shown_items

FIELD = "answer."  # form field prefix: item ids may not collide with csrf_token, version, notes, action
SPECIAL = ".special"  # suffix of the "prefer not to answer" box beside number, date and text inputs
RADIO_TYPES = frozenset({"yes_no", "single_choice", "indicator_rating"})
INPUT_TYPES = frozenset({"number", "date", "short_text", "long_text"})


@dataclass
class Question:
    """One item as the form shows it: its choices, the value to show, and any error."""

    item: Item
    text: str
    help: str
    guidance: str = ""  # the rater guidance of an indicator_rating item's indicator
    choices: list[tuple[str, str]] = field(default_factory=list)  # (code, label), options first
    specials: list[tuple[str, str]] = field(default_factory=list)  # special answers beside an input
    value: Any = None
    error: str | None = None

    @property
    def id(self) -> str:
        """The item id."""
        return self.item.id

    @property
    def name(self) -> str:
        """The form field name."""
        return FIELD + self.item.id

    @property
    def input_value(self) -> str:
        """What goes in a number, date or text input (a special answer shows as an empty box)."""
        if self.value is None or self.special:
            return ""
        number = self.value
        return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)

    @property
    def special(self) -> str:
        """The special answer chosen beside a number, date or text input, or ''."""
        return self.value if isinstance(self.value, str) and self.value in SPECIAL_CODES else ""

    @property
    def described_by(self) -> str:
        """The ids of the texts that describe the question (guidance, help, error)."""
        parts = (("g-", self.guidance), ("h-", self.help), ("e-", self.error))
        return " ".join(prefix + self.item.id for prefix, present in parts if present)

    def answer_text(self, value: Any) -> str:
        """An answer to this question as words (an earlier answer shown beside it)."""
        words = dict(self.choices + self.specials)
        if isinstance(value, list):
            return ", ".join(words.get(v, str(v)) for v in value)
        return words.get(value, str(value)) if isinstance(value, str) else str(value)

    def checked(self, code: str) -> bool:
        """Whether a radio button or check box is selected."""
        return code in self.value if isinstance(self.value, list) else self.value == code


def sections(instrument: CompiledInstrument) -> tuple[Section, ...]:
    """The pages of the form, in order."""
    return instrument.definition.sections


def page_items(instrument: CompiledInstrument, page: int, answers: Mapping[str, Any]) -> list[Item]:
    """The items of a page (1-based) that are shown given the answers."""
    section = sections(instrument)[page - 1]
    shown = shown_items(instrument, answers)  # scoring's own rule: a page never shows what is not scored
    return [i for i in instrument.definition.items if i.section == section.id and i.id in shown]


def questions(
    instrument: CompiledInstrument,
    items: list[Item],
    values: Mapping[str, Any],
    language: str,
    mode: str,
    errors: Mapping[str, str] | None = None,
) -> list[Question]:
    """The view of each item for the form template."""
    default = instrument.definition.default_language
    indicators = {i.id: i for d in instrument.definition.domains for i in d.indicators}
    offer_not_enough_info = instrument.allows_not_enough_info and mode != "self"
    out = []
    for item in items:
        words, help_words = wording(item, mode)
        question = Question(
            item=item,
            text=text(words, language, default),
            help=text(help_words, language, default),
            value=values.get(item.id),
            error=(errors or {}).get(item.id),
        )
        if item.type == "indicator_rating":
            indicator = indicators.get(item.indicator)
            question.guidance = text(indicator.guidance, language, default) if indicator else ""
            question.choices = [(c, label(c, language)) for c in (*RATING_CODES, NOT_ENOUGH_INFO)]
        elif item.type != "notice":
            if item.type == "yes_no":
                question.choices = [(c, YES_NO_LABELS[c].get(language, c)) for c in ("yes", "no")]
            else:
                question.choices = [(o.code, text(o.label, language, default)) for o in getattr(item, "options", ())]
            extra = [(DECLINED, label(DECLINED, language, mode))]
            if offer_not_enough_info:
                extra.append((NOT_ENOUGH_INFO, label(NOT_ENOUGH_INFO, language)))
            if item.type in INPUT_TYPES:
                question.specials = extra
            else:
                question.choices += extra
        out.append(question)
    return out


def parse_page(
    instrument: CompiledInstrument, items: list[Item], form: FormData
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers a posted page gives its items (None = unanswered or cleared), and per-item errors."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in items:
        if item.type not in RADIO_TYPES | INPUT_TYPES | {"multiple_choice"}:
            continue
        name = FIELD + item.id
        posted = [v for v in (*form.getlist(name), *form.getlist(name + SPECIAL)) if isinstance(v, str)]
        answers[item.id], problem = item_answer(item, posted)  # a special answer wins: docs/pages-and-forms.md
        if problem:
            errors[item.id] = problem
    return answers, errors


def form_fields(answers: Mapping[str, Any], instrument: CompiledInstrument) -> list[tuple[str, str]]:
    """(name, value) pairs that post these answers again (to re-send them after a conflict)."""
    pairs: list[tuple[str, str]] = []
    for item_id, value in answers.items():
        item = instrument.items.get(item_id)
        if value is None or item is None:
            continue
        name = FIELD + item_id
        if isinstance(value, list):
            pairs += [(name, v) for v in value]
        elif item.type in INPUT_TYPES and isinstance(value, str) and value in SPECIAL_CODES:
            pairs.append((name + SPECIAL, value))
        else:
            number = value
            pairs.append((name, str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)))
    return pairs
