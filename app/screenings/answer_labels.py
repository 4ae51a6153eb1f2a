"""Answers as words: the rating and special answers in both languages, and any stored answer as a person reads it.

Pages, the review and result views, and the FHIR export all name answers the same way; these helpers were in
the HTML form module (`app.screenings.forms`), which the export must not depend on.
"""

from __future__ import annotations

from typing import Any

from app import levels
from app.i18n import _
from instruments.compiled import RATING_CODES, CompiledInstrument
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, STAFF_MODE

# The words of ratings and special answers are the one vocabulary's (`app.levels`, through the catalog), so an
# answer reads the same on the form, the result, the summary and in FHIR as the level it names.
ANSWER_TEXTS = levels.ANSWER_TEXTS
SPECIAL_CODES = frozenset({DECLINED, NOT_ENOUGH_INFO, NOT_ASKED})


def label(code: str, language: str, mode: str | None = None) -> str:
    """A rating or special answer in a language (English when the catalog has none), as the person completing a
    screening in `mode` reads it (None: the young person's words)."""
    return levels.answer_label(code, language, staff=mode == STAFF_MODE)


def answer_label(
    instrument: CompiledInstrument, item_id: str, value: Any, language: str, mode: str | None = None
) -> str:
    """An answer as a person reads it (`mode`: the screening's, for the special answers' words)."""
    if value is None:
        return _("No answer")
    if isinstance(value, list):
        return ", ".join(answer_label(instrument, item_id, v, language, mode) for v in value) or _("None chosen")
    if isinstance(value, str) and value in SPECIAL_CODES:
        return label(value, language, mode)
    item = instrument.items.get(item_id)
    if item is not None and item.type == "indicator_rating" and value in RATING_CODES:
        return label(value, language)
    if item is not None and item.type in ("yes_no", "single_choice", "multiple_choice") and isinstance(value, str):
        return instrument.option_label(item_id, value, language)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
