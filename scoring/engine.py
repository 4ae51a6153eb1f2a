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
from typing import Any

from instruments.compiled import CompiledInstrument, CompiledRule
from instruments.expressions import Context
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, SPECIAL_ANSWERS
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


def score(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Check `answers` and score them; raises `scoring.AnswerError` listing every invalid answer."""
    return score_checked(instrument, check_answers(instrument, answers))


def score_checked(instrument: CompiledInstrument, values: Mapping[str, Any]) -> ScoreResult:
    """Score values already returned by `check_answers`."""
    indicator_levels: dict[str, str] = {}
    indicators: list[IndicatorResult] = []
    for indicator_id in instrument.all_indicators:
        result = _indicator(instrument, indicator_id, values)
        indicator_levels[indicator_id] = result.level
        indicators.append(result)

    domain_levels: dict[str, str] = {}
    domains: list[DomainResult] = []
    for domain_id, members in instrument.domain_indicators.items():
        if all(indicator_levels[i] == "unknown" for i in members):
            domain = DomainResult(domain_id, "unknown", _NO_RULE)
        else:
            context = Context(values, indicator_levels, None, members)
            rule = _first_match(instrument.domain_rules, context)
            concerned = (
                tuple(i for i in members if indicator_levels[i] == rule.level) if rule.level != "no_concern" else ()
            )
            domain = DomainResult(domain_id, rule.level, RuleReason(rule.index + 1, rule.explain, concerned))
        domain_levels[domain_id] = domain.level
        domains.append(domain)

    context = Context(values, indicator_levels, domain_levels, instrument.all_indicators)
    rule = _first_match(instrument.overall_rules, context)
    if rule.level == "no_concern":
        reason = RuleReason(rule.index + 1, rule.explain)
    else:
        reason = RuleReason(
            rule.index + 1,
            rule.explain,
            indicators=tuple(i for i in instrument.key_indicators_in_order if indicator_levels[i] == rule.level),
            domains=tuple(d for d, level in domain_levels.items() if level == rule.level),
        )
    return ScoreResult(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        engine_version=ENGINE_VERSION,
        overall=rule.level,
        reason=reason,
        domains=tuple(domains),
        indicators=tuple(indicators),
        completeness=_completeness(values),
    )


def _first_match(rules: tuple[CompiledRule, ...], context: Context) -> CompiledRule:
    for rule in rules:
        if rule.when is None or rule.when.evaluate(context):
            return rule
    raise AssertionError("the loader guarantees a fallback rule")  # pragma: no cover


def _informative(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value in SPECIAL_ANSWERS)


def _indicator(instrument: CompiledInstrument, indicator_id: str, values: Mapping[str, Any]) -> IndicatorResult:
    level = "unknown"
    evidence: list[Evidence] = []
    context: Context | None = None
    for feed in instrument.feeds[indicator_id]:
        value = values.get(feed.item_id)
        if not _informative(value):
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


def _completeness(values: Mapping[str, Any]) -> Completeness:
    counts = {DECLINED: 0, NOT_ENOUGH_INFO: 0, NOT_ASKED: 0}
    unanswered = 0
    for value in values.values():
        if value is None:
            unanswered += 1
        elif isinstance(value, str) and value in counts:
            counts[value] += 1
    total = len(values)
    answered = total - unanswered - sum(counts.values())
    return Completeness(total, answered, counts[DECLINED], counts[NOT_ENOUGH_INFO], counts[NOT_ASKED], unanswered)
