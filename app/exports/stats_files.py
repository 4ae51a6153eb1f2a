"""SPSS `.sav` and Stata `.dta` files of an export, with variable labels and value labels (pyreadstat).

They hold the rows of `tabular.export_rows` (the same consent filter, the same ledger entries, recorded
batch by batch as the rows are read), with the columns of the CSV as the variables of `app.exports.variables`.
Unlike the CSV these formats are written whole, so the table is held in memory until the file is written:
`MAX_CELLS` bounds an export (screenings times columns) before it starts; a larger one is refused with a
message to narrow the dates or use the CSV, which streams at any size. Being whole, the file is written before
any of it is sent: a failure to write it is an `ExportFailed` (an error status with a message, not a download
cut short), and the callers commit the export's ledger entries only once the file is written (`app.exports.api`).

Values are the CSV's: text is the CSV cell (codes, ';'-joined choices and the formula guard included);
numbers, dates and times are typed; levels and choices are numbers with value labels; a code that is not an
answer is a labelled missing value (SPSS user-missing number, Stata extended missing letter), see
`app.exports.variables`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from app import levels
from app.errors import AppError, ExportFailed, InvalidInput
from app.exports import writers
from app.exports.plan import (
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    UNANSWERED,
    Plan,
)
from app.exports.variables import LEVEL_NUMBERS, MISSING, Variable, variables
from app.i18n import _, content_language, page_language
from instruments.compiled import CompiledInstrument
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO

log = logging.getLogger(__name__)
FORMATS = {
    "sav": ("application/x-spss-sav", "sav"),
    "dta": ("application/x-stata-dta", "dta"),
}
# About 50,000 screenings of 100 columns: some hundreds of MB while the table is built.
MAX_CELLS = 5_000_000
SPSS_EPOCH = datetime(1582, 10, 14)  # SPSS dates and times count seconds from here
LABEL_LIMITS = {"sav": 255, "dta": 80}  # characters of a variable label
VALUE_LABEL_LIMIT = 120  # SPSS's bytes of a value label (Stata allows more)
MISSING_WORDS = {
    DECLINED: _("Declined"),
    NOT_ENOUGH_INFO: _("Not enough information"),
    NOT_ASKED: _("Not asked (an earlier answer made it unnecessary)"),
    UNANSWERED: _("Shown, left unanswered"),
    NOT_ASKED_IN_VERSION: _("Not in this instrument version"),
    NOT_IN_INSTRUMENT: _("Another instrument's question"),
    NOT_SHARED: _("Not shared under the consent"),
    NOT_ASSESSED: _("Domain not in this instrument version"),
}
SHORT_LABELS = {
    "person_key": _("Pseudonymous person key"),
    "screening_id": _("Screening id"),
    "agency": _("Agency"),
    "instrument_id": _("Instrument"),
    "instrument_version": _("Instrument version"),
    "content_hash": _("Instrument content hash"),
    "mode": _("Mode"),
    "language": _("Language"),
    "started_at": _("Started at (UTC)"),
    "completed_at": _("Completed at (UTC)"),
    "overall_level": _("Overall level"),
    "total": _("Total"),
    "total_thresholds": _("Total thresholds"),
    "skipped_sections": _("Sections without an informative answer"),
    "reason_clauses": _("Why: the rule's parts that held"),
    "notes": _("Screener's notes"),
}


def too_large(rows: int, plan: Plan) -> None:
    """Refuse, before anything is read, an export too large to hold in memory as one table."""
    cells = rows * len(plan.columns)
    if cells > MAX_CELLS:
        raise InvalidInput(
            _(
                "%(rows)s screenings of %(columns)s columns are too many for one SPSS or Stata file (at most "
                "%(cells)s cells, held in memory while it is written). Choose fewer dates, or the CSV, which has "
                "no limit."
            )
            % {"rows": f"{rows:,}", "columns": len(plan.columns), "cells": f"{MAX_CELLS:,}"},
            {"field": "format"},
        )


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fits(text: str) -> str:
    """A value label within SPSS's 120 bytes (UTF-8)."""
    while len(text.encode("utf-8")) > VALUE_LABEL_LIMIT:
        text = text[:-2] + "…"
    return text


def _newest(plan: Plan, key: tuple[str, str]) -> CompiledInstrument:
    return [c for c in plan.instruments if c.id == key[0] and key[1] in c.items][-1]


def _item_text(plan: Plan, key: tuple[str, str]) -> tuple[CompiledInstrument, str]:
    newest = _newest(plan, key)
    language = content_language(newest, page_language())
    text = newest.items[key[1]].text
    return newest, text.get(language) or next(iter(text.values()))


def _label(plan: Plan, variable: Variable) -> str:
    """A variable's label: the question (a 0/1 column: the option, then the question), a domain's title."""
    if variable.item is not None:
        newest, text = _item_text(plan, variable.item)
        if variable.option is None:
            return text
        option = newest.option_label(variable.item[1], variable.option, content_language(newest, page_language()))
        return f"{option}: {text}"
    if variable.column.startswith("domain."):
        domain = variable.column.removeprefix("domain.")
        title = next(
            (d.title.get(content_language(c, page_language())) or next(iter(d.title.values())))
            for c in reversed(plan.instruments)
            for d in c.definition.domains
            if d.id == domain
        )
        return str(_("Level: %(title)s") % {"title": title})
    return str(SHORT_LABELS.get(variable.column, variable.column))


def _code_words(plan: Plan, variable: Variable) -> dict[str, str]:
    """Each code's words for the value labels."""
    if variable.kind == "one_hot":
        return {"1": str(_("Chosen")), "0": str(_("Not chosen"))}
    if variable.kind == "level" or variable.numbers == LEVEL_NUMBERS:  # levels, and indicator ratings
        return {code: levels.label(code, page_language()) for code in variable.numbers}
    if variable.item is None:
        return {}
    found = [c for c in plan.instruments if c.id == variable.item[0] and variable.item[1] in c.items]
    words: dict[str, str] = {}
    for compiled in found:  # the newest version's words win
        language = content_language(compiled, page_language())
        for code in variable.numbers:
            label = compiled.option_label(variable.item[1], code, language)
            if label != code or code not in words:
                words[code] = label
    return words


def _missing_words(code: str) -> str:
    words = MISSING_WORDS.get(code)
    return str(words) if words is not None else levels.label(code, page_language())


class _Column:
    """One variable's values as they are read, converted for one file format, with what labels them."""

    def __init__(self, plan: Plan, variable: Variable, fmt: str) -> None:
        self.variable, self.fmt = variable, fmt
        self.values: list[Any] = []
        self.numbers = dict(variable.numbers)
        self.words = _code_words(plan, variable)
        self.label = _short(_label(plan, variable), LABEL_LIMITS[fmt])

    def missing(self, code: str) -> Any:
        """A code that is not an answer: SPSS's user-missing number, or Stata's extended missing letter."""
        if self.fmt == "dta":
            return MISSING[code][1]
        return float(self.variable.missing_number(code))

    def add(self, value: Any) -> None:
        kind = self.variable.kind
        if kind == "text":
            self.values.append(writers.cell(value))
        elif isinstance(value, str) and value in MISSING:
            self.values.append(self.missing(value))
        elif value is None or value == "":
            self.values.append(None if kind in ("datetime", "date") and self.fmt == "dta" else math.nan)
        elif kind == "datetime":
            # To the second: Stata keeps milliseconds and SPSS a double of seconds since 1582, neither microseconds.
            moment = datetime.fromisoformat(value).astimezone(UTC)
            self.values.append(moment.replace(tzinfo=None, microsecond=0))
        elif kind == "date":
            day = date.fromisoformat(value)
            if self.fmt == "sav":  # numbers, so that the special codes fit in
                self.values.append((datetime.combine(day, datetime.min.time()) - SPSS_EPOCH).total_seconds())
            else:
                self.values.append(day)
        elif kind == "number":
            self.values.append(float(value))
        else:  # level, choice, one_hot: a code and its number (a code no definition names gets the next one)
            code = str(value)
            if code not in self.numbers:
                self.numbers[code] = max(self.numbers.values(), default=0) + 1
                self.words.setdefault(code, code)
            self.values.append(self.numbers[code])

    def value_labels(self) -> dict[Any, str]:
        labels: dict[Any, str] = {number: _fits(self.words.get(code, code)) for code, number in self.numbers.items()}
        for code in self.variable.missing:
            key = MISSING[code][1] if self.fmt == "dta" else float(self.variable.missing_number(code))
            labels[key] = _fits(_missing_words(code))
        return labels


class _RowValues:
    """A row's values, column by column, before each is converted for the file: the CSV's (`writers.head_values`,
    `writers.RowItems`), with the reason where a CSV 0/1 cell is blank (the item's code, `not_asked_in_version`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.items: dict[tuple[str, str], writers.RowItems] = {}

    def __call__(self, row: dict[str, Any]) -> list[Any]:
        base, result, after = writers.head_values(self.plan, row)
        out = [*base, *result, *after]
        if not self.plan.with_items:
            return out
        key = (row["instrument_id"], row["instrument_version"])
        if key not in self.items:
            self.items[key] = writers.RowItems(self.plan, *key, why=True)
        return out + self.items[key].values(row.get("answers"))


def _table(plan: Plan, rows: Iterable[dict[str, Any]], fmt: str) -> tuple[list[Variable], list[_Column]]:
    found = list(variables(plan))
    columns = [_Column(plan, v, fmt) for v in found]
    adders = [c.add for c in columns]
    values = _RowValues(plan)
    for row in rows:
        for add, value in zip(adders, values(row), strict=True):
            add(value)
    return found, columns


def write(plan: Plan, rows: Iterable[dict[str, Any]], fmt: str, path: Path | str) -> int:
    """Write the rows as a .sav or .dta file at `path`; returns how many rows. A failure to write it (anything but
    an expected error of the export itself) is an `ExportFailed` saying so; the cause goes to the server log."""
    try:
        return _write(plan, rows, fmt, path)
    except AppError:
        raise
    except Exception as exc:
        log.exception("could not write a .%s export", fmt)
        raise ExportFailed(
            _(
                "The %(format)s file could not be written, so nothing was sent and nothing was recorded as "
                "disclosed. Try again; if it fails again, choose the CSV and tell your administrator."
            )
            % {"format": "SPSS (.sav)" if fmt == "sav" else "Stata (.dta)"},
            {"field": "format"},
        ) from exc


def _write(plan: Plan, rows: Iterable[dict[str, Any]], fmt: str, path: Path | str) -> int:
    import pandas as pd
    import pyreadstat

    found, columns = _table(plan, rows, fmt)
    pairs = list(zip(found, columns, strict=True))
    frame = pd.DataFrame({v.name: pd.Series(c.values, dtype=_dtype(v, fmt)) for v, c in pairs})
    labels: dict[str, str | None] = {v.name: c.label for v, c in pairs}
    # Exactly the variables `variables.unique_names` counted as labelled, so the value-label sets pyreadstat
    # names after them (name + count) are the ones whose names it made fit and differ.
    value_labels = {v.name: c.value_labels() for v, c in pairs if v.labelled}
    req = plan.request
    title = f"TellOnce {req.date_from.isoformat()} - {req.date_to.isoformat()}"
    if fmt == "sav":
        ranges: dict[str, list[Any]] = {v.name: [_range(v)] for v in found if v.missing}
        formats = {v.name: _spss_format(v) for v in found if _spss_format(v)}
        pyreadstat.write_sav(
            frame,
            os.fspath(path),
            file_label=title,
            column_labels=labels,
            variable_value_labels=value_labels,
            missing_ranges=ranges,
            variable_format=formats,
        )
    else:
        missing = {v.name: sorted({MISSING[code][1] for code in v.missing}) for v in found if v.missing}
        pyreadstat.write_dta(
            frame,
            os.fspath(path),
            file_label=title[:80],
            column_labels=labels,
            version=15,
            variable_value_labels=value_labels,
            missing_user_values=missing,
        )
    return len(frame)


def _range(variable: Variable) -> dict[str, float]:
    low, high = variable.missing_range()
    return {"lo": float(low), "hi": float(high)}


def _dtype(variable: Variable, fmt: str) -> str | None:
    if variable.kind == "text":
        return "object"
    if variable.kind == "datetime":
        return "datetime64[ns]"
    return "float64" if fmt == "sav" else "object"


def _spss_format(variable: Variable) -> str:
    if variable.kind == "date":
        return "DATE11"
    if variable.kind in ("level", "choice", "one_hot"):
        return "F8.0"
    return ""


@contextmanager
def scratch(extension: str) -> Iterator[Path]:
    """A file to write a whole export to before it is sent: in memory where the system allows (Linux), else in a
    private temporary folder; gone afterwards either way."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create(f"tellonce-export.{extension}")
        try:
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with TemporaryDirectory(prefix="tellonce-export-") as folder:
        yield Path(folder) / f"export.{extension}"
