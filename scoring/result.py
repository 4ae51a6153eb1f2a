"""The result of scoring one set of answers: frozen, explained, and serialisable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

# How concerning each level is. "insufficient_information" ranks with "no_concern": it raises no
# concern, and it is never below "no_concern", so nothing can read it as safer than that.
LEVEL_RANK: Mapping[str, int] = {
    "unknown": 0,
    "insufficient_information": 0,
    "no_concern": 0,
    "possible_concern": 1,
    "clear_concern": 2,
    "not_scored": 0,  # an unscored form: it raises no concern because it concludes nothing at all
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """An answer that gave an indicator its level."""

    item_id: str
    answer: Any
    level: str


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator's level and the answers behind it."""

    id: str
    domain: str
    key: bool
    level: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Clause:
    """One part of a rule's condition that was true: what it counted, and the number against the bound.

    `collection` is items, indicators, domains, weights or total (None for any other condition);
    `members` the ids it counted; `value`, `op` and `bound` are set for a comparison with a number.
    """

    source: str
    collection: str | None = None
    members: tuple[str, ...] = ()
    value: float | None = None
    op: str | None = None
    bound: float | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"level": "clear_concern", "key": True}


@dataclass(frozen=True, slots=True)
class RuleReason:
    """Which rule gave a domain or the overall result its level, and what it looked at."""

    rule: int  # position of the rule in its list, from 1; 0 when no rule ran (nothing known)
    explain: Mapping[str, str]
    indicators: tuple[str, ...] = ()  # overall: key indicators at exactly the overall level
    domains: tuple[str, ...] = ()  # overall: domains at exactly the overall level
    clauses: tuple[Clause, ...] = ()  # the parts of the rule's condition that were true


@dataclass(frozen=True, slots=True)
class DomainResult:
    """One domain's level and the rule that gave it."""

    id: str
    level: str
    reason: RuleReason


@dataclass(frozen=True, slots=True)
class Completeness:
    """How many items got which kind of answer."""

    total: int
    answered: int
    declined: int
    not_enough_info: int
    not_asked: int
    unanswered: int


@dataclass(frozen=True, slots=True)
class Threshold:
    """A bound that an overall rule compares the total with, and the level it gives."""

    level: str
    op: str
    bound: float


@dataclass(frozen=True, slots=True)
class Total:
    """The instrument's declared total (a weighted sum, a count of 'yes', ...) and its thresholds."""

    value: float | None
    thresholds: tuple[Threshold, ...]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Everything `scoring.score` concludes about one set of answers."""

    instrument_id: str
    instrument_version: str
    content_hash: str
    engine_version: str
    overall: str
    reason: RuleReason
    domains: tuple[DomainResult, ...]
    indicators: tuple[IndicatorResult, ...]
    completeness: Completeness
    skipped_sections: tuple[str, ...] = ()  # sections shown but with no informative answer at all
    total: Total | None = None

    def domain(self, domain_id: str) -> DomainResult:
        """One domain's result by id."""
        return next(d for d in self.domains if d.id == domain_id)

    def indicator(self, indicator_id: str) -> IndicatorResult:
        """One indicator's result by id."""
        return next(i for i in self.indicators if i.id == indicator_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary: what `dataclasses.asdict` gives, without its deep copy of every leaf (the
        leaves are immutable), which cost more than the scoring itself."""
        plain: dict[str, Any] = _plain(self)  # a dataclass always comes out as a dict
        return plain


_FIELDS: dict[type, tuple[str, ...]] = {}


_LEAVES = frozenset({str, int, float, bool, type(None)})  # most of a result's values: returned at once


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, tuples and lists as themselves, all the way down; other values as they are."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return kind([_plain(item) for item in value])
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value
