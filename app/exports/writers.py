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
    NOT_ASSESSED,
    NOT_SHARED,
    UNANSWERED,
    Plan,
)

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
_Layout = tuple[str, str, str, tuple[str, ...], tuple[str, ...], tuple[tuple[int, str], ...], tuple[_Options, ...]]
BOM = "\ufeff"  # UTF-8's byte-order mark: how Excel knows a CSV is UTF-8 (without it, "línea" shows as "lÃ\xadnea")


def one_hot(value: Any, options: _Options) -> list[str]:
    """A multiple choice's 0/1 cells: 1 chosen, 0 offered and not chosen in an answer; blank when the item has no
    list of choices (a special answer, not asked, unanswered, not shared, not in the version: its own cell says
    which) or the row's version did not offer the option. A blank is never a 'no'."""
    if value.__class__ is not list:
        return [""] * len(options)
    return ["1" if code in value else "0" if offered else "" for code, offered in options]


class _CsvRows:
    """Export rows as CSV lines (RFC 4180, as the csv module writes them), fast at any size.

    Most of a row's item cells are fixed for its instrument version (other instruments' columns, items not in
    its version, or every item when answers are not shared): those are written once per version and reused, so
    each row writes only its own values through the csv module.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.written: list[str] = []
        self.write = self.written.append  # the csv writer's file: each line lands in the list
        self.writer = csv.writer(self, lineterminator="\r\n")
        self.base = operator.itemgetter(*BASE_COLUMNS)
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
        answers are not shared (each with its separators); its own items, each one's cell when it has no answer,
        the positions of those whose cell is fixed whatever the answers (not in this version), and the 0/1
        columns of its multiple-choice items (none when it has none: then each item is one cell)."""
        key = (instrument_id, version)
        if key not in self.layouts:
            layout = self.plan.item_layout(instrument_id, version)
            before = "".join("," + self._text([c]) for c in layout.before) + ","
            after = "".join("," + self._text([c]) for c in layout.after) + "\r\n"
            choices = layout.choices or tuple(() for _ in layout.block)
            hidden = [
                cell
                for (_item, code), options in zip(layout.block, choices, strict=True)
                for cell in (NOT_SHARED if code is None else code, *one_hot(None, options))
            ]
            items = tuple(item for item, _code in layout.block)
            blanks = tuple(UNANSWERED if code is None else code for _item, code in layout.block)
            fixed = tuple((n, code) for n, (_item, code) in enumerate(layout.block) if code is not None)
            text = before + self._text(hidden) + after
            self.layouts[key] = (before, after, text, items, blanks, fixed, layout.choices)
        return self.layouts[key]

    def __call__(self, row: dict[str, Any]) -> str:
        plan = self.plan
        domains = row["domains"]
        out = _texts(self.base(row))
        out += result_cells(row["result"])
        out += _texts([domains.get(d, NOT_ASSESSED) for d in plan.domains])
        if plan.with_notes:
            notes = row.get("notes")
            out.append(NOT_SHARED if notes is None else cell(notes))
        if not plan.with_items or not plan.items:
            return self.line(out)
        layout = self._layout(row["instrument_id"], row["instrument_version"])
        before, after, hidden, items, blanks, fixed, choices = layout
        if not items:  # an instrument without items in the export: only fixed cells
            return self.line(out)[:-2] + before[:-1] + after
        answers = row.get("answers")
        if answers is None:
            return self.line(out)[:-2] + hidden
        own = list(map(answers.get, items, blanks))
        for position, code in fixed:
            own[position] = code
        if choices:  # each multiple choice's 0/1 cells after its own
            own = [cell for value, opts in zip(own, choices, strict=True) for cell in (value, *one_hot(value, opts))]
        return self.line(out)[:-2] + before + self._text(_texts(own)) + after


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
