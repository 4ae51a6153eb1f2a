"""Reading a youth's page of answers from a submitted form."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from app.i18n import _
from app.web_forms import item_answer
from instruments.compiled import CompiledInstrument
from scoring import answer_problem


def parse_page(
    instrument: CompiledInstrument, shown: list[str], form: FormData
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers for the shown items (None where skipped) and, per item, what is wrong (in the page's words)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item_id in shown:
        item = instrument.items[item_id]
        field = f"q_{item_id}"
        if item.type == "notice":
            continue
        value, wrong = item_answer(item, [str(v) for v in form.getlist(field)])  # a special answer wins
        if wrong:
            errors[item_id] = wrong
            continue
        if answer_problem(instrument, item_id, value):
            errors[item_id] = _("Please check this answer, or leave it empty.")
            continue
        answers[item_id] = value
    return answers, errors
