"""The youth's path through an instrument: welcome, then pages (a section, or one question each)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from instruments.compiled import CompiledInstrument
from instruments.model import Section
from scoring import visible_only


@dataclass(frozen=True)
class Page:
    """One page of questions: 1-based number, its section, and its items in order."""

    number: int
    section: Section
    items: tuple[str, ...]
    first_of_section: bool


def pages(instrument: CompiledInstrument) -> list[Page]:
    """Every page of the instrument, in order."""
    result: list[Page] = []
    for section in instrument.definition.sections:
        items = [i.id for i in instrument.definition.items if i.section == section.id]
        groups = [[i] for i in items] if section.one_question_per_page else [items]
        for position, group in enumerate(groups):
            result.append(Page(len(result) + 1, section, tuple(group), position == 0))
    return result


def shown_items(instrument: CompiledInstrument, page: Page, answers: Mapping[str, Any]) -> list[str]:
    """The page's items that show_if shows given the saved answers (notices always show)."""
    visible = visible_only(instrument, {**{i: None for i in instrument.visibility_order}, **answers})
    return [i for i in page.items if instrument.items[i].type == "notice" or i in visible]


def next_page(
    instrument: CompiledInstrument,
    all_pages: list[Page],
    after: int,
    answers: Mapping[str, Any],
    step: int = 1,
    told: Collection[str] = frozenset(),
) -> int | None:
    """The number of the next (or, with step=-1, previous) page that shows a question not yet `told` (answered
    already, carried from an earlier screening: the youth is not asked again); None past the end."""
    number = after + step
    while 1 <= number <= len(all_pages):
        shown = shown_items(instrument, all_pages[number - 1], answers)
        if any(instrument.items[i].type != "notice" and i not in told for i in shown):
            return number
        number += step
    return None
