"""The shape of an export, known before its first row: what was asked, and so the columns.

No database here: the tabular exporter plans from the database, the benchmark from synthetic data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from app.errors import Forbidden, InvalidInput
from app.i18n import _
from app.models import Role, User
from app.models_sharing import Category, Purpose
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry

EXPORT_ROLES = (Role.system_admin, Role.agency_admin, Role.supervisor)
# Codes of CSV cells besides each item's answer codes and the special answers.
NOT_ASKED_IN_VERSION = "not_asked_in_version"
NOT_IN_INSTRUMENT = "not_in_instrument"
NOT_SHARED = "not_shared"
UNANSWERED = "unanswered"
NOT_ASSESSED = "not_assessed"
BASE_COLUMNS = (
    "person_key",
    "screening_id",
    "agency",
    "instrument_id",
    "instrument_version",
    "content_hash",
    "mode",
    "language",
    "started_at",
    "completed_at",
    "overall_level",
)
# What a result rests on, after `overall_level`: its total and thresholds, skipped sections, fired clauses.
RESULT_COLUMNS = ("total", "total_thresholds", "skipped_sections", "reason_clauses")
# A multiple-choice item's 0/1 column per option is named `<instrument>.<item>___<option>`, as REDCap names them.
ONE_HOT = "___"


@dataclass(frozen=True)
class ExportRequest:
    """What was asked: by whom, for which recipient, which dates (inclusive), categories and purpose."""

    exporter_id: str
    agency_id: str  # the exporter's agency, which owns the data
    recipient_agency_id: str
    date_from: date
    date_to: date
    categories: tuple[str, ...]
    purpose: str

    @property
    def own(self) -> bool:
        """An agency exporting its own screenings to itself: no consent needed, nothing disclosed."""
        return self.recipient_agency_id == self.agency_id


def require_exporter(user: User) -> None:
    """Exports are a supervisor's or an administrator's (DESIGN: who uses it)."""
    if user.role not in EXPORT_ROLES:
        raise Forbidden(_("Exports are run by a supervisor or an administrator."))


def request_of(
    exporter: User,
    recipient_agency_id: str,
    date_from: date,
    date_to: date,
    categories: Iterable[str],
    purpose: str,
) -> ExportRequest:
    """Check an export's terms: the exporter's role, the dates, the categories and the purpose."""
    require_exporter(exporter)
    if date_to < date_from:
        raise InvalidInput(_("The end date is before the start date."), {"field": "to"})
    asked = {str(c).strip() for c in categories if str(c).strip()}
    unknown = asked - {c.value for c in Category}
    if unknown:
        raise InvalidInput(
            _("Unknown categories: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}, {"field": "categories"}
        )
    if Category.result_summary.value not in asked:
        raise InvalidInput(
            _("An export always carries the result summary: include result_summary."), {"field": "categories"}
        )
    if purpose not in {p.value for p in Purpose}:
        raise InvalidInput(_("Unknown purpose '%(purpose)s'.") % {"purpose": purpose}, {"field": "purpose"})
    return ExportRequest(
        exporter.id,
        exporter.agency_id,
        recipient_agency_id,
        date_from,
        date_to,
        tuple(c.value for c in Category if c.value in asked),
        purpose,
    )


@dataclass(frozen=True)
class Plan:
    """An export's shape, known before its first row: the instruments, and so the columns."""

    request: ExportRequest
    agency_name: str
    recipient_name: str
    instruments: tuple[CompiledInstrument, ...]  # every loaded version of each instrument in the export
    with_items: bool
    with_notes: bool

    @cached_property
    def domains(self) -> tuple[str, ...]:
        """Domain ids across the instruments, in order of first appearance."""
        return tuple(dict.fromkeys(d.id for c in self.instruments for d in c.definition.domains))

    @cached_property
    def items(self) -> tuple[tuple[str, str], ...]:
        """(instrument id, item id) of every item that takes an answer, in any version: a column each."""
        if not self.with_items:
            return ()
        found = (
            (c.id, i.id) for c in sorted(self.instruments, key=_order) for i in c.definition.items if i.type != "notice"
        )
        return tuple(sorted(dict.fromkeys(found), key=lambda key: key[0]))

    @cached_property
    def choices(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """The option codes of each multiple-choice item of `items`, over its versions (oldest first, in order of
        first appearance): a 0/1 column each, right after the item's own column of codes joined by ';'."""
        found: dict[tuple[str, str], dict[str, None]] = {}
        for c in sorted(self.instruments, key=_order) if self.with_items else ():
            for item in c.definition.items:
                if item.type == "multiple_choice":
                    found.setdefault((c.id, item.id), {}).update(dict.fromkeys(o.code for o in item.options))
        return {key: tuple(codes) for key, codes in found.items()}

    def item_columns(self, key: tuple[str, str]) -> tuple[str, ...]:
        """An item's columns: its own, then one per option of a multiple choice."""
        own = f"{key[0]}.{key[1]}"
        return (own, *(f"{own}{ONE_HOT}{code}" for code in self.choices.get(key, ())))

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The CSV header."""
        notes = ("notes",) if self.with_notes else ()
        items = tuple(name for key in self.items for name in self.item_columns(key))
        return BASE_COLUMNS + RESULT_COLUMNS + tuple(f"domain.{d}" for d in self.domains) + notes + items

    def item_layout(self, instrument_id: str, version: str) -> ItemLayout:
        """The item columns of a row of one instrument version: its block, with the fixed codes within it."""
        cache: dict[tuple[str, str], ItemLayout] = self.__dict__.setdefault("_layouts", {})
        key = (instrument_id, version)
        if key not in cache:
            compiled = next((c for c in self.instruments if c.key == key), None)
            present = set(compiled.items) if compiled else set()
            owners = [owner for owner, _item in self.items]
            # Items are sorted by instrument, so one instrument's columns are contiguous.
            first = owners.index(instrument_id) if instrument_id in owners else len(owners)
            end = first + owners.count(instrument_id)
            block = tuple(
                (item, NOT_ASKED_IN_VERSION if compiled is not None and item not in present else None)
                for _owner, item in self.items[first:end]
            )

            def offered(item: str) -> frozenset[str]:
                found = compiled.items.get(item) if compiled is not None else None
                if found is None or found.type != "multiple_choice":
                    return frozenset()
                return frozenset(option.code for option in found.options)

            choices = tuple(
                tuple((code, code in offered(item)) for code in self.choices.get((instrument_id, item), ()))
                for _owner, item in self.items[first:end]
            )
            cache[key] = ItemLayout(block, choices if any(choices) else ())
        return cache[key]


@dataclass(frozen=True)
class ItemLayout:
    """A row's own instrument's item columns (`block`): an item not in the row's version has a fixed code and the
    others (None) take answers. `choices`, when the block has multiple-choice items: for each item of the block,
    its options' 0/1 columns as (option code, whether the row's version offers it); empty when no item of the
    block has them. (Other instruments' columns around the block: `writers.RowItems`.)"""

    block: tuple[tuple[str, str | None], ...]
    choices: tuple[tuple[tuple[str, bool], ...], ...] = ()


def _order(compiled: CompiledInstrument) -> tuple[str, tuple[int, ...]]:
    return compiled.id, tuple(int(p) for p in compiled.version.split("."))


def plan_for(
    registry: Registry,
    req: ExportRequest,
    instrument_ids: Iterable[str],
    *,
    agency_name: str,
    recipient_name: str,
    with_items: bool,
    with_notes: bool,
) -> Plan:
    """The plan of an export of screenings of these instruments (no database: the benchmark uses it too)."""
    ids = set(instrument_ids)
    instruments = tuple(sorted((c for c in registry.all() if c.id in ids), key=_order))
    return Plan(req, agency_name, recipient_name, instruments, with_items, with_notes)
