"""A checked, compiled instrument: everything scoring needs, precomputed once at load time."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from instruments.expressions import Expression
from instruments.model import Instrument, Item, Total
from instruments.source import Problem, Source

YES_NO_LABELS: dict[str, dict[str, str]] = {
    "yes": {"en": "Yes", "es": "Sí"},
    "no": {"en": "No", "es": "No"},
}
RATING_CODES = ("no_concern", "possible_concern", "clear_concern")


@dataclass(frozen=True)
class Feed:
    """One way an item's answer implies a level for an indicator."""

    item_id: str
    indicator: str
    level: str
    answers: frozenset[str] | None = None  # implies `level` when the answer (or a chosen code) is one of these
    when: Expression | None = None
    rating: bool = False  # an indicator_rating item: the answer is the level itself


@dataclass(frozen=True)
class Rescreen:
    """Screen the youth again within `days` days of completion, with `instrument_id`."""

    days: int
    instrument_id: str


@dataclass(frozen=True)
class CompiledRule:
    """A scoring rule ready to run; `when` None is the fallback."""

    index: int
    level: str
    when: Expression | None
    explain: Mapping[str, str]


@dataclass(frozen=True, eq=False)
class CompiledInstrument:
    """An instrument version after every check passed."""

    definition: Instrument
    content_hash: str
    file: str
    items: Mapping[str, Item]
    visibility_order: tuple[str, ...]  # items that take answers, each after those its show_if reads
    show_if: Mapping[str, Expression]
    codes: Mapping[str, frozenset[str] | None]  # allowed answer codes per choice item
    feeds: Mapping[str, tuple[Feed, ...]]  # by indicator
    indicator_domain: Mapping[str, str]
    key_indicators: frozenset[str]
    key_indicators_in_order: tuple[str, ...]
    domain_indicators: Mapping[str, tuple[str, ...]]
    all_indicators: tuple[str, ...]
    domain_rules: tuple[CompiledRule, ...]
    overall_rules: tuple[CompiledRule, ...]
    allows_not_enough_info: bool
    every_answer: bool  # scoring.indicator_needs == "every_answer"
    total: Expression | None  # scoring.total, compiled; set for an unscored instrument that declares a total too
    carry: Mapping[str, int | None]  # look-back in days per item (item's, else section's, else default); None: never
    source: Source  # the file it came from, to locate problems found across instruments
    warnings: tuple[Problem, ...] = ()  # found at load time; they never stop a load (see LoadResult)

    def line_of(self, *path: str | int) -> int | None:
        """The line in the definition file of the value at `path`."""
        return self.source.line_of(path)

    @property
    def id(self) -> str:
        """The instrument's id."""
        return self.definition.id

    @property
    def version(self) -> str:
        """The instrument's semantic version."""
        return self.definition.version

    @property
    def scored(self) -> bool:
        """Whether the instrument has scoring rules; without them its overall result is `not_scored` (it may
        still report a total: see `declared_total`)."""
        return self.definition.scoring is not None and self.definition.scoring.has_rules

    @property
    def declared_total(self) -> Total | None:
        """The total the instrument declares (its label, what it sums, its outside code), scored or not; None
        when it declares none. A result reports it whenever it is declared, with or without a level."""
        return self.definition.scoring.total if self.definition.scoring is not None else None

    @property
    def key(self) -> tuple[str, str]:
        """(id, version): what identifies a published instrument version."""
        return (self.definition.id, self.definition.version)

    @cached_property  # read by every scoring of an instrument with a total: worked out once
    def total_thresholds(self) -> tuple[tuple[str, str, float], ...]:
        """(level, operator, bound) for each overall rule clause that compares total() with a number."""
        return tuple(
            (rule.level, part.op, part.bound)
            for rule in self.overall_rules
            if rule.when is not None
            for part in rule.when.parts
            if part.collection == "total" and part.op is not None and part.bound is not None
        )

    def carry_days(self, item_id: str) -> int | None:
        """How many days after it was given an answer to this item may be carried into a new
        screening, or None when it never carries (a present-state question, or a notice).

        Raises KeyError for an item the instrument does not have."""
        return self.carry[item_id]

    def rescreen(self, level: str) -> Rescreen | None:
        """The soonest re-screen the next steps of an overall level ask for (the first step, of equally soon
        ones), or None when none says `screen_again`. A step that names an instrument asks for that one."""
        steps = next((steps for key, steps in self.definition.next_steps.items() if key == level), ())
        dated = [(s.screen_again.days, index, s.instrument) for index, s in enumerate(steps) if s.screen_again]
        if not dated:
            return None
        days, _index, instrument = min(dated, key=lambda d: (d[0], d[1]))
        return Rescreen(days, instrument or self.id)

    def option_label(self, item_id: str, code: str, language: str) -> str:
        """The label of an answer code in a language, for display."""
        item = self.items[item_id]
        for option in getattr(item, "options", ()):
            if option.code == code:
                return str(option.label.get(language) or option.label[self.definition.default_language])
        if item.type == "yes_no" and code in YES_NO_LABELS:
            return YES_NO_LABELS[code].get(language, code)
        return code


# Keys the language gained after versions were published, with the value that means "not written":
# `carry` on sections and items, `screen_again` on next steps, outside `codes`/`coding`/`code` on items,
# options, totals and the instrument, `derived_from` on the instrument, staff wording (`staff_text`, `staff_help`,
# `staff_notice`) on items and sections. Left out of the canonical form
# when so, a published version keeps the hash stored with its screenings.
ADDED_LATER: dict[str, object] = {
    "carry": None,
    "screen_again": None,
    "codes": [],
    "coding": None,
    "code": None,
    "derived_from": None,
    "staff_text": None,
    "staff_help": None,
    "staff_notice": None,
}


def content_hash(definition: Instrument) -> str:
    """SHA-256 over a canonical form: stable across key order, comments and whitespace."""
    data = definition.model_dump(mode="json")
    # Examples are left out: they check the rules and change nothing asked or concluded, so adding or fixing
    # one is not a new version, and a published version's hash stays what it was.
    data.pop("examples", None)
    steps = [step for level in data["next_steps"].values() for step in level]
    options = [option for item in data["items"] for option in item.get("options") or ()]
    total = [data["scoring"]["total"]] if data["scoring"] and data["scoring"].get("total") else []
    for part in (data, *data["sections"], *data["items"], *steps, *options, *total):
        for key, absent in ADDED_LATER.items():
            if key in part and part[key] == absent:
                del part[key]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an instrument file, for editors."""
    schema = Instrument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "TellOnce instrument definition"
    return schema
