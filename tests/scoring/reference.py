"""A reference scorer: what `scoring.score` should conclude, written from the documented semantics.

It reads the instrument's *definition* (the pydantic model: items, domains, scoring rules as text)
and evaluates every expression itself, with its own small interpreter over Python's `ast`. It shares
no code with the engine, the expression compiler or their runtime (`scoring.engine`,
`instruments.expressions`, `instruments.evaluation`, `instruments.compiled`), and it keeps nothing
between calls: every call parses every expression again. It is slow and plain on purpose, so
that each step can be checked against docs/instrument-format.md and DESIGN §5 by reading it.

It expects valid answers (as `scoring.check_answers` accepts them); it does not check them.

The semantics, step by step:

1. an item is shown when it has no show_if or its show_if is true; a hidden item's value is
   `not_asked`, a shown item's value is its answer (None when there is none);
2. an indicator takes the highest level that its informative answers imply (a rating is the
   level itself; `answers` imply the feed's level when the answer, or a chosen code, is listed;
   `when` implies it when the condition holds; any other informative answer implies no concern).
   With no concerning answer:
   - `indicator_needs: one_answer`: no concern when some feeding item has an informative answer,
     else unknown;
   - `every_answer`: no concern when every item that feeds it is settled, else unknown. The items
     that feed an indicator are the item of each feed and the items its `when` reads (a `when`
     that reads an unsettled item could have implied a concern). An item is settled when it has an
     informative answer, or is hidden by a show_if whose items are all settled;
3. a domain whose indicators are all unknown is `insufficient_information`, and no rule ran
   (rule 0, naming nothing); otherwise the first domain rule that holds gives its level, with
   `indicators` meaning the domain's own;
4. the first overall rule that holds gives the overall level;
5. a reason (rule numbers from 1) names what stands at exactly the level it gives: a domain's
   indicators at the domain's level, or the unknown ones for insufficient_information; the overall
   reason the key indicators and the domains at the overall level (for insufficient_information:
   the unknown key indicators and the insufficient domains); nothing for no concern;
6. a reason's clauses are the parts of the rule's `when` that were true: its top-level `or` parts,
   or the whole condition. A part that is an aggregate (`count`, `any`, `all`, `sum`, `total()`),
   or such an aggregate compared with a number written on the right, also names its collection,
   the members it counted (in definition order) and, for the comparison, the number, the operator
   and the bound. Members: items whose answer matches; indicators or domains in the pool whose
   level matches; for weights, the items whose chosen answers carry a weight other than 0; for
   `total()`, the members of the total's own aggregate;
7. the total is `scoring.total.of` evaluated like an overall rule, and its thresholds are the
   (level, operator, bound) of every overall rule part that compares `total()` with a number;
8. a skipped section has at least one shown item and not one informative answer.

Expression rules (docs/instrument-format.md "Expressions"): an unanswered item is None and every
comparison with None is false; other comparisons are Python's, false where Python cannot compare
(text with a number); `in` treats a single answer as a one-element collection; arithmetic with
anything but numbers gives None, and so does division by zero. As in Python, true and false are
1 and 0 to comparisons and arithmetic (`answered(x) >= 1` is `answered(x)`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from instruments.model import Instrument

SPECIAL = ("declined", "not_enough_info", "not_asked")
RANK = {"unknown": 0, "insufficient_information": 0, "no_concern": 0, "possible_concern": 1, "clear_concern": 2}
CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
COLLECTIONS = ("items", "indicators", "domains", "weights")
COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass(frozen=True)
class Clause:
    source: str
    collection: str | None = None
    members: tuple[str, ...] = ()
    value: float | None = None
    op: str | None = None
    bound: float | None = None


@dataclass(frozen=True)
class Reason:
    rule: int
    indicators: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    clauses: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class Result:
    overall: str
    reason: Reason
    domains: dict[str, str]
    domain_reasons: dict[str, Reason]
    indicators: dict[str, str]
    skipped_sections: tuple[str, ...]
    total: float | None
    thresholds: tuple[tuple[str, str, float], ...]
    completeness: tuple[int, int, int, int, int, int]  # total, answered, declined, nei, not asked, unanswered


def informative(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value in SPECIAL)


def is_number(value: Any) -> bool:
    """A number the result reports (a total, a clause's value): never true or false."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_arithmetic(value: Any) -> bool:
    """What arithmetic takes: numbers, and true and false as 1 and 0 (as comparisons see them too)."""
    return isinstance(value, (int, float))


# ---- the expression interpreter ----


@dataclass
class Env:
    """What an expression can see where it is evaluated."""

    definition: Instrument
    value: Callable[[str], Any]  # item id -> its value
    indicator_levels: Mapping[str, str] | None = None
    pool: tuple[str, ...] = ()  # the indicators `indicators` means here
    domain_levels: Mapping[str, str] | None = None
    total: Callable[[], Any] | None = None


def parse(source: str) -> ast.expr:
    return ast.parse(source.strip(), mode="eval").body


def evaluate(source: str, env: Env) -> Any:
    return Interpreter(env).eval(parse(source))


def holds(source: str, env: Env) -> bool:
    return bool(evaluate(source, env))


class Interpreter:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.definition = env.definition

    # -- nodes --

    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(bool(self.eval(v)) for v in node.values)
            return any(bool(self.eval(v)) for v in node.values)
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand)
            if isinstance(node.op, ast.Not):
                return not operand
            if isinstance(node.op, ast.USub):
                return -operand if is_arithmetic(operand) else None
            raise ValueError(f"unsupported unary operator in {ast.dump(node)}")
        if isinstance(node, ast.Compare):
            values = [self.eval(node.left), *(self.eval(c) for c in node.comparators)]
            return all(compare(op, a, b) for op, a, b in zip(node.ops, values, values[1:], strict=False))
        if isinstance(node, ast.BinOp):
            return arithmetic(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            return tuple(literal(e) for e in node.elts)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            return self.env.value(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node)
        raise ValueError(f"not part of the expression language: {ast.dump(node)}")

    def call(self, name: str, node: ast.Call) -> Any:
        if name == "answered":
            return informative(self.env.value(name_of(node.args[0])))
        if name == "level":
            assert self.env.indicator_levels is not None
            return self.env.indicator_levels.get(literal(node.args[0]), "unknown")
        if name == "domain_level":
            assert self.env.domain_levels is not None
            return self.env.domain_levels.get(literal(node.args[0]), "unknown")
        if name == "total":
            assert self.env.total is not None
            return self.env.total()
        if name in ("count", "any", "all", "sum"):
            return self.aggregate(name, node)
        raise ValueError(f"unknown function {name}")

    def aggregate(self, name: str, node: ast.Call) -> Any:
        collection, filters = name_of(node.args[0]), keyword_filters(node)
        if name == "sum" or collection == "weights":
            return sum(weight_of(item, self.env.value(item.id)) for item in self.selected_items(filters))
        if collection == "items":
            matches = [item_matches(filters, self.env.value(i.id)) for i in self.selected_items(filters)]
            return reduce_matches(name, matches)
        pool, levels = self.pool(collection, filters)
        matches = [levels is None or level in levels for _, level in pool]
        return reduce_matches(name, matches)

    # -- what aggregates range over --

    def selected_items(self, filters: Mapping[str, Any]) -> list[Any]:
        return selected_items(self.definition, filters)

    def pool(self, collection: str, filters: Mapping[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, ...] | None]:
        """(id, level) of every member in scope, and the levels asked for (None: any level)."""
        levels = filters.get("level")
        wanted = None if levels is None else (levels if isinstance(levels, tuple) else (levels,))
        if collection == "domains":
            assert self.env.domain_levels is not None
            return [(d.id, self.env.domain_levels[d.id]) for d in self.definition.domains], wanted
        assert self.env.indicator_levels is not None
        key_of = {i.id: i.key for d in self.definition.domains for i in d.indicators}
        domain_of = {i.id: d.id for d in self.definition.domains for i in d.indicators}
        pool = [
            (i, self.env.indicator_levels.get(i, "unknown"))
            for i in self.env.pool
            if ("key" not in filters or key_of[i] == bool(filters["key"]))
            and ("domain" not in filters or domain_of[i] == filters["domain"])
        ]
        return pool, wanted

    def members(self, node: ast.expr) -> tuple[str, tuple[str, ...]] | None:
        """(collection, members) for an aggregate call; None for anything else."""
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            return None
        name = node.func.id
        if name == "total":
            total = self.definition.scoring.total
            assert total is not None
            counted = self.members(parse(total.of))
            return "total", counted[1] if counted is not None else ()
        if name not in ("count", "any", "all", "sum") or not node.args:
            return None
        collection, filters = name_of(node.args[0]), keyword_filters(node)
        if name == "sum" or collection == "weights":
            chosen = [i.id for i in self.selected_items(filters) if weight_of(i, self.env.value(i.id), nonzero=True)]
            return "weights", tuple(chosen)
        if collection == "items":
            items = self.selected_items(filters)
            return "items", tuple(i.id for i in items if item_matches(filters, self.env.value(i.id)))
        pool, levels = self.pool(collection, filters)
        return collection, tuple(m for m, level in pool if levels is None or level in levels)


def compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if isinstance(op, (ast.In, ast.NotIn)):
        collection = (right,) if isinstance(right, str) else right
        if not isinstance(collection, (list, tuple, set, frozenset)):
            return False
        return (left in collection) == isinstance(op, ast.In)
    try:
        if isinstance(op, ast.Eq):
            return bool(left == right)
        if isinstance(op, ast.NotEq):
            return bool(left != right)
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        if isinstance(op, ast.GtE):
            return bool(left >= right)
    except TypeError:  # e.g. text against a number: not comparable, so not true
        return False
    raise ValueError(f"unsupported comparison {op}")


def arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    if not is_arithmetic(left) or not is_arithmetic(right):
        return None
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div):
        return None if right == 0 else left / right
    raise ValueError(f"unsupported operator {op}")


def literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -literal(node.operand)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(literal(e) for e in node.elts)
    raise ValueError(f"not a literal: {ast.dump(node)}")


def name_of(node: ast.expr) -> str:
    assert isinstance(node, ast.Name), ast.dump(node)
    return node.id


def keyword_filters(node: ast.Call) -> dict[str, Any]:
    return {kw.arg: literal(kw.value) for kw in node.keywords if kw.arg is not None}


def selected_items(definition: Instrument, filters: Mapping[str, Any]) -> list[Any]:
    """The items (never notices) that pass the `section` and `among` filters, in definition order."""
    among = filters.get("among")
    among_ids = None if among is None else (among if isinstance(among, tuple) else (among,))
    return [
        item
        for item in definition.items
        if item.type != "notice"
        and ("section" not in filters or item.section == filters["section"])
        and (among_ids is None or item.id in among_ids)
    ]


def item_matches(filters: Mapping[str, Any], value: Any) -> bool:
    """No `answer` filter: the item has an informative answer; else its answer (a chosen code) is wanted."""
    if "answer" not in filters:
        return informative(value)
    wanted = filters["answer"] if isinstance(filters["answer"], tuple) else (filters["answer"],)
    if isinstance(value, list):
        return any(code in value for code in wanted)
    return value in wanted


def weight_of(item: Any, value: Any, nonzero: bool = False) -> Any:
    weights = {o.code: o.weight for o in getattr(item, "options", ()) if o.weight is not None}
    chosen = value if isinstance(value, list) else [value]
    if nonzero:
        return any(isinstance(c, str) and weights.get(c, 0.0) for c in chosen)
    return float(sum(weights.get(c, 0.0) for c in chosen if isinstance(c, str)))


def reduce_matches(name: str, matches: list[bool]) -> Any:
    if name == "count":
        return sum(matches)
    if name == "any":
        return any(matches)
    return all(matches)


def items_read(definition: Instrument, source: str) -> set[str]:
    """Every item an expression reads: by name, through answered(), or through an aggregate over items."""
    item_ids = {i.id for i in definition.items}
    read: set[str] = set()
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Name) and node.id in item_ids and node.id not in COLLECTIONS:
            read.add(node.id)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("count", "any", "all", "sum")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in ("items", "weights")
        ):
            read.update(i.id for i in selected_items(definition, keyword_filters(node)))
    return read


# ---- scoring ----


def score(definition: Instrument, answers: Mapping[str, Any]) -> Result:
    items = {i.id: i for i in definition.items if i.type != "notice"}
    values: dict[str, Any] = {}

    def value(item_id: str) -> Any:
        """An item's value: `not_asked` when its show_if is false, else its answer (None: none)."""
        if item_id not in items:  # a notice takes no answer
            return None
        if item_id not in values:
            item = items[item_id]
            shown = item.show_if is None or holds(item.show_if, Env(definition, value))
            values[item_id] = answers.get(item_id) if shown else "not_asked"
        return values[item_id]

    for item_id in items:
        value(item_id)

    def settled(item_id: str) -> bool:
        if informative(values.get(item_id)):
            return True
        if item_id not in items:
            return False
        show_if = items[item_id].show_if
        return (
            values[item_id] == "not_asked"
            and show_if is not None
            and all(settled(i) for i in items_read(definition, show_if))
        )

    indicators = {
        ind.id: indicator_level(definition, ind.id, values, settled) for d in definition.domains for ind in d.indicators
    }

    domains: dict[str, str] = {}
    domain_reasons: dict[str, Reason] = {}
    for domain in definition.domains:
        members = tuple(i.id for i in domain.indicators)
        if all(indicators[i] == "unknown" for i in members):
            domains[domain.id], domain_reasons[domain.id] = "insufficient_information", Reason(0)
            continue
        env = Env(definition, value, indicators, members)
        number, rule = first_match(definition.scoring.domain, env)
        wanted = {"no_concern": None, "insufficient_information": "unknown"}.get(rule.level, rule.level)
        named = tuple(i for i in members if indicators[i] == wanted)
        domains[domain.id] = rule.level
        domain_reasons[domain.id] = Reason(number, named, (), clauses(rule.when, env))

    every_indicator = tuple(indicators)
    env = Env(definition, value, indicators, every_indicator, domains)
    if definition.scoring.total is not None:
        total_source = definition.scoring.total.of
        env.total = lambda: evaluate(total_source, Env(definition, value, indicators, every_indicator, domains))
    number, rule = first_match(definition.scoring.overall, env)
    key_level = "unknown" if rule.level == "insufficient_information" else rule.level
    keys = tuple(i.id for d in definition.domains for i in d.indicators if i.key)
    reason = Reason(
        number,
        () if rule.level == "no_concern" else tuple(i for i in keys if indicators[i] == key_level),
        () if rule.level == "no_concern" else tuple(d for d in domains if domains[d] == rule.level),
        clauses(rule.when, env),
    )

    total = None
    if env.total is not None:
        raw = env.total()
        total = float(raw) if is_number(raw) else None

    return Result(
        overall=rule.level,
        reason=reason,
        domains=domains,
        domain_reasons=domain_reasons,
        indicators=indicators,
        skipped_sections=skipped_sections(definition, values),
        total=total,
        thresholds=thresholds(definition),
        completeness=completeness(values),
    )


def indicator_level(
    definition: Instrument, indicator_id: str, values: Mapping[str, Any], settled: Callable[[str], bool]
) -> str:
    env = Env(definition, values.get)
    implied: list[str] = []
    feeding: set[str] = set()  # items whose answers the indicator depends on
    for item in definition.items:
        if item.type == "indicator_rating":
            feeds = [None] if item.indicator == indicator_id else []
        else:
            feeds = [f for f in getattr(item, "indicates", ()) if f.indicator == indicator_id]
        for feed in feeds:
            feeding.add(item.id)
            if feed is not None and feed.when is not None:
                feeding |= items_read(definition, feed.when)
            answer = values[item.id]
            if not informative(answer):
                continue
            if feed is None:  # a rating: the answer is the level
                implied.append(answer)
            elif feed.answers is not None:
                chosen = answer if isinstance(answer, list) else [answer]
                implied.append(feed.level if any(c in feed.answers for c in chosen) else "no_concern")
            else:
                assert feed.when is not None
                implied.append(feed.level if holds(feed.when, env) else "no_concern")
    highest = max(implied, key=RANK.__getitem__, default="unknown")
    if RANK[highest] > 0:
        return highest
    if definition.scoring.indicator_needs == "every_answer":
        return "no_concern" if all(settled(i) for i in feeding) else "unknown"
    return highest


def first_match(rules: Any, env: Env) -> tuple[int, Any]:
    for number, rule in enumerate(rules, start=1):
        if rule.when is None or holds(rule.when, env):
            return number, rule
    raise AssertionError("the last rule has no condition")


def clauses(when: str | None, env: Env) -> tuple[Clause, ...]:
    if when is None:
        return ()
    text = when.strip()
    body = parse(when)
    parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.Or) else [body]
    interpreter = Interpreter(env)
    found = []
    for part in parts:
        if not interpreter.eval(part):
            continue
        source = ast.get_source_segment(text, part) or text
        target, op, bound = part, None, None
        if numeric_comparison(part):
            assert isinstance(part, ast.Compare) and isinstance(part.comparators[0], ast.Constant)
            target, op, bound = part.left, COMPARE_OPS[type(part.ops[0])], float(part.comparators[0].value)
        counted = interpreter.members(target)
        if counted is None:
            found.append(Clause(source))
            continue
        number = interpreter.eval(target) if op is not None else None
        found.append(Clause(source, counted[0], counted[1], float(number) if is_number(number) else None, op, bound))
    return tuple(found)


def numeric_comparison(node: ast.expr) -> bool:
    """`anything <op> number`: one comparison, a number written on the right."""
    return (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and type(node.ops[0]) in COMPARE_OPS
        and isinstance(node.comparators[0], ast.Constant)
        and is_number(node.comparators[0].value)
    )


def thresholds(definition: Instrument) -> tuple[tuple[str, str, float], ...]:
    found = []
    for rule in definition.scoring.overall:
        if rule.when is None:
            continue
        body = parse(rule.when)
        parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.Or) else [body]
        for part in parts:
            if (
                numeric_comparison(part)
                and isinstance(part, ast.Compare)
                and isinstance(part.left, ast.Call)
                and isinstance(part.left.func, ast.Name)
                and part.left.func.id == "total"
            ):
                bound = part.comparators[0]
                assert isinstance(bound, ast.Constant)
                found.append((rule.level, COMPARE_OPS[type(part.ops[0])], float(bound.value)))
    return tuple(found)


def skipped_sections(definition: Instrument, values: Mapping[str, Any]) -> tuple[str, ...]:
    skipped = []
    for section in definition.sections:
        in_section = [i.id for i in definition.items if i.section == section.id and i.type != "notice"]
        shown = [values[i] for i in in_section if values[i] != "not_asked"]
        if shown and not any(informative(v) for v in shown):
            skipped.append(section.id)
    return tuple(skipped)


def completeness(values: Mapping[str, Any]) -> tuple[int, int, int, int, int, int]:
    kinds = ["unanswered" if v is None else v if v in SPECIAL else "answered" for v in values.values()]
    return (
        len(kinds),
        kinds.count("answered"),
        kinds.count("declined"),
        kinds.count("not_enough_info"),
        kinds.count("not_asked"),
        kinds.count("unanswered"),
    )
