"""The expression language of `show_if`, `indicates.when` and scoring rules.

Expressions are a small subset of Python's expression syntax. Python's own parser (`ast`) reads
them; this module then walks the tree, refuses anything outside the subset, checks every name
against the instrument, and compiles the tree into plain closures. Nothing is ever passed to
`eval`, `exec` or `compile`.

Semantics worth knowing:
- an item name stands for its answer; an unanswered item is None, and every comparison with
  None is false (so `x != 'yes'` is false for an unanswered `x`; write `not x == 'yes'` to mean
  "anything but yes, including no answer");
- arithmetic with None gives None; division by zero gives None.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from instruments.evaluation import ORDERING, Evaluator, arith, bool_op, compare_values, matching, over
from instruments.evaluation import Context as Context  # re-exported: the context expressions run against
from instruments.model import LEVELS, RESULT_LEVELS, SPECIAL_ANSWERS, is_informative

INDICATOR_LEVELS = frozenset(("unknown", *LEVELS))
DOMAIN_LEVELS = frozenset(("unknown", *RESULT_LEVELS))  # "unknown": what results stored before 1.1 called it
COLLECTIONS = ("items", "indicators", "domains", "weights")
OPERATORS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class ExpressionError(Exception):
    """A problem in one expression, with the 1-based column where it starts."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class ItemInfo:
    """What the compiler needs to know about one item."""

    id: str
    type: str
    section: str
    codes: frozenset[str] | None  # option codes for choice items; None for free answers
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    """What an expression may refer to, by where it appears."""

    items: Mapping[str, ItemInfo]
    sections: frozenset[str]
    indicators: Mapping[str, tuple[str, bool]] | None = None  # id -> (domain, key)
    domains: frozenset[str] | None = None
    in_domain_rule: bool = False
    total: Expression | None = None  # what `total()` reads, in overall rules
    domain_order: tuple[str, ...] = ()  # the domains in the order of the definition


@dataclass(frozen=True)
class Part:
    """One clause of a condition (a part joined by `or` at the top level, or the whole condition).

    When the clause is an aggregate (count, sum, any, all, total()) it can also say which members it
    counted and, for a comparison with a number, the number compared and the bound: what a reason
    needs to name the clause that fired instead of the whole rule.
    """

    source: str
    evaluate: Evaluator
    collection: str | None = None  # items, indicators, domains, weights or total
    members: Evaluator | None = None  # ctx -> the ids the aggregate counted
    value: Evaluator | None = None  # ctx -> the number compared with `bound`
    op: str | None = None
    bound: float | None = None
    filters: tuple[tuple[str, Any], ...] = ()  # the aggregate's literal filters, e.g. (("level", "clear_concern"),)


@dataclass(frozen=True)
class Expression:
    """A compiled expression: call `evaluate(context)`."""

    source: str
    evaluate: Evaluator
    items: frozenset[str]
    indicators: frozenset[str]
    uses_indicator_levels: bool
    uses_domain_levels: bool
    is_constant: bool
    parts: tuple[Part, ...] = ()
    warnings: tuple[str, ...] = ()  # likely not what the author meant; never stop a load (see `unanswered_trap`)

    def truth(self, context: Context) -> bool:
        """Evaluate as a condition."""
        return bool(self.evaluate(context))


_NAME_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_MISSING = object()


def compile_expression(source: str, scope: Scope) -> Expression:
    """Parse and check `source` against `scope`; raise ExpressionError with its position."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        text = source.strip()
        column = exc.offset if exc.offset and 0 < exc.offset <= len(text) else len(text) + 1
        raise ExpressionError(f"cannot read this expression: {exc.msg}", column) from None
    compiler = _Compiler(scope)
    evaluate = compiler.node(tree.body)
    constant = not (compiler.items or compiler.indicators or compiler.uses_levels or compiler.uses_domains)
    text = source.strip()
    clauses = (
        tree.body.values if isinstance(tree.body, ast.BoolOp) and isinstance(tree.body.op, ast.Or) else [tree.body]
    )
    return Expression(
        source=source,
        evaluate=evaluate,
        items=frozenset(compiler.items),
        indicators=frozenset(compiler.indicators),
        uses_indicator_levels=compiler.uses_levels,
        uses_domain_levels=compiler.uses_domains,
        is_constant=constant,
        parts=tuple(compiler.part(node, ast.get_source_segment(text, node) or text) for node in clauses),
        # dict.fromkeys: a clause is walked again to describe it (`part`), which notes its traps again
        warnings=tuple(dict.fromkeys(m for item, m in compiler.traps if item not in compiler.answered_items)),
    )


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


class _Compiler:
    """Walks one parsed expression and builds closures, collecting what it refers to."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.items: set[str] = set()
        self.indicators: set[str] = set()
        self.uses_levels = False
        self.uses_domains = False
        self.traps: list[tuple[str, str]] = []  # (item, warning): see `unanswered_trap`
        self.answered_items: set[str] = set()  # items the expression asks answered(...) of: then it is explicit

    def node(self, node: ast.expr) -> Evaluator:
        if isinstance(node, ast.BoolOp):
            return bool_op(isinstance(node.op, ast.And), [self.node(v) for v in node.values])
        if isinstance(node, ast.UnaryOp):
            operand = self.node(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda ctx: not operand(ctx)
            if isinstance(node.op, ast.USub):
                return lambda ctx: -v if isinstance(v := operand(ctx), (int, float)) else None
            raise ExpressionError("this operator is not part of the language", _col(node))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                raise ExpressionError("only + - * / are allowed in arithmetic", _col(node))
            left, right, op = self.node(node.left), self.node(node.right), node.op
            return lambda ctx: arith(op, left(ctx), right(ctx))
        if isinstance(node, ast.Constant):
            value = node.value
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise ExpressionError("only text, numbers, true and false are allowed", _col(node))
            return lambda ctx: value
        if isinstance(node, (ast.List, ast.Tuple)):
            values = tuple(self.literal(e) for e in node.elts)
            return lambda ctx: values
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise ExpressionError(
                "dotted names are not allowed here; use level('domain.indicator') for an indicator",
                _col(node),
            )
        raise ExpressionError(f"'{type(node).__name__}' is not part of the expression language", _col(node))

    def part(self, node: ast.expr, source: str) -> Part:
        """Compile one clause again, with what it counted when it is an aggregate."""
        evaluate = self.node(node)
        target, op, bound = node, None, None
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and type(node.ops[0]) in OPERATORS
            and isinstance(node.comparators[0], ast.Constant)
            and isinstance(node.comparators[0].value, (int, float))
            and not isinstance(node.comparators[0].value, bool)
        ):
            target, op, bound = node.left, OPERATORS[type(node.ops[0])], float(node.comparators[0].value)
        counted = self.counted(target)
        if counted is None:
            return Part(source, evaluate)
        collection, members = counted
        value = self.node(target) if op is not None else None
        filters: tuple[tuple[str, Any], ...] = ()
        if isinstance(target, ast.Call) and collection != "total":
            filters = tuple(
                (kw.arg, self.literal_filter({kw.arg: kw.value}, kw.arg))
                for kw in target.keywords
                if kw.arg is not None
            )
        return Part(source, evaluate, collection, members, value, op, bound, filters)

    def counted(self, node: ast.expr) -> tuple[str, Evaluator] | None:
        """(collection, members) for an aggregate call, or None for anything else."""
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            return None
        if node.func.id == "total" and self.scope.total is not None:
            total = self.scope.total.parts[0] if self.scope.total.parts else None
            members = total.members if total is not None and total.members is not None else (lambda ctx: ())
            return "total", members
        if node.func.id not in ("count", "any", "all", "sum") or not node.args:
            return None
        first = node.args[0]
        if not isinstance(first, ast.Name) or first.id not in COLLECTIONS:
            return None
        filters = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        if first.id == "weights" or node.func.id == "sum":
            return "weights", self.weighted_members(node, filters)
        if first.id == "items":
            return "items", self.matching_items(node, filters)
        if first.id == "indicators":
            pool, levels = self.indicator_pool(node, filters), self.levels_filter(node, filters)
            return "indicators", matching(pool, levels, lambda ctx: ctx.indicator_levels)
        domains, levels = self.all_domains, self.levels_filter(node, filters)
        return "domains", matching(lambda ctx: domains, levels, lambda ctx: ctx.domain_levels)

    def literal(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
            return node.value
        if isinstance(node, ast.Name) and node.id in _NAME_CONSTANTS:
            return _NAME_CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.literal(node.operand)
            if isinstance(inner, (int, float)):
                return -inner
        raise ExpressionError("a list may only hold text and numbers", _col(node))

    def name(self, node: ast.Name) -> Evaluator:
        if node.id in _NAME_CONSTANTS:
            value = _NAME_CONSTANTS[node.id]
            return lambda ctx: value
        if node.id in COLLECTIONS:
            raise ExpressionError(f"'{node.id}' can only be the first argument of count, sum, any or all", _col(node))
        if node.id not in self.scope.items:
            raise ExpressionError(f"unknown item '{node.id}'", _col(node))
        self.items.add(node.id)
        item_id = node.id
        return lambda ctx: ctx.values.get(item_id)

    def compare(self, node: ast.Compare) -> Evaluator:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, (ast.Is, ast.IsNot)):
                raise ExpressionError("use == and != instead of 'is'", _col(node))
            self.check_codes(left, right, op)
            self.check_codes(right, left, op)
            self.unanswered_trap(left, right, op)
        compiled = [self.node(o) for o in operands]
        ops = list(node.ops)
        if len(ops) == 1:
            first_op, first, second = ops[0], compiled[0], compiled[1]
            right = node.comparators[0]
            ordering = ORDERING.get(type(first_op))
            if ordering is not None and isinstance(right, ast.Constant) and type(right.value) in (int, float):
                # the common `count(...) >= 2`: a number (true and false count as 1 and 0, as in the
                # general comparison) needs none of the general comparison's checks
                bound = right.value
                return lambda ctx: (
                    bool(ordering(v, bound))
                    if isinstance(v := first(ctx), (int, float))
                    else compare_values(first_op, v, bound)
                )
            return lambda ctx: compare_values(first_op, first(ctx), second(ctx))

        def chain(ctx: Context) -> bool:
            values = [c(ctx) for c in compiled]
            return all(compare_values(op, a, b) for op, a, b in zip(ops, values, values[1:], strict=False))

        return chain

    def unanswered_trap(self, left: ast.expr, right: ast.expr, op: ast.cmpop) -> None:
        """Note `x != 'yes'` and `x not in [...]`: false when x is unanswered, which reads as the opposite.

        An author writing "anything but yes" usually means an unanswered x too; the comparison excludes it
        (every comparison with no answer is false). A warning, not an error: it may be meant, and saying
        `answered(x)` in the same expression makes it explicit (no warning then).
        """
        if not isinstance(op, (ast.NotEq, ast.NotIn)):
            return
        item, other = (left, right) if isinstance(left, ast.Name) else (right, left)
        if not isinstance(item, ast.Name) or item.id not in self.scope.items or isinstance(other, ast.Name):
            return
        written = f"{ast.unparse(left)} {OPERATORS.get(type(op), 'not in')} {ast.unparse(right)}"
        explicit = f"not {ast.unparse(left)} {'==' if isinstance(op, ast.NotEq) else 'in'} {ast.unparse(right)}"
        self.traps.append(
            (
                item.id,
                f"`{written}` is false when '{item.id}' is unanswered; if an unanswered '{item.id}' should count "
                f"here, write `{explicit}`; if not, write `answered({item.id}) and {written}` to say so",
            )
        )

    def check_codes(self, item_node: ast.expr, other: ast.expr, op: ast.cmpop) -> None:
        """Refuse comparing a choice item with a code that it does not offer."""
        if not isinstance(item_node, ast.Name) or item_node.id not in self.scope.items:
            return
        info = self.scope.items[item_node.id]
        if info.codes is None:
            return
        literals: list[tuple[Any, ast.expr]] = []
        if isinstance(other, ast.Constant):
            literals = [(other.value, other)]
        elif isinstance(other, (ast.List, ast.Tuple)) and isinstance(op, (ast.In, ast.NotIn)):
            literals = [(e.value, e) for e in other.elts if isinstance(e, ast.Constant)]
        for value, where in literals:
            if isinstance(value, str) and value not in info.codes and value not in SPECIAL_ANSWERS:
                offered = ", ".join(sorted(info.codes))
                raise ExpressionError(
                    f"'{value}' is not an answer of item '{info.id}' (it offers: {offered})", _col(where)
                )

    def call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only the functions of the language can be called", _col(node))
        name = node.func.id
        if name == "answered":
            if node.args and isinstance(node.args[0], ast.Name):
                self.answered_items.add(node.args[0].id)
            return self.answered(node)
        if name in ("level", "domain_level"):
            return self.level_of(node, name)
        if name in ("count", "any", "all", "sum"):
            return self.aggregate(node, name)
        if name == "total":
            return self.total(node)
        known = "answered, count, sum, any, all, level, domain_level, total"
        raise ExpressionError(f"unknown function '{name}' (known: {known})", _col(node))

    def answered(self, node: ast.Call) -> Evaluator:
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
            raise ExpressionError("answered() takes one item name", _col(node))
        self.name(node.args[0])
        item_id = node.args[0].id
        return lambda ctx: is_informative(ctx.values.get(item_id))

    def total(self, node: ast.Call) -> Evaluator:
        if node.args or node.keywords:
            raise ExpressionError("total() takes no arguments", _col(node))
        if self.scope.total is None or self.scope.in_domain_rule or self.scope.domains is None:
            raise ExpressionError(
                "total() can only be used in overall rules of an instrument that declares scoring.total", _col(node)
            )
        self.items.update(self.scope.total.items)
        self.uses_levels = self.uses_levels or self.scope.total.uses_indicator_levels
        self.uses_domains = self.uses_domains or self.scope.total.uses_domain_levels
        return self.scope.total.evaluate

    def level_of(self, node: ast.Call, name: str) -> Evaluator:
        arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
            raise ExpressionError(f"{name}() takes one id in quotes", _col(node))
        target = arg.value
        if name == "level":
            if self.scope.indicators is None:
                raise ExpressionError("indicator levels cannot be used here", _col(node))
            if target not in self.scope.indicators:
                raise ExpressionError(f"unknown indicator '{target}'", _col(arg))
            self.indicators.add(target)
            self.uses_levels = True
            return lambda ctx: ctx.indicator_levels.get(target, "unknown")
        if self.scope.domains is None or self.scope.in_domain_rule:
            raise ExpressionError("domain levels can only be used in overall rules", _col(node))
        if target not in self.scope.domains:
            raise ExpressionError(f"unknown domain '{target}'", _col(arg))
        self.uses_domains = True
        return lambda ctx: ctx.domain_levels.get(target, "unknown")

    def aggregate(self, node: ast.Call, name: str) -> Evaluator:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name) or node.args[0].id not in COLLECTIONS:
            raise ExpressionError(f"{name}() needs one of items, indicators, domains as first argument", _col(node))
        collection = node.args[0].id
        for kw in node.keywords:
            if kw.arg is None:
                raise ExpressionError("write each filter as name=value; ** is not allowed", _col(kw))
        filters = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        if collection == "weights" or name == "sum":
            if name != "sum" or collection not in ("weights", "items"):
                raise ExpressionError("weights can only be summed: sum(weights, ...)", _col(node))
            return self.sum_weights(node, filters)
        if collection == "items":
            return self.over_items(node, name, filters)
        if collection == "indicators":
            return self.over_indicators(node, name, filters)
        return self.over_domains(node, name, filters)

    def literal_filter(self, filters: dict[str, ast.expr], key: str) -> Any:
        """The literal value (or tuple of values) of a filter such as level='clear_concern', or _MISSING."""
        if key not in filters:
            return _MISSING
        node = filters[key]
        if isinstance(node, (ast.List, ast.Tuple)):
            return tuple(self.literal(e) for e in node.elts)
        return self.literal(node)

    def only(self, node: ast.Call, filters: dict[str, ast.expr], allowed: set[str], what: str) -> None:
        for key, value in filters.items():
            if key not in allowed:
                raise ExpressionError(
                    f"{what} cannot be filtered by '{key}' (allowed: {', '.join(sorted(allowed))})", _col(value)
                )

    def item_selection(self, node: ast.Call, filters: dict[str, ast.expr]) -> tuple[str, ...]:
        section = self.literal_filter(filters, "section")
        among = self.literal_filter(filters, "among")
        chosen = list(self.scope.items.values())
        if section is not _MISSING:
            if section not in self.scope.sections:
                raise ExpressionError(f"unknown section '{section}'", _col(filters["section"]))
            chosen = [i for i in chosen if i.section == section]
        if among is not _MISSING:
            ids = among if isinstance(among, tuple) else (among,)
            for item_id in ids:
                if item_id not in self.scope.items:
                    raise ExpressionError(f"unknown item '{item_id}'", _col(filters["among"]))
            chosen = [i for i in chosen if i.id in ids]
        selected = tuple(i.id for i in chosen if i.type != "notice")
        self.items.update(selected)
        return selected

    def item_matcher(self, filters: dict[str, ast.expr]) -> Callable[[Any], bool]:
        answer = self.literal_filter(filters, "answer")
        wanted = answer if isinstance(answer, tuple) else (answer,)

        def matches(value: Any) -> bool:
            if answer is _MISSING:
                return is_informative(value)
            if isinstance(value, list):
                return any(w in value for w in wanted)
            return value in wanted

        return matches

    def matching_items(self, node: ast.Call, filters: dict[str, ast.expr]) -> Evaluator:
        selected = self.item_selection(node, filters)
        matches = self.item_matcher(filters)
        return lambda ctx: tuple(i for i in selected if matches(ctx.values.get(i)))

    def over_items(self, node: ast.Call, name: str, filters: dict[str, ast.expr]) -> Evaluator:
        self.only(node, filters, {"answer", "section", "among"}, "items")
        selected = self.item_selection(node, filters)
        matches = self.item_matcher(filters)

        if name == "all":
            return lambda ctx: all(matches(ctx.values.get(i)) for i in selected)
        counter: Evaluator = lambda ctx: sum(1 for i in selected if matches(ctx.values.get(i)))  # noqa: E731
        return counter if name == "count" else (lambda ctx: counter(ctx) > 0)

    def weighted_members(self, node: ast.Call, filters: dict[str, ast.expr]) -> Evaluator:
        """The items whose chosen answers carry a weight other than 0."""
        selected = self.item_selection(node, filters)
        tables = [(i, self.scope.items[i].weights) for i in selected if self.scope.items[i].weights]

        def members(ctx: Context) -> tuple[str, ...]:
            out = []
            for item_id, weights in tables:
                value = ctx.values.get(item_id)
                chosen = value if isinstance(value, list) else [value]
                if any(isinstance(v, str) and weights.get(v, 0.0) for v in chosen):
                    out.append(item_id)
            return tuple(out)

        return members

    def sum_weights(self, node: ast.Call, filters: dict[str, ast.expr]) -> Evaluator:
        self.only(node, filters, {"section", "among"}, "weights")
        selected = self.item_selection(node, filters)
        tables = tuple(
            (item_id, self.scope.items[item_id].weights) for item_id in selected if self.scope.items[item_id].weights
        )

        def total(ctx: Context) -> float:
            result = 0.0
            for item_id, weights in tables:
                value = ctx.values.get(item_id)
                if isinstance(value, list):
                    result += sum(weights.get(v, 0.0) for v in value)
                elif isinstance(value, str):
                    result += weights.get(value, 0.0)
            return result

        return total

    def levels_filter(self, node: ast.Call, filters: dict[str, ast.expr]) -> frozenset[str] | None:
        level = self.literal_filter(filters, "level")
        if level is _MISSING:
            return None
        levels = level if isinstance(level, tuple) else (level,)
        first = node.args[0]
        allowed = DOMAIN_LEVELS if isinstance(first, ast.Name) and first.id == "domains" else INDICATOR_LEVELS
        for value in levels:
            if value not in allowed:
                raise ExpressionError(
                    f"unknown level '{value}' (levels: {', '.join(sorted(allowed))})", _col(filters["level"])
                )
        return frozenset(levels)

    def over_indicators(self, node: ast.Call, name: str, filters: dict[str, ast.expr]) -> Evaluator:
        if self.scope.indicators is None:
            raise ExpressionError("indicators cannot be used here", _col(node))
        allowed = {"level", "key"} if self.scope.in_domain_rule else {"level", "key", "domain"}
        self.only(node, filters, allowed, "indicators")
        levels = self.levels_filter(node, filters)
        self.uses_levels = True
        return over(name, self.indicator_pool(node, filters), levels, lambda ctx: ctx.indicator_levels)

    def indicator_pool(self, node: ast.Call, filters: dict[str, ast.expr]) -> Callable[[Context], Sequence[str]]:
        """The indicators in scope (all, or the domain's in a domain rule) that pass the key and domain filters."""
        key = self.literal_filter(filters, "key")
        domain = self.literal_filter(filters, "domain")
        if domain is not _MISSING and (self.scope.domains is None or domain not in self.scope.domains):
            raise ExpressionError(f"unknown domain '{domain}'", _col(filters["domain"]))
        table = self.scope.indicators or {}

        def chosen(ctx: Context) -> tuple[str, ...]:
            return tuple(
                i
                for i in ctx.scope_indicators
                if (key is _MISSING or table[i][1] == bool(key)) and (domain is _MISSING or table[i][0] == domain)
            )

        return chosen

    def over_domains(self, node: ast.Call, name: str, filters: dict[str, ast.expr]) -> Evaluator:
        if self.scope.domains is None or self.scope.in_domain_rule:
            raise ExpressionError("domains can only be used in overall rules", _col(node))
        self.only(node, filters, {"level"}, "domains")
        levels = self.levels_filter(node, filters)
        self.uses_domains = True
        domains = self.all_domains
        return over(name, lambda ctx: domains, levels, lambda ctx: ctx.domain_levels)

    @property
    def all_domains(self) -> tuple[str, ...]:
        """The domains in the order of the definition (what a clause lists them in)."""
        return self.scope.domain_order or tuple(sorted(self.scope.domains or ()))
