"""Export rows as text: CSV safe against spreadsheet formulas (plain, or for Excel), JSON and NDJSON.

Pure functions over rows and a plan; they stream, one line (or one object) at a time. The codebook that
describes the CSV's columns is `app.exports.codebook`. Level words
come from `app.levels`, the one vocabulary: "insufficient_information" is an outcome of its own,
never a kind of "no_concern". Besides the levels, a row says what the result rests on: the
instrument's total and its thresholds, the sections with no informative answer, and the parts of
the overall rule that held (`RESULT_COLUMNS`, right after `overall_level`).
"""

from __future__ import annotations

import csv
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from app.exports.plan import (
    BASE_COLUMNS,
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    UNANSWERED,
    Plan,
)
from app.exports.variables import MISSING

# OWASP "CSV Injection": a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_START = frozenset("=+-@\t\r")
CLAUSE_SEPARATOR = " | "  # between clauses (an expression may hold ';' or ',', never ' | ')


def safe(value: str) -> str:
    """A text cell that no spreadsheet runs as a formula: a leading = + - @ tab or CR gets a ' before it."""
    return "'" + value if value and value[0] in FORMULA_START else value


def cell(value: Any) -> str:
    """One CSV cell: numbers as they are, choices joined by ';', every text formula-safe."""
    if value.__class__ is str:
        return "'" + value if value and value[0] in FORMULA_START else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return safe(";".join(str(v) for v in value))
    return safe(str(value))


def _texts(values: Iterable[Any]) -> list[str]:
    """Many cells at once (`cell` inlined for text, the common case)."""
    return [("'" + v if v and v[0] in FORMULA_START else v) if v.__class__ is str else cell(v) for v in values]


def number(value: float | None) -> str:
    """A total or a bound as a CSV number, without a needless '.0' (blank for none)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def threshold(entry: Mapping[str, Any]) -> str:
    """A total's threshold as `level<op><bound>`, e.g. possible_concern>=1."""
    return f"{entry.get('level')}{entry.get('op')}{number(entry.get('bound'))}"


def result_cells(result: Mapping[str, Any]) -> list[str]:
    """The RESULT_COLUMNS cells of a stored result (blank where a result scored before 1.1 has nothing)."""
    total = result.get("total") or {}
    thresholds = ";".join(threshold(t) for t in total.get("thresholds") or ())
    clauses = CLAUSE_SEPARATOR.join(str(c.get("source", "")) for c in (result.get("reason") or {}).get("clauses") or ())
    skipped = ";".join(result.get("skipped_sections") or ())
    return [number(total.get("value")), safe(thresholds), safe(skipped), safe(clauses)]


_Options = tuple[tuple[str, bool], ...]  # a multiple choice's 0/1 columns: (option code, offered in the version)
_Layout = tuple[str, str, str, "RowItems"]
BOM = "\ufeff"  # UTF-8's byte-order mark: how Excel knows a CSV is UTF-8 (without it, "línea" shows as "lÃ\xadnea")
_BASE = operator.itemgetter(*BASE_COLUMNS)


def one_hot(value: Any, options: _Options, why: bool = False) -> list[str]:
    """A multiple choice's 0/1 cells: 1 chosen, 0 offered and not chosen in an answer. Otherwise blank, never a 'no':
    when the item has no list of choices (a special answer, not asked, unanswered, not shared, not in the version:
    its own cell says which), or for an option the row's version did not offer. With `why` (the SPSS and Stata files,
    whose missing values say why) that blank is the reason: the item's own code, or `not_asked_in_version`."""
    if value.__class__ is not list:
        return [value if why and value.__class__ is str and value in MISSING else ""] * len(options)
    unoffered = NOT_ASKED_IN_VERSION if why else ""
    return ["1" if code in value else "0" if offered else unoffered for code, offered in options]


def head_values(plan: Plan, row: Mapping[str, Any]) -> tuple[Sequence[Any], list[str], list[Any]]:
    """A row's cells before its items, as values, in three parts: its base columns; what its result rests on,
    already as text (`result_cells`: a total is a number, never formula-guarded); each domain's level
    (`not_assessed` where the row's version has no such domain) and, when the export has them, its notes
    (`not_shared` when the consent does not cover them)."""
    domains = row["domains"]
    after = [domains.get(d, NOT_ASSESSED) for d in plan.domains]
    if plan.with_notes:
        notes = row.get("notes")
        after.append(NOT_SHARED if notes is None else notes)
    return _BASE(row), result_cells(row["result"]), after


class RowItems:
    """The item cells of the rows of one instrument version, from a row's answers: the one rule of the CSV and of
    the SPSS and Stata files. Another instrument's item is `not_in_instrument`; an item the version lacks is
    `not_asked_in_version`; without shared answers every other item is `not_shared`, with them an item without
    an answer is `unanswered`; each multiple choice's 0/1 cells follow its own (`one_hot`, with `why`).

    Everything but the row's own answers is fixed for the version, so it is worked out once: the cells before
    and after the version's own block of columns (other instruments' items), and the block without answers.
    """

    def __init__(self, plan: Plan, instrument_id: str, version: str, *, why: bool = False) -> None:
        layout = plan.item_layout(instrument_id, version)
        owners = [owner for owner, _item in plan.items]  # sorted by instrument: one instrument's are contiguous
        first = owners.index(instrument_id) if instrument_id in owners else len(owners)
        self.why = why
        self.before = self._others(plan, plan.items[:first])
        self.after = self._others(plan, plan.items[first + len(layout.block) :])
        self.items = tuple(item for item, _code in layout.block)
        self.codes = tuple(code for _item, code in layout.block)  # a fixed code, or None: it takes an answer
        self.blanks = tuple(UNANSWERED if code is None else code for code in self.codes)
        self.fixed = tuple((n, code) for n, code in enumerate(self.codes) if code is not None)
        self.choices = layout.choices
        self.hidden = self.own(None)

    def _others(self, plan: Plan, keys: Sequence[tuple[str, str]]) -> list[str]:
        """Other instruments' items: `not_in_instrument`, and each of their 0/1 cells."""
        return [
            cell
            for key in keys
            for cell in (
                NOT_IN_INSTRUMENT,
                *one_hot(NOT_IN_INSTRUMENT, tuple((c, False) for c in plan.choices.get(key, ())), self.why),
            )
        ]

    def own(self, answers: Mapping[str, Any] | None) -> list[Any]:
        """The cells of the version's own block of columns, from a row's answers (None: not shared)."""
        if answers is None:
            own = [NOT_SHARED if code is None else code for code in self.codes]
        else:
            own = list(map(answers.get, self.items, self.blanks))
            for position, code in self.fixed:
                own[position] = code
        if self.choices:  # each multiple choice's 0/1 cells after its own
            why = self.why
            own = [
                c for value, opts in zip(own, self.choices, strict=True) for c in (value, *one_hot(value, opts, why))
            ]
        return own

    def values(self, answers: Mapping[str, Any] | None) -> list[Any]:
        """Every item cell of a row, in column order."""
        return [*self.before, *(self.hidden if answers is None else self.own(answers)), *self.after]


class _CsvRows:
    """Export rows as CSV lines (RFC 4180, as the csv module writes them), fast at any size.

    Most of a row's item cells are fixed for its instrument version (`RowItems`): those are written once per
    version and reused, so each row writes only its own values through the csv module.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.written: list[str] = []
        self.write = self.written.append  # the csv writer's file: each line lands in the list
        self.writer = csv.writer(self, lineterminator="\r\n")
        self.layouts: dict[tuple[str, str], _Layout] = {}

    def line(self, values: Sequence[str]) -> str:
        """One CSV line of cells."""
        self.writer.writerow(values)
        return self.written.pop()

    def _text(self, values: Sequence[str]) -> str:
        """Cells as they are written within a line (a line of just one empty cell would be written `""`)."""
        return "" if len(values) == 1 and values[0] == "" else self.line(values)[:-2]

    def _layout(self, instrument_id: str, version: str) -> _Layout:
        """For one instrument version: the text before its own item cells, after them, and in their place when
        answers are not shared (each with its separators), and its `RowItems`."""
        key = (instrument_id, version)
        if key not in self.layouts:
            items = RowItems(self.plan, instrument_id, version)
            before = "".join("," + self._text([c]) for c in items.before) + ","
            after = "".join("," + self._text([c]) for c in items.after) + "\r\n"
            self.layouts[key] = (before, after, before + self._text(items.hidden) + after, items)
        return self.layouts[key]

    def __call__(self, row: dict[str, Any]) -> str:
        plan = self.plan
        base, result, after = head_values(plan, row)
        out = _texts(base)
        out += result
        out += _texts(after)
        if not plan.with_items or not plan.items:
            return self.line(out)
        before, after_items, hidden, items = self._layout(row["instrument_id"], row["instrument_version"])
        if not items.items:  # an instrument without items in the export: only fixed cells
            return self.line(out)[:-2] + before[:-1] + after_items
        answers = row.get("answers")
        if answers is None:
            return self.line(out)[:-2] + hidden
        return self.line(out)[:-2] + before + self._text(_texts(items.own(answers))) + after_items


def csv_lines(plan: Plan, rows: Iterable[dict[str, Any]], *, excel: bool = False) -> Iterator[str]:
    """The header, then one line per row (RFC 4180: CRLF line ends, UTF-8); for Excel, after a byte-order mark."""
    line = _CsvRows(plan)
    yield (BOM if excel else "") + line.line(plan.columns)
    for row in rows:
        yield line(row)


def json_lines(rows: Iterable[dict[str, Any]], *, ndjson: bool = False) -> Iterator[str]:
    """A JSON array written piece by piece, or NDJSON (one object a line)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if ndjson:
        for row in rows:
            yield encode(row) + "\n"
        return
    separator = "[\n"
    for row in rows:
        yield separator + encode(row)
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"
