"""Export rows as text: CSV safe against spreadsheet formulas (with its codebook), JSON and NDJSON.

Pure functions over rows and a plan; they stream, one line (or one object) at a time. Level words
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

from app import levels
from app.exports.plan import (
    BASE_COLUMNS,
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    UNANSWERED,
    Plan,
)
from app.i18n import _, content_language, page_language
from instruments.compiled import RATING_CODES, CompiledInstrument
from instruments.model import DECLINED, INSUFFICIENT, NOT_ASKED, NOT_ENOUGH_INFO, NOT_SCORED

# OWASP "CSV Injection": a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_START = frozenset("=+-@\t\r")
CLAUSE_SEPARATOR = " | "  # between clauses (an expression may hold ';' or ',', never ' | ')
ITEM_CODES = {
    DECLINED: _("The young person preferred not to answer."),
    NOT_ENOUGH_INFO: _("Not enough information to answer."),
    NOT_ASKED: _("Not asked: an earlier answer made this follow-up unnecessary (its show_if was false)."),
    UNANSWERED: _("Shown, but left unanswered."),
    NOT_ASKED_IN_VERSION: _("Not asked in this version: the item did not exist in this row's instrument version."),
    NOT_IN_INSTRUMENT: _("The column belongs to another instrument than this row's."),
    NOT_SHARED: _(
        "Not shared: the consent for this person does not cover item answers for this recipient and purpose."
    ),
}
BASE_DESCRIPTIONS = {
    "person_key": _(
        "Pseudonymous person key: a keyed hash (HMAC-SHA-256) of the person, separate for each "
        "recipient agency and stable across its exports. Never a name; it cannot be reversed."
    ),
    "screening_id": _("The screening's id in TellOnce."),
    "agency": _("The agency that holds the screening and exported it."),
    "instrument_id": _("The instrument the screening used."),
    "instrument_version": _("The exact instrument version (semantic version) the screening was taken under."),
    "content_hash": _("SHA-256 of that instrument version's canonical definition: which wording and rules applied."),
    "mode": _("How it was given: practitioner (rated by staff), interview (asked by staff), self (by the youth)."),
    "language": _("The language it was given in (ISO 639 code)."),
    "started_at": _("When it was started (ISO 8601, UTC)."),
    "completed_at": _("When it was completed and scored (ISO 8601, UTC)."),
    "overall_level": _(
        "The overall screening level (a flag to guide next steps; not a finding or a diagnosis). "
        "insufficient_information is an outcome of its own: too little was known to conclude anything."
    ),
}
RESULT_DESCRIPTIONS = {
    "total": _(
        "The instrument's declared total, a number (e.g. how many questions were answered 'yes', or a "
        "weighted sum), which overall rules compare with total_thresholds. Blank: the row's instrument version "
        "declares no total."
    ),
    "total_thresholds": _(
        "The bounds the overall rules compare the total with, each as level, comparison and "
        "bound (e.g. possible_concern>=1), separated by ';'. Blank: the row's instrument declares no total."
    ),
    "skipped_sections": _(
        "Sections that were shown but got no informative answer at all (every question declined, "
        "not enough information, or left unanswered), as section ids separated by ';'. Blank: none."
    ),
    "reason_clauses": _(
        "The parts of the overall rule's condition that were true, i.e. why overall_level is what it "
        "is, each as the rule's expression, separated by ' | '. Blank: the rule that applied has no condition "
        "(the instrument's last, default rule), or the result was scored before clauses were recorded."
    ),
}
OLDER_UNKNOWN = _(
    "Results scored before instrument version 1.1 called this 'unknown'; it is written as insufficient_information."
)


def level_meanings() -> dict[str, str]:
    """What each result level means in the codebook: the words every page shows (in the language being
    rendered), and what they do not say."""
    meanings = {code: levels.label(code, page_language()) for code in levels.ORDER}
    meanings[INSUFFICIENT] += ": " + _("too little was known to say whether there is a concern, NOT a 'no concern'")
    meanings[NOT_SCORED] += ": " + _("the instrument has no scoring rules: no level concluded, NOT a 'no concern'")
    return meanings


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


_Layout = tuple[str, str, str, tuple[str, ...], tuple[str, ...], tuple[tuple[int, str], ...]]


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
        and the positions of those whose cell is fixed whatever the answers (not in this version)."""
        key = (instrument_id, version)
        if key not in self.layouts:
            layout = self.plan.item_layout(instrument_id, version)
            before = "".join("," + self._text([c]) for c in layout.before) + ","
            after = "".join("," + self._text([c]) for c in layout.after) + "\r\n"
            hidden = [NOT_SHARED if code is None else code for _item, code in layout.block]
            items = tuple(item for item, _code in layout.block)
            blanks = tuple(UNANSWERED if code is None else code for _item, code in layout.block)
            fixed = tuple((n, code) for n, (_item, code) in enumerate(layout.block) if code is not None)
            self.layouts[key] = (before, after, before + self._text(hidden) + after, items, blanks, fixed)
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
        before, after, hidden, items, blanks, fixed = self._layout(row["instrument_id"], row["instrument_version"])
        if not items:  # an instrument without items in the export: only fixed cells
            return self.line(out)[:-2] + before[:-1] + after
        answers = row.get("answers")
        if answers is None:
            return self.line(out)[:-2] + hidden
        own = list(map(answers.get, items, blanks))
        for position, code in fixed:
            own[position] = code
        return self.line(out)[:-2] + before + self._text(_texts(own)) + after


def csv_lines(plan: Plan, rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (RFC 4180, UTF-8)."""
    line = _CsvRows(plan)
    yield line.line(plan.columns)
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


def _item_entry(plan: Plan, instrument_id: str, item_id: str) -> list[str]:
    versions = [c for c in plan.instruments if c.id == instrument_id and item_id in c.items]
    newest: CompiledInstrument = versions[-1]
    item = newest.items[item_id]
    language = content_language(newest, page_language())
    text = item.text.get(language) or next(iter(item.text.values()))
    codes = []
    allowed = newest.codes.get(item_id)
    if item.type == "indicator_rating":
        codes = [f"{code}={levels.label(code, page_language())}" for code in RATING_CODES]
    elif allowed:
        seen: dict[str, str] = {}
        for version in versions:
            for code in sorted(version.codes.get(item_id) or ()):
                if code not in (DECLINED, NOT_ENOUGH_INFO, NOT_ASKED):
                    seen[code] = version.option_label(item_id, code, language)
        codes = [f"{code}={label}" for code, label in seen.items()]
    shape = {
        "multiple_choice": _("codes separated by ';'"),
        "number": _("number"),
        "date": _("date (YYYY-MM-DD)"),
        "short_text": _("free text"),
        "long_text": _("free text"),
    }.get(item.type, _("code"))
    title = newest.definition.title.get(language, instrument_id)
    description = _("%(title)s, item %(item)s (%(type)s): %(text)s In versions: %(versions)s. Value: %(shape)s.") % {
        "title": title,
        "item": item_id,
        "type": item.type,
        "text": text,
        "versions": ", ".join(v.version for v in versions),
        "shape": shape,
    }
    specials = [f"{code}={meaning}" for code, meaning in ITEM_CODES.items()]
    return [f"{instrument_id}.{item_id}", "item", description, "; ".join(codes + specials)]


def _result_entries(plan: Plan, result_levels: str) -> Iterator[list[str]]:
    """The codebook entries of RESULT_COLUMNS, naming what each instrument of the export totals."""
    totals = []
    for c in plan.instruments:
        declared = c.definition.scoring.total if c.definition.scoring is not None else None  # None: unscored
        if declared is not None:
            words = declared.label.get(content_language(c, page_language())) or next(iter(declared.label.values()))
            totals.append(f"{c.id} {c.version}: {words} ({declared.of})")
    counted = " " + (
        _("Declared here by %(totals)s.") % {"totals": "; ".join(totals)}
        if totals
        else _("No instrument in this export declares one.")
    )
    yield ["total", "result", RESULT_DESCRIPTIONS["total"] + counted, ""]
    yield ["total_thresholds", "result", RESULT_DESCRIPTIONS["total_thresholds"], result_levels]
    sections: dict[str, str] = {}
    for c in plan.instruments:
        for section in c.definition.sections:
            title = section.title.get(content_language(c, page_language()))
            sections.setdefault(section.id, title or next(iter(section.title.values())))
    yield [
        "skipped_sections",
        "result",
        RESULT_DESCRIPTIONS["skipped_sections"],
        "; ".join(f"{section}={title}" for section, title in sections.items()),
    ]
    yield ["reason_clauses", "result", RESULT_DESCRIPTIONS["reason_clauses"], ""]


def codebook_rows(plan: Plan) -> Iterator[list[str]]:
    """column, kind, description, codes: every column of the plan's CSV and every code it may hold."""
    yield ["column", "kind", "description", "codes"]
    result_levels = "; ".join(f"{code}={meaning}" for code, meaning in level_meanings().items())
    for name in BASE_COLUMNS:
        yield [name, "screening", BASE_DESCRIPTIONS[name], result_levels if name == "overall_level" else ""]
    yield from _result_entries(plan, result_levels)
    for domain in plan.domains:
        title = next(
            (d.title.get(content_language(c, page_language())) or next(iter(d.title.values())))
            for c in reversed(plan.instruments)
            for d in c.definition.domains
            if d.id == domain
        )
        yield [
            f"domain.{domain}",
            "domain",
            _("Level of the domain '%(title)s'.") % {"title": title} + " " + OLDER_UNKNOWN,
            f"{result_levels}; {NOT_ASSESSED}=" + _("The row's instrument version has no such domain."),
        ]
    if plan.with_notes:
        yield [
            "notes",
            "notes",
            _("The screener's free-text notes (blank: none written)."),
            f"{NOT_SHARED}=" + _("Not shared: the consent for this person does not cover notes."),
        ]
    for instrument_id, item_id in plan.items:
        yield _item_entry(plan, instrument_id, item_id)


def codebook_csv(plan: Plan) -> str:
    """The codebook as CSV, formula-safe like the export itself, in the language it is rendered in."""
    line = _CsvRows(plan).line
    return "".join(line([safe(str(value)) for value in entry]) for entry in codebook_rows(plan))
