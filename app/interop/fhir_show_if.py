"""show_if -> FHIR enableWhen, where enableWhen can say the same thing (see `app.interop.fhir`).

Translated: `x == v`, `x in [v, w]` (one condition per value, any), `'v' in x` on a multiple
choice, `<`, `<=`, `>`, `>=` on numbers and dates, `answered(x)` (exists), `not answered(x)`, and
these joined by only `or` (enableBehavior any) or only `and` (all). Anything else is not.
A comparison with a special answer (`x == 'declined'`) is not translated: TellOnce's responses never carry
a special answer as a coding (the item has no answer and a data-absent-reason), so no enableWhen could
match it (`coding` answers None for it). `answered(x)` is false for a special answer, and so is FHIR
`exists` on our responses (the item has no answer); only a partner's form filler that answers with
TellOnce's special-answer codings would see `exists` true there.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from instruments.compiled import CompiledInstrument
from instruments.model import CHOICE_TYPES, Item

Coder = Callable[[Item, str], dict[str, Any] | None]


def enable_when(instrument: CompiledInstrument, source: str, coding: Coder) -> dict[str, Any] | None:
    """`enableWhen` (+ `enableBehavior`) for a simple show_if; None when enableWhen cannot say it.

    `coding(item, code)` gives the Coding of an answer code of a choice item (None if it has none).
    """
    try:
        found = _conditions(instrument, ast.parse(source.strip(), mode="eval").body, coding)
    except (SyntaxError, ValueError):
        return None
    if found is None:
        return None
    behavior, conditions = found
    out: dict[str, Any] = {"enableWhen": conditions}
    if len(conditions) > 1:
        out["enableBehavior"] = behavior
    return out


def _conditions(
    instrument: CompiledInstrument, node: ast.expr, coding: Coder
) -> tuple[str, list[dict[str, Any]]] | None:
    if isinstance(node, ast.BoolOp):
        behavior = "any" if isinstance(node.op, ast.Or) else "all"
        parts = [_conditions(instrument, v, coding) for v in node.values]
        if any(p is None or (len(p[1]) > 1 and p[0] != behavior) for p in parts):
            return None
        return behavior, [c for p in parts if p is not None for c in p[1]]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "answered":
        return _exists(instrument, node, True)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Call):
        call = node.operand
        if isinstance(call.func, ast.Name) and call.func.id == "answered":
            return _exists(instrument, call, False)
        return None
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    op, left, right = node.ops[0], node.left, node.comparators[0]
    if isinstance(left, ast.Name) and getattr(instrument.items.get(left.id), "type", "") == "multiple_choice":
        return None  # `x == 'a'` on a list of codes is never true in TellOnce; write `'a' in x`
    if isinstance(op, ast.In) and isinstance(left, ast.Name) and isinstance(right, (ast.List, ast.Tuple)):
        values = [ast.literal_eval(v) for v in right.elts]
        conditions = [_condition(instrument, left.id, "=", v, coding) for v in values]
        return None if None in conditions else ("any", [c for c in conditions if c is not None])
    if isinstance(op, ast.In) and isinstance(left, ast.Constant) and isinstance(right, ast.Name):
        item = instrument.items.get(right.id)
        if item is None or item.type != "multiple_choice":
            return None
        left, right = right, left
        op = ast.Eq()
    symbol = {ast.Eq: "=", ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<="}.get(type(op))
    if symbol is None or not isinstance(left, ast.Name) or not isinstance(right, ast.Constant):
        return None
    condition = _condition(instrument, left.id, symbol, right.value, coding)
    return None if condition is None else ("all", [condition])


def _exists(instrument: CompiledInstrument, call: ast.Call, present: bool) -> tuple[str, list[dict[str, Any]]] | None:
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Name) or call.args[0].id not in instrument.items:
        return None
    return "all", [{"question": call.args[0].id, "operator": "exists", "answerBoolean": present}]


def _condition(
    instrument: CompiledInstrument, item_id: str, operator: str, value: Any, coding: Coder
) -> dict[str, Any] | None:
    item = instrument.items.get(item_id)
    if item is None:
        return None
    out: dict[str, Any] = {"question": item_id, "operator": operator}
    if item.type in CHOICE_TYPES and isinstance(value, str) and operator == "=":
        answer = coding(item, value)
        if answer is None:
            return None
        out["answerCoding"] = answer
    elif item.type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        integer = getattr(item, "integer", True) and float(value).is_integer()
        out["answerInteger" if integer else "answerDecimal"] = int(value) if integer else value
    elif item.type == "date" and isinstance(value, str):
        out["answerDate"] = value
    elif item.type in ("short_text", "long_text") and isinstance(value, str) and operator == "=":
        out["answerString"] = value
    else:
        return None
    return out
