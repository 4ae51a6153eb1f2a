"""Reading a youth's page of answers from a submitted form."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from app.web_forms import typed_value
from instruments.compiled import CompiledInstrument
from instruments.model import DECLINED
from scoring import answer_problem


def parse_page(
    instrument: CompiledInstrument, shown: list[str], form: FormData
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers for the shown items (None where skipped) and, per item, what is wrong."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item_id in shown:
        item = instrument.items[item_id]
        field = f"q_{item_id}"
        if item.type == "notice":
            continue
        if item.type == "multiple_choice":
            chosen = [str(v) for v in form.getlist(field)]
            value: Any = DECLINED if DECLINED in chosen else (chosen or None)
        else:
            raw = str(form.get(field) or "")
            value, wrong = (DECLINED, None) if raw == DECLINED else typed_value(item, raw)
            if wrong:
                errors[item_id] = "number"
                continue
        problem = answer_problem(instrument, item_id, value)
        if problem:
            errors[item_id] = "invalid"
            continue
        answers[item_id] = value
    return answers, errors
