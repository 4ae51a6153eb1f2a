"""What the review and result pages show, built from a compiled instrument and stored answers or result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.screenings.forms import answer_label, sections, visible_ids
from app.web import _, text
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import LANGUAGE_PATTERN

_LANGUAGE = re.compile(LANGUAGE_PATTERN)
CONCERNING = ("clear_concern", "possible_concern")
NO_RULE = _("Nothing was learned about this domain: every line was unanswered, declined or 'not enough information'.")


@dataclass
class ReviewRow:
    item_id: str
    text: str
    answer: str
    answered: bool


@dataclass
class ReviewSection:
    page: int
    title: str
    rows: list[ReviewRow]


def review(instrument: CompiledInstrument, answers: Mapping[str, Any], language: str) -> list[ReviewSection]:
    """Every shown question with its answer, by page."""
    default = instrument.definition.default_language
    shown = visible_ids(instrument, answers)
    out = []
    for page, section in enumerate(sections(instrument), start=1):
        rows = [
            ReviewRow(
                item.id,
                text(item.text, language, default),
                answer_label(instrument, item.id, answers.get(item.id), language),
                answers.get(item.id) is not None,
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


@dataclass
class ResultView:
    overall: str
    explain: str
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


def result_view(
    instrument: CompiledInstrument,
    result: Mapping[str, Any],
    language: str,
    registry: Registry,
    *,
    with_answers: bool = True,
) -> ResultView:
    """The stored result, with every id turned into the instrument's words (the evidence, which quotes
    answers, only `with_answers`)."""
    definition = instrument.definition
    default = definition.default_language

    def t(value: Mapping[str, str] | None) -> str:
        return text(dict(value) if value else None, language, default)

    indicator_texts = {i.id: t(i.text) for d in definition.domains for i in d.indicators}
    domain_titles = {d.id: t(d.title) for d in definition.domains}
    item_texts = {i.id: t(i.text) for i in definition.items}
    indicators = [
        IndicatorView(
            id=i["id"],
            text=indicator_texts.get(i["id"], i["id"]),
            level=i["level"],
            key=bool(i["key"]),
            evidence=[
                EvidenceView(
                    item_texts.get(e["item_id"], e["item_id"]),
                    answer_label(instrument, e["item_id"], e["answer"], language),
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
            level=d["level"],
            explain=t(d["reason"]["explain"]) or NO_RULE,
            behind=[indicator_texts.get(i, i) for i in d["reason"]["indicators"]],
            concerning=[i for i in indicators if _domain_of(instrument, i.id) == d["id"] and i.level in CONCERNING],
        )
        for d in result["domains"]
    ]
    steps = []
    for step in definition.next_steps.get(result["overall"], ()):
        recommended = registry.get(step.instrument) if step.instrument else None
        steps.append(
            NextStepView(
                t(step.text),
                recommended.id if recommended else None,
                t(recommended.definition.title) if recommended else None,
            )
        )
    reason = result["reason"]
    return ResultView(
        overall=result["overall"],
        explain=t(reason["explain"]),
        key_indicators=[indicator_texts.get(i, i) for i in reason["indicators"]],
        domains_behind=[domain_titles.get(d, d) for d in reason["domains"]],
        domains=domains,
        completeness=result["completeness"],
        next_steps=steps,
        title=t(definition.title),
        version=result["instrument_version"],
        validated=definition.provenance.validated,
        provenance=t(definition.provenance.statement),
        citation=definition.provenance.citation,
    )


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
