"""Turn a parsed definition into a CompiledInstrument, collecting every problem on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, NamedTuple

from instruments import analysis
from instruments.compiled import (
    RATING_CODES,
    YES_NO_LABELS,
    CompiledInstrument,
    CompiledRule,
    Feed,
    content_hash,
)
from instruments.expressions import Context, Expression, ExpressionError, ItemInfo, Scope, compile_expression
from instruments.model import DEFAULT_CARRY_DAYS, NEVER, STAFF_MODE, CarryFor, Instrument, Item, Rule, Scoring, Total
from instruments.source import Path_, Problem, Source


class _Collector:
    """Problems of one file, located through the source's line table."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, code: str, message: str, path: Path_) -> None:
        line, where = self.source.where(path)
        self.problems.append(Problem(code, message, self.source.file, line, where))

    def expression(self, source: str, scope: Scope, path: Path_) -> Expression | None:
        # No "show_if:" or "rule:" before the message: the path it is printed after already names the key.
        try:
            compiled = compile_expression(source, scope)
        except ExpressionError as exc:
            self.add("expression", f'{exc.message} (at character {exc.column} of "{source.strip()}")', path)
            return None
        except RecursionError:
            self.add("expression", "this expression is nested too deeply to read", path)
            return None
        for message in compiled.warnings:
            line, where = self.source.where(path)
            self.warnings.append(Problem("unanswered_comparison", message, self.source.file, line, where))
        return compiled


class Checked(NamedTuple):
    """What checking a schema-valid definition found: the instrument (None on a problem), problems, warnings."""

    compiled: CompiledInstrument | None
    problems: list[Problem]
    warnings: list[Problem]


def compile_instrument(definition: Instrument, source: Source) -> tuple[CompiledInstrument | None, list[Problem]]:
    """Check cross-references and logic of a schema-valid definition and compile it."""
    checked = check_instrument(definition, source)
    return checked.compiled, checked.problems


def check_instrument(definition: Instrument, source: Source) -> Checked:
    """Compile a schema-valid definition, keeping its warnings even when a problem stops it from loading."""
    out = _Collector(source)
    _check_translations(definition, out)
    _check_ids(definition, out)
    items = {item.id: item for item in definition.items}
    sections = frozenset(s.id for s in definition.sections)
    indicator_table = {i.id: (d.id, i.key) for d in definition.domains for i in d.indicators}
    infos = {item.id: _item_info(item) for item in definition.items}
    item_scope = Scope(items=infos, sections=sections)

    for index, item in enumerate(definition.items):
        if item.section not in sections:
            out.add(
                "unknown_section",
                f"item '{item.id}' is in section '{item.section}', which is not defined",
                ("items", index, "section"),
            )
    for index, section in enumerate(definition.sections):
        if not any(item.section == section.id for item in definition.items):
            out.add("empty_section", f"section '{section.id}' has no items", ("sections", index))

    show_if: dict[str, Expression] = {}
    for index, item in enumerate(definition.items):
        if item.show_if is not None:
            expr = out.expression(item.show_if, item_scope, ("items", index, "show_if"))
            if expr is not None:
                show_if[item.id] = expr
    order = _visibility_order(definition, show_if, out)
    named: set[str] = set()  # indicators some item feeds, even through a rule that has a problem of its own
    scoring = definition.scoring
    has_rules = scoring is not None and scoring.has_rules
    half_rules = scoring is not None and not has_rules and bool(scoring.domain or scoring.overall)
    feeds: dict[str, list[Feed]] = {}
    if scoring is not None and half_rules:
        _check_half_rules(scoring, out)
    elif has_rules:
        feeds = _feeds(definition, indicator_table, item_scope, out, named)
    else:
        _check_unscored(definition, out)
    _check_modes(definition, out)
    _check_never_shown(definition, show_if, infos, out)
    for d_index, domain in enumerate(definition.domains if has_rules else ()):
        for i_index, indicator in enumerate(domain.indicators):
            if indicator.id not in named:
                out.add(
                    "unfed_indicator",
                    f"no item feeds indicator '{indicator.id}'",
                    ("domains", d_index, "indicators", i_index, "id"),
                )

    domain_indicators = {d.id: tuple(i.id for i in d.indicators) for d in definition.domains}
    total: Expression | None = None
    domain_rules: tuple[CompiledRule, ...] | None = ()
    overall_rules: tuple[CompiledRule, ...] | None = ()
    if scoring is not None and has_rules:
        total, domain_rules, overall_rules = _scoring(definition, scoring, infos, sections, out)
    elif scoring is not None and scoring.total is not None and not half_rules:
        total = _total_only(scoring.total, infos, sections, out)
    if out.problems or domain_rules is None or overall_rules is None:
        return Checked(None, out.problems, out.warnings)
    compiled = CompiledInstrument(
        definition=definition,
        content_hash=content_hash(definition),
        file=source.file,
        items=items,
        visibility_order=order,
        show_if=show_if,
        codes={i: info.codes for i, info in infos.items()},
        feeds={k: tuple(v) for k, v in feeds.items()},
        indicator_domain={k: v[0] for k, v in indicator_table.items()},
        key_indicators=frozenset(k for k, v in indicator_table.items() if v[1]),
        key_indicators_in_order=tuple(k for k, v in indicator_table.items() if v[1]),
        domain_indicators=domain_indicators,
        all_indicators=tuple(indicator_table),
        domain_rules=domain_rules,
        overall_rules=overall_rules,
        allows_not_enough_info=bool({"practitioner", "interview"} & set(definition.modes)),
        every_answer=has_rules and scoring is not None and scoring.indicator_needs == "every_answer",
        total=total,
        carry=_carry(definition),
        source=source,
        warnings=tuple(out.warnings),
    )
    return Checked(compiled, [], out.warnings)


def _scoring(
    definition: Instrument, scoring: Scoring, infos: dict[str, ItemInfo], sections: frozenset[str], out: _Collector
) -> tuple[Expression | None, tuple[CompiledRule, ...] | None, tuple[CompiledRule, ...] | None]:
    """The total and the domain and overall rules, compiled and checked against each other."""
    indicator_table = {i.id: (d.id, i.key) for d in definition.domains for i in d.indicators}
    domain_ids = frozenset(d.id for d in definition.domains)
    domain_scope = Scope(
        items=infos, sections=sections, indicators=indicator_table, domains=domain_ids, in_domain_rule=True
    )
    overall_scope = Scope(
        items=infos,
        sections=sections,
        indicators=indicator_table,
        domains=domain_ids,
        domain_order=tuple(d.id for d in definition.domains),
    )
    total = None
    if scoring.total is not None:
        total = out.expression(scoring.total.of, overall_scope, ("scoring", "total", "of"))
        overall_scope = replace(overall_scope, total=total)
    domain_rules = _rules(scoring.domain, domain_scope, ("scoring", "domain"), out)
    overall_rules = _rules(scoring.overall, overall_scope, ("scoring", "overall"), out)
    domain_indicators = {d.id: tuple(i.id for i in d.indicators) for d in definition.domains}
    if domain_rules is not None and overall_rules is not None and not out.problems:
        for message, path in analysis.unreachable_rules(
            domain_rules, overall_rules, domain_indicators, indicator_table
        ):
            out.add("rule_never_fires", message, path)
    compares_total = any(p.collection == "total" for r in overall_rules or () if r.when for p in r.when.parts)
    if scoring.total is not None and total is not None and not compares_total:
        out.add(
            "total_unused",
            "scoring.total is declared but no overall rule compares total() with a number",
            ("scoring", "total"),
        )
    return total, domain_rules, overall_rules


def _total_only(
    total: Total, infos: dict[str, ItemInfo], sections: frozenset[str], out: _Collector
) -> Expression | None:
    """The total of a scoring without rules: reported with every result, compared with nothing. There are no
    domains or indicators (`_check_unscored`), so it can only read answers."""
    return out.expression(total.of, Scope(items=infos, sections=sections), ("scoring", "total", "of"))


def _check_half_rules(scoring: Scoring, out: _Collector) -> None:
    """Domain and overall rules come together (levels are concluded) or not at all (a total without levels)."""
    given, missing = ("overall", "domain") if scoring.overall else ("domain", "overall")
    out.add(
        "rules_incomplete",
        f"scoring has {given} rules but no {missing} rules: write both (how indicators roll up to domains, and "
        f"domains to the overall level), or neither (a total is then reported and no level is concluded from it)",
        ("scoring", given),
    )


_NEEDS_SCORING = "this instrument has no 'scoring' section"
_NEEDS_RULES = "this instrument's scoring has a total but no rules"


def _check_unscored(definition: Instrument, out: _Collector) -> None:
    """An instrument without scoring rules (no `scoring`, or only a `total`) concludes no level, so nothing in
    it may ask for one: no domains, no indicators fed or rated, no next steps (they are chosen by the overall
    level)."""
    lacking = _NEEDS_SCORING if definition.scoring is None else _NEEDS_RULES
    if definition.domains:
        out.add(
            "needs_scoring",
            f"{lacking}, so its domains can never get a level: add scoring rules or remove 'domains'",
            ("domains",),
        )
    for index, item in enumerate(definition.items):
        if item.type == "indicator_rating":
            out.add(
                "needs_scoring",
                f"item '{item.id}' rates indicator '{item.indicator}', but {lacking}: "
                "add scoring rules, or ask it as a single_choice",
                ("items", index, "type"),
            )
        elif getattr(item, "indicates", ()):
            out.add(
                "needs_scoring",
                f"item '{item.id}' says which indicator its answers point to, but {lacking}: "
                "add scoring rules or remove 'indicates'",
                ("items", index, "indicates"),
            )
    if definition.next_steps:
        out.add(
            "needs_scoring",
            f"next steps follow from the overall level, and {lacking}, so it concludes none: "
            "add scoring rules or remove 'next_steps'",
            ("next_steps",),
        )


def _carry(definition: Instrument) -> dict[str, int | None]:
    """Each item's look-back in days: its own `carry`, else its section's, else the default; None: never."""
    by_section = {s.id: s.carry for s in definition.sections}
    out: dict[str, int | None] = {}
    for item in definition.items:
        carry = item.carry if item.carry is not None else by_section.get(item.section)
        if item.type == "notice" or carry == NEVER:
            out[item.id] = None
        else:
            out[item.id] = carry.days if isinstance(carry, CarryFor) else DEFAULT_CARRY_DAYS
    return out


def _item_info(item: Item) -> ItemInfo:
    if item.type == "yes_no":
        return ItemInfo(item.id, item.type, item.section, frozenset(YES_NO_LABELS))
    if item.type == "indicator_rating":
        return ItemInfo(item.id, item.type, item.section, frozenset(RATING_CODES))
    options = getattr(item, "options", None)
    if options is not None:
        weights = {o.code: o.weight for o in options if o.weight is not None}
        return ItemInfo(item.id, item.type, item.section, frozenset(o.code for o in options), weights)
    return ItemInfo(item.id, item.type, item.section, None)


def _texts(value: Any, path: Path_) -> Iterator[tuple[dict[str, str], Path_]]:
    """Every language mapping in the definition, with its path."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            child = getattr(value, name)
            if field.annotation is not None and "dict[str, str]" in str(field.annotation) and isinstance(child, dict):
                yield child, (*path, name)
            else:
                yield from _texts(child, (*path, name))
    elif isinstance(value, tuple):
        for index, child in enumerate(value):
            yield from _texts(child, (*path, index))
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _texts(child, (*path, str(key)))


def _check_translations(definition: Instrument, out: _Collector) -> None:
    languages = set(definition.languages)
    if definition.default_language not in languages:
        out.add(
            "schema", f"default_language '{definition.default_language}' is not in languages", ("default_language",)
        )
    for text, path in _texts(definition, ()):
        missing = sorted(languages - set(text))
        extra = sorted(set(text) - languages)
        if missing:
            out.add("missing_translation", f"text has no {', '.join(missing)} version", path)
        if extra:
            out.add("undeclared_language", f"text is given in {', '.join(extra)}, which is not in languages", path)
        for language, string in text.items():
            if not str(string).strip():
                out.add("empty_text", f"the {language} text is empty", (*path, language))
    if any(item.type == "yes_no" for item in definition.items):
        unsupported = sorted(languages - set(YES_NO_LABELS["yes"]))
        if unsupported:
            out.add(
                "missing_translation",
                f"yes_no items have built-in labels only for en and es, not {', '.join(unsupported)}; "
                "use single_choice with your own labels",
                ("languages",),
            )


def _duplicates(ids: list[tuple[str, Path_]], what: str, out: _Collector) -> None:
    seen: dict[str, Path_] = {}
    for value, path in ids:
        if value in seen:
            out.add("duplicate_id", f"{what} id '{value}' is used twice", path)
        else:
            seen[value] = path


def _check_ids(definition: Instrument, out: _Collector) -> None:
    _duplicates([(s.id, ("sections", i, "id")) for i, s in enumerate(definition.sections)], "section", out)
    _duplicates([(d.id, ("domains", i, "id")) for i, d in enumerate(definition.domains)], "domain", out)
    _duplicates(
        [
            (ind.id, ("domains", i, "indicators", j, "id"))
            for i, d in enumerate(definition.domains)
            for j, ind in enumerate(d.indicators)
        ],
        "indicator",
        out,
    )
    _duplicates([(it.id, ("items", i, "id")) for i, it in enumerate(definition.items)], "item", out)
    for i, item in enumerate(definition.items):
        options = getattr(item, "options", ())
        _duplicates([(o.code, ("items", i, "options", j, "code")) for j, o in enumerate(options)], "option", out)


def _feeds(
    definition: Instrument, indicators: dict[str, tuple[str, bool]], scope: Scope, out: _Collector, named: set[str]
) -> dict[str, list[Feed]]:
    """How items feed indicators; `named` gets every known indicator an item means to feed."""
    feeds: dict[str, list[Feed]] = {}
    for index, item in enumerate(definition.items):
        if item.type == "indicator_rating":
            if item.indicator not in indicators:
                out.add(
                    "unknown_indicator",
                    f"item '{item.id}' rates unknown indicator '{item.indicator}'",
                    ("items", index, "indicator"),
                )
            else:
                named.add(item.indicator)
                feeds.setdefault(item.indicator, []).append(Feed(item.id, item.indicator, "rating", rating=True))
            continue
        codes = scope.items[item.id].codes
        for f_index, rule in enumerate(getattr(item, "indicates", ())):
            path: Path_ = ("items", index, "indicates", f_index)
            if rule.indicator not in indicators:
                out.add(
                    "unknown_indicator",
                    f"item '{item.id}' feeds unknown indicator '{rule.indicator}'",
                    (*path, "indicator"),
                )
                continue
            named.add(rule.indicator)
            when = None
            if rule.answers is not None:
                if codes is None:
                    out.add(
                        "answers_need_choices",
                        f"item '{item.id}' has no options; use 'when' instead",
                        (*path, "answers"),
                    )
                    continue
                unknown = [a for a in rule.answers if a not in codes]
                if unknown:
                    out.add(
                        "unknown_option",
                        f"item '{item.id}' does not offer {', '.join(map(repr, unknown))}",
                        (*path, "answers"),
                    )
                    continue
            else:
                when = out.expression(rule.when or "", scope, (*path, "when"))
                if when is None:
                    continue
            answers = frozenset(rule.answers) if rule.answers is not None else None
            feeds.setdefault(rule.indicator, []).append(Feed(item.id, rule.indicator, rule.level, answers, when))
    return feeds


def _visibility_order(definition: Instrument, show_if: dict[str, Expression], out: _Collector) -> tuple[str, ...]:
    """Items in definition order, moved so that each comes after the items its show_if reads."""
    index_of = {item.id: i for i, item in enumerate(definition.items)}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(item_id: str, trail: list[str]) -> None:
        if state.get(item_id) == "done":
            return
        if state.get(item_id) == "active":
            cycle = [*trail[trail.index(item_id) :], item_id]
            out.add(
                "show_if_cycle",
                f"show_if conditions form a cycle: {' -> '.join(cycle)}",
                ("items", index_of[item_id], "show_if"),
            )
            return
        state[item_id] = "active"
        expr = show_if.get(item_id)
        for dep in sorted(expr.items if expr else (), key=lambda d: index_of.get(d, 0)):
            visit(dep, [*trail, item_id])
        state[item_id] = "done"
        order.append(item_id)

    for item in definition.items:
        visit(item.id, [])
    return tuple(i for i in order if definition.items[index_of[i]].type != "notice")


def _check_modes(definition: Instrument, out: _Collector) -> None:
    _check_staff_wording(definition, out)
    if "self" not in definition.modes:
        return
    for index, item in enumerate(definition.items):
        if item.type == "indicator_rating":
            out.add(
                "mode_unsupported",
                f"item '{item.id}' is a practitioner's indicator rating, so the instrument cannot allow "
                "the 'self' mode",
                ("items", index, "type"),
            )


def _check_staff_wording(definition: Instrument, out: _Collector) -> None:
    """Staff wording is read only in the practitioner mode; given without it, or help without text, it is a mistake."""
    has_mode = STAFF_MODE in definition.modes
    parts: list[tuple[Any, str, Path_]] = [
        (s, "staff_notice", ("sections", i)) for i, s in enumerate(definition.sections)
    ]
    parts += [(item, "staff_text", ("items", i)) for i, item in enumerate(definition.items)]
    for part, field, path in parts:
        if getattr(part, field) is not None and not has_mode:
            out.add(
                "staff_wording_unused",
                f"'{field}' is read only when staff complete the form (the '{STAFF_MODE}' mode), which this "
                f"instrument does not allow: add '{STAFF_MODE}' to modes or remove '{field}'",
                (*path, field),
            )
    for index, item in enumerate(definition.items):
        if item.staff_help is not None and item.staff_text is None:
            out.add(
                "staff_help_without_text",
                f"item '{item.id}' has staff_help but no staff_text: staff read the item's own text and help "
                "unless it gives staff_text, so add staff_text or remove staff_help",
                ("items", index, "staff_help"),
            )


def _check_never_shown(
    definition: Instrument, show_if: dict[str, Expression], infos: dict[str, ItemInfo], out: _Collector
) -> None:
    for index, item in enumerate(definition.items):
        expr = show_if.get(item.id)
        if expr is not None and analysis.never_true(expr, infos):
            out.add(
                "never_shown",
                f"item '{item.id}' can never be shown: its show_if is never true",
                ("items", index, "show_if"),
            )


def _rules(rules: tuple[Rule, ...], scope: Scope, path: Path_, out: _Collector) -> tuple[CompiledRule, ...] | None:
    compiled: list[CompiledRule] = []
    failed = False
    seen: dict[str, int] = {}
    fallback_at: int | None = None
    for index, rule in enumerate(rules):
        rule_path: Path_ = (*path, index)
        if fallback_at is not None:
            out.add(
                "rule_shadowed", f"this rule can never fire: rule {fallback_at + 1} above always matches", rule_path
            )
        when = None
        if rule.when is not None:
            when = out.expression(rule.when, scope, (*rule_path, "when"))
            if when is None:
                failed = True
                continue
            normalized = " ".join(rule.when.split())
            if normalized in seen:
                out.add(
                    "rule_shadowed",
                    f"this rule repeats the condition of rule {seen[normalized] + 1}",
                    (*rule_path, "when"),
                )
            seen.setdefault(normalized, index)
            if when.is_constant:
                if when.truth(_EMPTY):
                    fallback_at = index if fallback_at is None else fallback_at
                else:
                    out.add("rule_never_fires", "this rule's condition is always false", (*rule_path, "when"))
        elif fallback_at is None:
            fallback_at = index
        compiled.append(CompiledRule(index, rule.level, when, rule.explain))
    if rules and rules[-1].when is not None:
        out.add(
            "no_fallback", "the last rule must have no 'when', so that every case gets a level", (*path, len(rules) - 1)
        )
    return None if failed else tuple(compiled)


_EMPTY = Context({})
