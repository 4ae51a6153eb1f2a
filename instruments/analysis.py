"""Exhaustive checks over small finite inputs: conditions that are never true, rules that never fire.

Each check enumerates every combination of the values an expression can see, when there are few
enough of them; when there are too many it says nothing rather than guess. Enumerating a superset
of the reachable states can only make more conditions true, so a "never" verdict is always sound.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from instruments.compiled import CompiledRule
from instruments.expressions import Context, Expression, ItemInfo
from instruments.model import RESULT_LEVELS, SPECIAL_ANSWERS
from instruments.source import Path_

MAX_COMBINATIONS = 20_000
LEVEL_VALUES = ("unknown", "no_concern", "possible_concern", "clear_concern")
SPECIAL_VALUES: tuple[Any, ...] = (None, *sorted(SPECIAL_ANSWERS))


def _values_of(info: ItemInfo) -> tuple[Any, ...] | None:
    """Every value an item can hold, or None when that is not a small finite set."""
    if info.codes is None:
        return None
    codes = sorted(info.codes)
    if info.type == "multiple_choice":
        if len(codes) > 8:
            return None
        subsets = [list(c) for r in range(len(codes) + 1) for c in itertools.combinations(codes, r)]
        return (*SPECIAL_VALUES, *subsets)
    return (*SPECIAL_VALUES, *codes)


def never_true(expr: Expression, infos: Mapping[str, ItemInfo]) -> bool:
    """Whether a condition over items is false for every combination of their answers."""
    names = sorted(expr.items)
    domains = [_values_of(infos[n]) for n in names]
    if any(d is None for d in domains):
        return False
    total = 1
    for values in domains:
        total *= len(values or ())
    if total > MAX_COMBINATIONS:
        return False
    for combo in itertools.product(*(d or () for d in domains)):
        if expr.truth(Context(dict(zip(names, combo, strict=True)))):
            return False
    return True


def _first_match(rules: Sequence[CompiledRule], context: Context) -> int:
    for rule in rules:
        if rule.when is None or rule.when.truth(context):
            return rule.index
    return -1


def _domain_states(indicators: Sequence[str]) -> Iterator[dict[str, str]]:
    for combo in itertools.product(LEVEL_VALUES, repeat=len(indicators)):
        if any(level != "unknown" for level in combo):
            yield dict(zip(indicators, combo, strict=True))


def unreachable_rules(
    domain_rules: Sequence[CompiledRule],
    overall_rules: Sequence[CompiledRule],
    domain_indicators: Mapping[str, tuple[str, ...]],
    indicator_table: Mapping[str, tuple[str, bool]],
) -> list[tuple[str, Path_]]:
    """Rules with a condition that no reachable combination of levels lets fire first."""
    found: list[tuple[str, Path_]] = []
    domain_exprs = [r.when for r in domain_rules if r.when is not None]
    sizes = [len(v) for v in domain_indicators.values()]
    if domain_indicators and not any(e.items or e.indicators for e in domain_exprs) and max(sizes) <= 6:
        fired: set[int] = set()
        for indicators in domain_indicators.values():
            for levels in _domain_states(indicators):
                fired.add(_first_match(domain_rules, Context({}, levels, {}, indicators)))
        found += [
            (
                "this domain rule can never fire: no combination of indicator levels reaches it first",
                ("scoring", "domain", r.index),
            )
            for r in domain_rules
            if r.when is not None and r.index not in fired
        ]
    overall_exprs = [r.when for r in overall_rules if r.when is not None]
    domains = list(domain_indicators)
    only_domains = not any(e.items or e.uses_indicator_levels for e in overall_exprs)
    if domains and only_domains and len(RESULT_LEVELS) ** len(domains) <= MAX_COMBINATIONS:
        fired = set()
        for combo in itertools.product(RESULT_LEVELS, repeat=len(domains)):
            context = Context({}, {}, dict(zip(domains, combo, strict=True)), tuple(indicator_table))
            fired.add(_first_match(overall_rules, context))
        found += [
            (
                "this overall rule can never fire: no combination of domain levels reaches it first",
                ("scoring", "overall", r.index),
            )
            for r in overall_rules
            if r.when is not None and r.index not in fired
        ]
    return found
