"""What the review and result pages show, built from a compiled instrument and stored answers or result."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app import levels
from app.i18n import _
from app.screenings import reasons
from app.screenings.answer_labels import answer_label
from app.texts import text
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import LANGUAGE_PATTERN, NOT_SCORED, is_informative, wording
from scoring import shown_items

_LANGUAGE = re.compile(LANGUAGE_PATTERN)
CONCERNING = ("clear_concern", "possible_concern")
NO_RULE = _(
    "Nothing was learned about this domain: every line was unanswered, declined or 'not enough information'. "
    "Too little is known to conclude; this is not 'no concern'."
)
FREE_TEXT = frozenset({"short_text", "long_text"})
# Said in the page's language whatever the form's languages (the stored reason has English and Spanish).
NOT_SCORED_REASON = _("This form has no scoring rules, so no level is concluded: read the answers themselves.")
NOT_SCORED_TOTAL_REASON = _(
    "This form has no scoring rules: its total is reported, but no level is concluded from it. "
    "Read the answers themselves."
)


@dataclass
class ReviewRow:
    item_id: str
    text: str
    answer: str
    answered: bool
    informative: bool  # says something: not unanswered, declined or "not enough information"
    corrected: bool = False  # changed by staff after completion: not the youth's own words


@dataclass
class ReviewSection:
    page: int
    title: str
    rows: list[ReviewRow]


def review(
    instrument: CompiledInstrument,
    answers: Mapping[str, Any],
    language: str,
    sources: Mapping[str, str] | None = None,
    *,
    mode: str,
) -> list[ReviewSection]:
    """Every shown question, worded as asked in `mode`, with its answer, by page (`sources`: item id -> given,
    carried or corrected)."""
    default = instrument.definition.default_language
    shown = shown_items(instrument, answers)
    out = []
    for page, section in enumerate(instrument.definition.sections, start=1):
        rows = [
            ReviewRow(
                item.id,
                text(wording(item, mode)[0], language, default),
                answer_label(instrument, item.id, answers.get(item.id), language, mode),
                answers.get(item.id) is not None,
                is_informative(answers.get(item.id)),
                (sources or {}).get(item.id) == "corrected",
            )
            for item in instrument.definition.items
            if item.section == section.id and item.id in shown and item.type != "notice"
        ]
        out.append(ReviewSection(page, text(section.title, language, default), rows))
    return out


@dataclass
class EvidenceView:
    item_text: str
    answer: str
    free_text: bool = False  # the youth's own words: shown as given, in the language they were given in


@dataclass
class IndicatorView:
    id: str
    text: str
    level: str
    key: bool
    evidence: list[EvidenceView] = field(default_factory=list)


@dataclass
class DomainView:
    id: str
    title: str
    level: str
    explain: str
    behind: list[str]  # texts of the indicators that gave the domain its level
    concerning: list[IndicatorView]


@dataclass
class NextStepView:
    text: str
    instrument_id: str | None = None
    instrument_title: str | None = None


def concludes_insufficient(instrument: CompiledInstrument) -> bool:
    """Whether the instrument's rules can conclude "not enough information" (versions before 1.1 cannot)."""
    return any(rule.level == levels.INSUFFICIENT for rule in instrument.overall_rules)


@dataclass
class TotalView:
    label: str
    value: str
    thresholds: list[str]


@dataclass
class ResultView:
    overall: str
    explain: str
    clauses: list[str]  # the parts of the rule that held, with what they counted
    key_indicators: list[str]
    domains_behind: list[str]
    domains: list[DomainView]
    completeness: Mapping[str, int]
    next_steps: list[NextStepView]
    title: str
    version: str
    validated: bool
    provenance: str
    citation: str | None
    skipped_sections: list[str] = field(default_factory=list)
    total: TotalView | None = None
    caution: bool = False  # "no concern" from a version that cannot say "not enough information", on little
    scored: bool = True  # False: a form without scoring rules, whose result concludes nothing


def result_view(
    instrument: CompiledInstrument,
    result: Mapping[str, Any],
    language: str,
    registry: Registry,
    *,
    mode: str,
    with_answers: bool = True,
) -> ResultView:
    """The stored result in the reader's `language`, every id turned into the instrument's words (questions as
    asked in the screening's `mode`; the evidence, which quotes answers, only `with_answers`). Free-text answers
    stay as they were given."""
    definition = instrument.definition
    default = definition.default_language

    def t(value: Mapping[str, str] | None) -> str:
        return text(dict(value) if value else None, language, default)

    indicator_texts = {i.id: t(i.text) for d in definition.domains for i in d.indicators}
    domain_titles = {d.id: t(d.title) for d in definition.domains}
    item_texts = {i.id: t(wording(i, mode)[0]) for i in definition.items}
    section_titles = {s.id: t(s.title) for s in definition.sections}
    domain_order = list(domain_titles)
    indicators = [
        IndicatorView(
            id=i["id"],
            text=indicator_texts.get(i["id"], i["id"]),
            level=i["level"],
            key=bool(i["key"]),
            evidence=[
                EvidenceView(
                    item_texts.get(e["item_id"], e["item_id"]),
                    answer_label(instrument, e["item_id"], e["answer"], language, mode),
                    _item_type(instrument, e["item_id"]) in FREE_TEXT,
                )
                for e in (i["evidence"] if with_answers else ())
            ],
        )
        for i in result["indicators"]
    ]
    domains = [
        DomainView(
            id=d["id"],
            title=domain_titles.get(d["id"], d["id"]),
            level=levels.shown(d["level"], domain=True) or "",
            explain=t(d["reason"]["explain"]) or NO_RULE,
            behind=[indicator_texts.get(i, i) for i in d["reason"]["indicators"]],
            concerning=[i for i in indicators if _domain_of(instrument, i.id) == d["id"] and i.level in CONCERNING],
        )
        for d in result["domains"]
    ]
    level_of_domain = {d.id: d.level for d in domains}
    level_of_indicator = {i.id: i.level for i in indicators}
    overall = result["overall"]

    def names(collection: str, ids: Sequence[str]) -> list[str]:
        if collection == "domains":
            return [domain_titles.get(i, i) for i in sorted(ids, key=_position(domain_order))]
        if collection == "indicators":
            return [indicator_texts.get(i, i) for i in ids]
        return [item_texts.get(i, i) for i in ids]

    if overall == NOT_SCORED:
        return _not_scored_view(instrument, result, t, language)
    steps = []
    for step in definition.next_steps.get(overall, ()):
        recommended = registry.get(step.instrument) if step.instrument else None
        steps.append(
            NextStepView(
                t(step.text),
                recommended.id if recommended else None,
                t(recommended.definition.title) if recommended else None,
            )
        )
    reason = result["reason"]
    # Results stored before engine 1.1 listed what was at the overall level "or above": show exactly
    # what is at the level (for "insufficient information": the key indicators nothing is known about).
    key_level = "unknown" if overall == levels.INSUFFICIENT else overall
    return ResultView(
        overall=overall,
        explain=t(reason["explain"]),
        clauses=[
            reasons.clause_text(c, instrument, language, names, with_answers=with_answers)
            for c in reason.get("clauses", ())
        ],
        key_indicators=[
            indicator_texts.get(i, i) for i in reason["indicators"] if level_of_indicator.get(i) == key_level
        ],
        domains_behind=[
            domain_titles.get(d, d)
            for d in sorted(reason["domains"], key=_position(domain_order))
            if level_of_domain.get(d) == overall
        ],
        domains=domains,
        completeness=result["completeness"],
        next_steps=steps,
        title=t(definition.title),
        version=result["instrument_version"],
        validated=definition.provenance.validated,
        provenance=t(definition.provenance.statement),
        citation=definition.provenance.citation,
        skipped_sections=[section_titles.get(s, s) for s in result.get("skipped_sections", ())],
        total=_total_view(instrument, result.get("total"), language),
        caution=overall == levels.NONE and not concludes_insufficient(instrument) and _little_known(result),
    )


def _not_scored_view(
    instrument: CompiledInstrument,
    result: Mapping[str, Any],
    t: Callable[[Mapping[str, str] | None], str],
    language: str,
) -> ResultView:
    """The result of a form without scoring rules: no level, no domains, no next steps; what was answered, and
    the total when the form declares one (a number reported, from which no level is concluded)."""
    definition = instrument.definition
    total = _total_view(instrument, result.get("total"), language)
    return ResultView(
        overall=NOT_SCORED,
        explain=str(NOT_SCORED_REASON if total is None else NOT_SCORED_TOTAL_REASON),
        clauses=[],
        key_indicators=[],
        domains_behind=[],
        domains=[],
        completeness=result["completeness"],
        next_steps=[],
        title=t(definition.title),
        version=result["instrument_version"],
        validated=definition.provenance.validated,
        provenance=t(definition.provenance.statement),
        citation=definition.provenance.citation,
        skipped_sections=[t(s.title) for s in definition.sections if s.id in result.get("skipped_sections", ())],
        total=total,
        scored=False,
    )


def _little_known(result: Mapping[str, Any]) -> bool:
    """Whether fewer than half of the questions shown got an informative answer."""
    c = result.get("completeness") or {}
    shown = int(c.get("total", 0)) - int(c.get("not_asked", 0))
    return shown > 0 and int(c.get("answered", 0)) * 2 < shown


def _total_view(instrument: CompiledInstrument, total: Mapping[str, Any] | None, language: str) -> TotalView | None:
    declared = instrument.declared_total
    if total is None or declared is None:
        return None
    label = text(dict(declared.label), language, instrument.definition.default_language)
    thresholds = [reasons.threshold_text(th, language) for th in total.get("thresholds", ())]
    return TotalView(label, reasons.number(total.get("value")), thresholds)


def _position(order: list[str]) -> Callable[[str], int]:
    return lambda i: order.index(i) if i in order else len(order)


def _item_type(instrument: CompiledInstrument, item_id: str) -> str | None:
    item = instrument.items.get(item_id)
    return item.type if item is not None else None


def _domain_of(instrument: CompiledInstrument, indicator_id: str) -> str | None:
    return instrument.indicator_domain.get(indicator_id)


def resource_lines(resources: Mapping[str, Any] | None, language: str) -> list[str]:
    """An agency's configured resources as lines: {language: [lines]}, or lines, or {name: text}."""
    if not resources:
        return []
    value: Any = resources
    if all(_LANGUAGE.match(str(key)) for key in resources):
        value = resources.get(language) or resources.get("en") or next(iter(resources.values()))
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        return [f"{name}: {line}" for name, line in value.items()]
    if isinstance(value, list | tuple):
        return [str(line) for line in value if line]
    return []
