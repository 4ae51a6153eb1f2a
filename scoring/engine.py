"""The scoring engine: a pure, deterministic function from (instrument, answers) to an explained result.

The steps, in order:
1. answers are checked against the instrument (`scoring.answers`); hidden items become `not_asked`;
2. each indicator takes the highest level that its visible, informative answers imply; it is
   `no_concern` when some answer informs it and none implies concern, and `unknown` when no
   answer informs it (declined, not enough information, not asked, unanswered);
3. each domain with at least one informed indicator takes the level of the first domain rule
   that matches; a domain whose indicators are all unknown stays `unknown`;
4. the overall level is that of the first overall rule that matches (the last rule always does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast
from weakref import WeakKeyDictionary

from instruments.compiled import CompiledInstrument, CompiledRule
from instruments.expressions import Context
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, is_informative
from scoring.answers import check_answers
from scoring.result import (
    LEVEL_RANK,
    Completeness,
    DomainResult,
    Evidence,
    IndicatorResult,
    RuleReason,
    ScoreResult,
)

ENGINE_VERSION = "1.0.0"
_NO_RULE = RuleReason(rule=0, explain={})
_AT_LEAST = {
    "possible_concern": frozenset(("possible_concern", "clear_concern")),
    "clear_concern": frozenset(("clear_concern",)),
}


def score(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Check `answers` and score them; raises `scoring.AnswerError` listing every invalid answer."""
    return score_checked(instrument, check_answers(instrument, answers))


def score_checked(instrument: CompiledInstrument, values: Mapping[str, Any]) -> ScoreResult:
    """Score values already returned by `check_answers`."""
    plan = _plan(instrument)
    get = values.get
    indicators: list[IndicatorResult] | None = None
    if plan.single is not None:  # every indicator is fed by one item's code: look every result up
        try:
            found = [cache.get(get(item)) for item, cache in plan.single]
        except TypeError:  # an unhashable answer (a list)
            found = []
        if found and all(found):  # no None: every answer was seen before
            indicators = cast("list[IndicatorResult]", found)
    if indicators is None:
        indicators = []
        for indicator_id, item, items, cache in plan.indicators:
            if item is not None:  # the result depends only on the answer to this item: look it up
                key: Any = get(item)
            elif items is not None:  # ... or on the answers to these items
                key = tuple([get(i) for i in items])
            else:
                indicators.append(_indicator(instrument, indicator_id, values))
                continue
            try:
                result = cache[key]
            except KeyError:
                result = _indicator(instrument, indicator_id, values)
                if len(cache) < _CACHE_LIMIT and _plain(key):
                    cache[key] = result
            except TypeError:  # an unhashable answer (a list): score it the long way
                result = _indicator(instrument, indicator_id, values)
            indicators.append(result)
    levels = tuple([r.level for r in indicators])
    indicator_levels = dict(zip(instrument.all_indicators, levels, strict=False))  # same length

    domain_levels: dict[str, str] = {}
    domains: list[DomainResult] = []
    level_of = indicator_levels.__getitem__
    for domain_id, members, span, depends_on, unknown, domain_cache in plan.domains:
        # the result depends only on the levels of these indicators: look it up
        if span is not None:
            read: tuple[str, ...] | None = levels[span[0] : span[1]]
        else:
            read = tuple(map(level_of, depends_on)) if depends_on is not None else None
        domain = domain_cache.get(read) if read is not None else None
        if domain is None:
            domain = _domain(instrument, domain_id, members, values, indicator_levels, unknown)
            if read is not None and len(domain_cache) < _CACHE_LIMIT:
                domain_cache[read] = domain
        domain_levels[domain_id] = domain.level
        domains.append(domain)

    context = Context(values, indicator_levels, domain_levels, instrument.all_indicators)
    rule = _first_match(instrument.overall_rules, context)
    if rule.level == "no_concern":
        reason_key: tuple[Any, ...] = (rule.index,)
    else:
        # The reason names what supports the level: key indicators and domains at that level or above.
        supporting = _AT_LEAST[rule.level]
        reason_key = (
            rule.index,
            tuple([i for i in instrument.key_indicators_in_order if indicator_levels[i] in supporting]),
            tuple([d for d, level in domain_levels.items() if level in supporting]),
        )
    reason = plan.reasons.get(reason_key)
    if reason is None:
        if rule.level == "no_concern":
            reason = RuleReason(rule.index + 1, rule.explain)
        else:
            reason = RuleReason(rule.index + 1, rule.explain, indicators=reason_key[1], domains=reason_key[2])
        if len(plan.reasons) < _CACHE_LIMIT:
            plan.reasons[reason_key] = reason
    return ScoreResult(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        engine_version=ENGINE_VERSION,
        overall=rule.level,
        reason=reason,
        domains=tuple(domains),
        indicators=tuple(indicators),
        completeness=_completeness(values, plan.completeness),
    )


def _domain(
    instrument: CompiledInstrument,
    domain_id: str,
    members: tuple[str, ...],
    values: Mapping[str, Any],
    indicator_levels: Mapping[str, str],
    unknown: DomainResult,
) -> DomainResult:
    if all(indicator_levels[i] == "unknown" for i in members):
        return unknown
    context = Context(values, indicator_levels, None, members)
    rule = _first_match(instrument.domain_rules, context)
    concerned = tuple(i for i in members if indicator_levels[i] == rule.level) if rule.level != "no_concern" else ()
    return DomainResult(domain_id, rule.level, RuleReason(rule.index + 1, rule.explain, concerned))


# ---- precomputed per instrument, so that scoring builds as few new objects as it can ----
#
# Results are frozen, so equal parts of different results can be the same object. An indicator's
# result is looked up by the answers to the items that feed it, when every feed is a rating or an
# `answers` list (a `when` feed may read any item) and those answers are plain codes; a domain's
# result by the levels its rules can read, when no domain rule reads an item. Caches are bounded.

_CACHE_LIMIT = 4096


class _Plan:
    __slots__ = ("completeness", "domains", "indicators", "reasons", "single")

    def __init__(self, instrument: CompiledInstrument) -> None:
        # (indicator, its one feeding item, or its feeding items, cache of results by their answers)
        self.indicators: list[tuple[str, str | None, tuple[str, ...] | None, dict[Any, IndicatorResult]]] = []
        for indicator_id in instrument.all_indicators:
            feeds = instrument.feeds[indicator_id]
            simple = bool(feeds) and all(f.rating or f.answers is not None for f in feeds)
            items = tuple(dict.fromkeys(f.item_id for f in feeds)) if simple else None
            one = items[0] if items is not None and len(items) == 1 else None
            self.indicators.append((indicator_id, one, None if one is not None else items, {}))
        # when every indicator has one feeding item: (item, cache) per indicator, for one quick pass
        self.single: list[tuple[str, dict[Any, IndicatorResult]]] | None = [
            (item, cache) for _, item, _, cache in self.indicators if item is not None
        ]
        if len(self.single) != len(self.indicators):
            self.single = None

        rules = [r.when for r in instrument.domain_rules if r.when is not None]
        read_items = any(w.items for w in rules)
        named = sorted({i for w in rules for i in w.indicators})  # level('...') may name any indicator
        # (domain, members, (start, stop) of the levels it depends on in all_indicators order, or
        # the indicators whose levels it depends on, its unknown result, cache of results by levels)
        self.domains: list[
            tuple[
                str,
                tuple[str, ...],
                tuple[int, int] | None,
                tuple[str, ...] | None,
                DomainResult,
                dict[tuple[str, ...], DomainResult],
            ]
        ] = []
        order = instrument.all_indicators
        for domain_id, members in instrument.domain_indicators.items():
            depends_on = None if read_items else (*members, *(i for i in named if i not in members))
            span = None
            if depends_on and depends_on[0] in order:
                start = order.index(depends_on[0])
                if order[start : start + len(depends_on)] == depends_on:
                    span = (start, start + len(depends_on))
            unknown = DomainResult(domain_id, "unknown", _NO_RULE)
            self.domains.append((domain_id, members, span, depends_on, unknown, {}))
        self.reasons: dict[tuple[Any, ...], RuleReason] = {}
        self.completeness: dict[tuple[int, ...], Completeness] = {}


_PLANS: WeakKeyDictionary[CompiledInstrument, _Plan] = WeakKeyDictionary()


def _plan(instrument: CompiledInstrument) -> _Plan:
    plan = _PLANS.get(instrument)
    if plan is None:
        plan = _PLANS[instrument] = _Plan(instrument)
    return plan


def _plain(key: Any) -> bool:
    """Whether a cache key holds only text and None (so equal keys mean identical answers)."""
    if isinstance(key, tuple):
        return all(v is None or type(v) is str for v in key)
    return key is None or type(key) is str


def _first_match(rules: tuple[CompiledRule, ...], context: Context) -> CompiledRule:
    for rule in rules:
        if rule.when is None or rule.when.evaluate(context):
            return rule
    raise AssertionError("the loader guarantees a fallback rule")  # pragma: no cover


def _indicator(instrument: CompiledInstrument, indicator_id: str, values: Mapping[str, Any]) -> IndicatorResult:
    level = "unknown"
    evidence: list[Evidence] = []
    context: Context | None = None
    for feed in instrument.feeds[indicator_id]:
        value = values.get(feed.item_id)
        if not is_informative(value):
            continue
        implied: str
        if feed.rating:
            implied = str(value)
        elif feed.answers is not None:
            hit = any(v in feed.answers for v in value) if isinstance(value, list) else value in feed.answers
            implied = feed.level if hit else "no_concern"
        else:
            context = context or Context(values)
            implied = feed.level if feed.when is not None and feed.when.evaluate(context) else "no_concern"
        rank, current = LEVEL_RANK[implied], LEVEL_RANK[level]
        if level == "unknown" or rank > current:
            level = implied
            evidence = [Evidence(feed.item_id, value, implied)]
        elif rank == current and all(e.item_id != feed.item_id for e in evidence):
            evidence.append(Evidence(feed.item_id, value, implied))
    return IndicatorResult(
        indicator_id,
        instrument.indicator_domain[indicator_id],
        indicator_id in instrument.key_indicators,
        level,
        tuple(evidence),
    )


def _completeness(values: Mapping[str, Any], cache: dict[tuple[int, ...], Completeness] | None = None) -> Completeness:
    given = list(values.values())  # text, None, numbers or lists: counting by equality is exact
    unanswered = given.count(None)
    declined, not_enough_info, not_asked = given.count(DECLINED), given.count(NOT_ENOUGH_INFO), given.count(NOT_ASKED)
    total = len(given)
    answered = total - unanswered - declined - not_enough_info - not_asked
    key = (total, answered, declined, not_enough_info, not_asked, unanswered)
    if cache is None:
        return Completeness(*key)
    result = cache.get(key)
    if result is None:
        result = Completeness(*key)
        if len(cache) < _CACHE_LIMIT:
            cache[key] = result
    return result
