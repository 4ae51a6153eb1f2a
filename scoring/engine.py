"""The scoring engine: a pure, deterministic function from (instrument, answers) to an explained result.

The steps, in order:
1. answers are checked against the instrument (`scoring.answers`); hidden items become `not_asked`;
2. each indicator takes the highest level that its visible, informative answers imply. With no
   concerning answer it is `no_concern` when some answer informs it (under `indicator_needs:
   every_answer`: when every item that feeds it is *settled*, i.e. answered, or hidden by conditions
   over settled items), and `unknown` otherwise;
3. a domain whose indicators are all unknown is `insufficient_information`; any other domain takes
   the level of the first domain rule that matches;
4. the overall level is that of the first overall rule that matches (the last rule always does).

An instrument without scoring rules (a form imported without weights) concludes nothing: its overall
result is `not_scored`, with a reason that says so and no domains or indicators; the answers are still
checked and counted. When it declares a total without rules (a published weighted sum imported without
thresholds), the total is reported, with no thresholds, and no level is concluded from it.

Every result names what produced it: the evidence of each indicator, and for each domain and the
overall level the rule and the parts of its condition that were true, with what they counted.

Written plainly and without caches, so that it is easy to see that it is right; a reference
evaluator in the tests checks it on generated answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instruments.compiled import CompiledInstrument, CompiledRule
from instruments.expressions import Context
from instruments.model import DECLINED, INSUFFICIENT, NOT_ASKED, NOT_ENOUGH_INFO, NOT_SCORED, is_informative
from scoring.answers import check_answers
from scoring.result import (
    LEVEL_RANK,
    Clause,
    Completeness,
    DomainResult,
    Evidence,
    IndicatorResult,
    RuleReason,
    ScoreResult,
    Threshold,
    Total,
)

ENGINE_VERSION = "1.1.0"
NOTHING_KNOWN = RuleReason(rule=0, explain={})
# The reason of an unscored result, in the languages the app speaks: no rule ran, nothing is concluded.
NO_RULES = RuleReason(
    rule=0,
    explain={
        "en": "This form has no scoring rules, so no level is concluded: read the answers themselves.",
        "es": "Este formulario no tiene reglas de puntuación, así que no se concluye ningún nivel: "
        "lea las respuestas mismas.",
    },
)
# The same, for a form that declares a total (e.g. a published weighted sum) and no rules.
NO_RULES_TOTAL = RuleReason(
    rule=0,
    explain={
        "en": "This form has no scoring rules: its total is reported, but no level is concluded from it. "
        "Read the answers themselves.",
        "es": "Este formulario no tiene reglas de puntuación: se informa su total, pero de él no se concluye "
        "ningún nivel. Lea las respuestas mismas.",
    },
)


def score(instrument: CompiledInstrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Check `answers` and score them; raises `scoring.AnswerError` listing every invalid answer."""
    return score_checked(instrument, check_answers(instrument, answers))


def score_checked(instrument: CompiledInstrument, values: Mapping[str, Any]) -> ScoreResult:
    """Score values already returned by `check_answers`."""
    if not instrument.scored:
        return _not_scored(instrument, values)
    settled = settled_items(instrument, values) if instrument.every_answer else None
    indicators = tuple(_indicator(instrument, i, values, settled) for i in instrument.all_indicators)
    indicator_levels = {i.id: i.level for i in indicators}
    domains = tuple(
        _domain(instrument, domain_id, members, values, indicator_levels)
        for domain_id, members in instrument.domain_indicators.items()
    )
    domain_levels = {d.id: d.level for d in domains}
    context = Context(values, indicator_levels, domain_levels, instrument.all_indicators)
    rule = _first_match(instrument.overall_rules, context)
    # The reason names what stands behind the level: for a concern, the key indicators and domains at
    # exactly that level; for too little information, the key indicators nothing is known about and
    # the domains with too little information.
    key_level = "unknown" if rule.level == INSUFFICIENT else rule.level
    reason = RuleReason(
        rule.index + 1,
        rule.explain,
        indicators=tuple(i for i in instrument.key_indicators_in_order if indicator_levels[i] == key_level)
        if rule.level != "no_concern"
        else (),
        domains=tuple(d for d, level in domain_levels.items() if level == rule.level)
        if rule.level != "no_concern"
        else (),
        clauses=_clauses(rule, context),
    )
    return ScoreResult(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        engine_version=ENGINE_VERSION,
        overall=rule.level,
        reason=reason,
        domains=domains,
        indicators=indicators,
        completeness=_completeness(values),
        skipped_sections=_skipped_sections(instrument, values),
        total=_total(instrument, context),
    )


def _not_scored(instrument: CompiledInstrument, values: Mapping[str, Any]) -> ScoreResult:
    """The result of an instrument without scoring rules: no level, only what was answered, and its total
    when it declares one (with no thresholds: nothing compares it)."""
    total = None
    if instrument.total is not None:
        total = Total(_number(instrument.total.evaluate(Context(values))), ())
    return ScoreResult(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        engine_version=ENGINE_VERSION,
        overall=NOT_SCORED,
        reason=NO_RULES if total is None else NO_RULES_TOTAL,
        domains=(),
        indicators=(),
        completeness=_completeness(values),
        skipped_sections=_skipped_sections(instrument, values),
        total=total,
    )


def settled_items(instrument: CompiledInstrument, values: Mapping[str, Any]) -> frozenset[str]:
    """Items whose state the answers decide: answered, or hidden by conditions over settled items.

    An item hidden because an answer it depends on was declined is not settled: nobody knows
    whether it would have been asked.
    """
    settled: set[str] = set()
    for item_id in instrument.visibility_order:  # each item after those its show_if reads
        value = values.get(item_id)
        if is_informative(value):
            settled.add(item_id)
        elif value == NOT_ASKED:
            condition = instrument.show_if.get(item_id)
            if condition is not None and condition.items <= settled:
                settled.add(item_id)
    return frozenset(settled)


def _indicator(
    instrument: CompiledInstrument, indicator_id: str, values: Mapping[str, Any], settled: frozenset[str] | None
) -> IndicatorResult:
    level = "unknown"
    evidence: list[Evidence] = []
    every_feed_settled = True
    feeds = instrument.feeds[indicator_id]
    for feed in feeds:
        if settled is not None and every_feed_settled:
            every_feed_settled = feed.item_id in settled and (feed.when is None or feed.when.items <= settled)
        value = values.get(feed.item_id)
        if not is_informative(value):
            continue
        if feed.rating:
            implied = str(value)
        elif feed.answers is not None:
            chosen = value if isinstance(value, list) else [value]
            implied = feed.level if any(v in feed.answers for v in chosen) else "no_concern"
        else:
            implied = feed.level if feed.when is not None and feed.when.truth(Context(values)) else "no_concern"
        if level == "unknown" or LEVEL_RANK[implied] > LEVEL_RANK[level]:
            level, evidence = implied, [Evidence(feed.item_id, value, implied)]
        elif LEVEL_RANK[implied] == LEVEL_RANK[level] and all(e.item_id != feed.item_id for e in evidence):
            evidence.append(Evidence(feed.item_id, value, implied))
    if settled is not None and LEVEL_RANK[level] == 0:
        # every_answer: "no concern" needs every feeding item settled; when all of them were hidden
        # by the answers given, the indicator did not apply, which is no concern either.
        if not every_feed_settled:
            level, evidence = "unknown", []
        elif level == "unknown" and feeds:
            level = "no_concern"
    return IndicatorResult(
        indicator_id,
        instrument.indicator_domain[indicator_id],
        indicator_id in instrument.key_indicators,
        level,
        tuple(evidence),
    )


def _domain(
    instrument: CompiledInstrument,
    domain_id: str,
    members: tuple[str, ...],
    values: Mapping[str, Any],
    indicator_levels: Mapping[str, str],
) -> DomainResult:
    if all(indicator_levels[i] == "unknown" for i in members):
        return DomainResult(domain_id, INSUFFICIENT, NOTHING_KNOWN)
    context = Context(values, indicator_levels, None, members)
    rule = _first_match(instrument.domain_rules, context)
    wanted = {"no_concern": None, INSUFFICIENT: "unknown"}.get(rule.level, rule.level)
    behind = tuple(i for i in members if indicator_levels[i] == wanted)
    return DomainResult(
        domain_id, rule.level, RuleReason(rule.index + 1, rule.explain, behind, (), _clauses(rule, context))
    )


def _first_match(rules: tuple[CompiledRule, ...], context: Context) -> CompiledRule:
    for rule in rules:
        if rule.when is None or rule.when.truth(context):
            return rule
    raise AssertionError("the loader guarantees a fallback rule")  # pragma: no cover


def _clauses(rule: CompiledRule, context: Context) -> tuple[Clause, ...]:
    """The parts of the rule's condition that were true, each with what it counted."""
    if rule.when is None:
        return ()
    return tuple(
        Clause(
            part.source,
            part.collection,
            tuple(part.members(context)) if part.members is not None else (),
            _number(part.value(context)) if part.value is not None else None,
            part.op,
            part.bound,
            dict(part.filters),
        )
        for part in rule.when.parts
        if part.evaluate(context)
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _total(instrument: CompiledInstrument, context: Context) -> Total | None:
    if instrument.total is None:
        return None
    thresholds = tuple(Threshold(level, op, bound) for level, op, bound in instrument.total_thresholds)
    return Total(_number(instrument.total.evaluate(context)), thresholds)


def _skipped_sections(instrument: CompiledInstrument, values: Mapping[str, Any]) -> tuple[str, ...]:
    """Sections with at least one question shown and not one informative answer."""
    shown: set[str] = set()
    informed: set[str] = set()
    for item_id in instrument.visibility_order:
        value = values.get(item_id)
        if value == NOT_ASKED:
            continue
        section = instrument.items[item_id].section
        shown.add(section)
        if is_informative(value):
            informed.add(section)
    return tuple(s.id for s in instrument.definition.sections if s.id in shown and s.id not in informed)


def _completeness(values: Mapping[str, Any]) -> Completeness:
    given = list(values.values())  # text, None, numbers or lists: counting by equality is exact
    unanswered = given.count(None)
    declined, not_enough_info, not_asked = given.count(DECLINED), given.count(NOT_ENOUGH_INFO), given.count(NOT_ASKED)
    answered = len(given) - unanswered - declined - not_enough_info - not_asked
    return Completeness(len(given), answered, declined, not_enough_info, not_asked, unanswered)
