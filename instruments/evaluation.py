"""What compiled expressions do when they run: the context they read, and the operations they use.

Kept apart from the compiler (`instruments.expressions`) so that the rules of evaluation -- every
comparison with None is false, arithmetic with None gives None, a single answer is a one-element
collection for `in` -- sit in one short file.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class Context:
    """The values an expression is evaluated against."""

    __slots__ = ("domain_levels", "indicator_levels", "scope_indicators", "values")

    def __init__(
        self,
        values: Mapping[str, Any],
        indicator_levels: Mapping[str, str] | None = None,
        domain_levels: Mapping[str, str] | None = None,
        scope_indicators: Sequence[str] = (),
    ) -> None:
        self.values = values
        self.indicator_levels = indicator_levels or {}
        self.domain_levels = domain_levels or {}
        self.scope_indicators = scope_indicators


Evaluator = Callable[[Context], Any]


def compare_values(op: ast.cmpop, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    try:
        if isinstance(op, ast.Eq):
            return bool(left == right)
        if isinstance(op, ast.NotEq):
            return bool(left != right)
        if isinstance(op, (ast.In, ast.NotIn)):
            # A single answer is a one-element collection: 'no' in x is x == 'no', never a substring test.
            collection = (right,) if isinstance(right, str) else right
            if not isinstance(collection, (list, tuple, frozenset, set)):
                return False
            return (left in collection) == isinstance(op, ast.In)
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def arith(op: ast.operator, left: Any, right: Any) -> Any:
    if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
        return None
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    return None if right == 0 else left / right


ORDERING: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def bool_op(conjunction: bool, parts: list[Evaluator]) -> Evaluator:
    """and/or with short-circuit, without a generator per call."""
    if len(parts) == 2:
        first, second = parts
        if conjunction:
            return lambda ctx: bool(first(ctx)) and bool(second(ctx))
        return lambda ctx: bool(first(ctx)) or bool(second(ctx))

    def evaluate(ctx: Context) -> bool:
        for part in parts:
            if bool(part(ctx)) != conjunction:
                return not conjunction
        return conjunction

    return evaluate


def over(
    name: str,
    members: Callable[[Context], Sequence[str]],
    levels: frozenset[str] | None,
    table: Callable[[Context], Mapping[str, str]],
) -> Evaluator:
    """count / any / all over indicators or domains whose level is among `levels` (None: any level)."""
    if levels is None:
        if name == "count":
            return lambda ctx: len(members(ctx))
        return lambda ctx: bool(members(ctx)) if name == "any" else True

    def count(ctx: Context) -> int:
        get = table(ctx).get
        return sum(1 for m in members(ctx) if get(m, "unknown") in levels)

    def any_(ctx: Context) -> bool:
        get = table(ctx).get
        for m in members(ctx):  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if get(m, "unknown") in levels:
                return True
        return False

    def all_(ctx: Context) -> bool:
        get = table(ctx).get
        for m in members(ctx):  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if get(m, "unknown") not in levels:
                return False
        return True

    return {"count": count, "any": any_}.get(name, all_)


def matching(
    members: Callable[[Context], Sequence[str]],
    levels: frozenset[str] | None,
    table: Callable[[Context], Mapping[str, str]],
) -> Callable[[Context], tuple[str, ...]]:
    """The members (indicators or domains) whose level is among `levels`: what a clause counted."""

    def chosen(ctx: Context) -> tuple[str, ...]:
        get = table(ctx).get
        return tuple(m for m in members(ctx) if levels is None or get(m, "unknown") in levels)

    return chosen
