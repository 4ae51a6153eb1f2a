"""The codebook of an export: every column of its CSV (and variable of its .sav and .dta), and every code.

One row per column, in the CSV's order, then notes on the rules that hold for every column (`note.*`):
`column`, `kind` and `description`; `codes`, every code the column may hold with its meaning (the allowed
values and the special codes together, as before); and for analysts: `type` (the item type, or text,
datetime, level, number, 0/1), `values` (the allowed values with their labels), `range` (a number item's
minimum and maximum), `show_if` (the condition under which the item is asked), `weights` (each option's
weight), `special_codes` (the codes that are not answers, with their meanings), `variable` (the column's
name in .sav and .dta files) and `stats_codes` (the number each code has there; a code that is not an
answer is a missing value: SPSS number / Stata letter). Where an item's versions differ, a field lists each
version's (`1.0.0: ... | 2.0.0: ...`).

It is rendered in the language of the page that asks for it; every cell is formula-safe like the CSV's.
"""

from __future__ import annotations

from collections.abc import Iterator

from app import levels
from app.exports.plan import (
    BASE_COLUMNS,
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    ONE_HOT,
    UNANSWERED,
    Plan,
)
from app.exports.variables import MISSING, Variable, variables
from app.exports.writers import BOM, CLAUSE_SEPARATOR, _CsvRows, number, safe
from app.i18n import _, content_language, page_language
from instruments.compiled import RATING_CODES, CompiledInstrument
from instruments.model import DECLINED, INSUFFICIENT, NOT_ASKED, NOT_ENOUGH_INFO, NOT_SCORED, Item

HEADER = (
    "column",
    "kind",
    "description",
    "codes",
    "type",
    "values",
    "range",
    "show_if",
    "weights",
    "special_codes",
    "variable",
    "stats_codes",
)

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
        "Pseudonymous person key: a keyed hash (HMAC-SHA-256) of the person, separate for each recipient agency "
        "and stable across its exports. Never a name. No other agency can reverse it or join its files on it. "
        "When an agency imports a partner's file into TellOnce, the key is matched only to youth that agency "
        "already holds: the recipient agency's own youth, or those the exporting agency disclosed to that "
        "partner. That reveals nothing the agency could not already see on those youth's records."
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


Entry = dict[str, str]


def _entry(column: str, kind: str, description: str, codes: str = "", **extra: str) -> Entry:
    return {"column": column, "kind": kind, "description": description, "codes": codes, **extra}


def _per_version(found: list[tuple[str, str]]) -> str:
    """One text when every version agrees, else each version's: `1.0.0: ... | 2.0.0: ...` (`-`: none)."""
    texts = dict.fromkeys(text for _version, text in found)
    if len(texts) <= 1:
        return next(iter(texts), "")
    return CLAUSE_SEPARATOR.join(f"{version}: {text or '-'}" for version, text in found)


def _range(item: Item) -> str:
    """A number item's allowed range: `min=0; max=40; whole numbers` (blank for other items)."""
    if item.type != "number":
        return ""
    parts = [f"min={number(item.minimum)}"] if item.minimum is not None else []
    parts += [f"max={number(item.maximum)}"] if item.maximum is not None else []
    parts += [str(_("whole numbers"))] if item.integer else []
    return "; ".join(parts)


def _weights(item: Item, only: str | None = None) -> str:
    """The options' weights: `yes=2; no=0` (blank: none has one)."""
    options = [o for o in getattr(item, "options", ()) if o.weight is not None and only in (None, o.code)]
    return "; ".join(f"{o.code}={number(o.weight)}" for o in options)


def _specials() -> str:
    return "; ".join(f"{code}={meaning}" for code, meaning in ITEM_CODES.items())


def _item_entries(plan: Plan, instrument_id: str, item_id: str) -> Iterator[Entry]:
    """An item's entry, then one per option of a multiple choice (its 0/1 columns)."""
    versions = [c for c in plan.instruments if c.id == instrument_id and item_id in c.items]
    newest: CompiledInstrument = versions[-1]
    item = newest.items[item_id]
    language = content_language(newest, page_language())
    text = item.text.get(language) or next(iter(item.text.values()))
    codes = []
    seen: dict[str, str] = {}
    if item.type == "indicator_rating":
        codes = [f"{code}={levels.label(code, page_language())}" for code in RATING_CODES]
    elif newest.codes.get(item_id):
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
    if item.type == "multiple_choice":
        description += " " + _("Each option also has a 0/1 column right after this one (see note.one_hot).")
    items = [(v.version, v.items[item_id]) for v in versions]
    show_if = _per_version([(version, one.show_if or "") for version, one in items])
    values = "; ".join(codes) if codes else (str(_("YYYY-MM-DD")) if item.type == "date" else "")
    yield _entry(
        f"{instrument_id}.{item_id}",
        "item",
        description,
        "; ".join([*codes, _specials()]),
        type=_per_version([(version, one.type) for version, one in items]),
        values=values,
        range=_per_version([(version, _range(one)) for version, one in items]),
        show_if=show_if,
        weights=_per_version([(version, _weights(one)) for version, one in items]),
        special_codes=_specials(),
    )
    for option in plan.choices.get((instrument_id, item_id), ()):
        label = seen.get(option, option)
        chosen = _("1: '%(label)s' was among the answers to %(item)s.") % {"label": label, "item": item_id}
        yield _entry(
            f"{instrument_id}.{item_id}{ONE_HOT}{option}",
            "option",
            chosen + " " + ONE_HOT_RULE,
            ONE_HOT_CODES,
            type="0/1",
            values=ONE_HOT_CODES,
            show_if=show_if,
            weights=_per_version([(version, _weights(one, option)) for version, one in items]),
        )


ONE_HOT_RULE = _(
    "0: the item was answered and this option not chosen. Blank: the item has no answer to count (a special "
    "answer, not asked, unanswered, not shared, or another instrument's or version's question: the item's own "
    "column says which), or the row's version did not offer this option. A blank is never a 0."
)
ONE_HOT_CODES = _("1=chosen; 0=not chosen; blank=no answer to count (see the item's own column)")


def _result_entries(plan: Plan, result_levels: str) -> Iterator[Entry]:
    """The codebook entries of RESULT_COLUMNS, naming what each instrument of the export totals."""
    totals = []
    for c in plan.instruments:
        scoring = c.definition.scoring
        declared = scoring.total if scoring is not None else None
        if declared is not None:
            words = declared.label.get(content_language(c, page_language())) or next(iter(declared.label.values()))
            totals.append(f"{c.id} {c.version}: {words} ({declared.of})")
    counted = " " + (
        _("Declared here by %(totals)s.") % {"totals": "; ".join(totals)}
        if totals
        else _("No instrument in this export declares one.")
    )
    yield _entry("total", "result", RESULT_DESCRIPTIONS["total"] + counted, type="number")
    yield _entry("total_thresholds", "result", RESULT_DESCRIPTIONS["total_thresholds"], result_levels, type="text")
    sections: dict[str, str] = {}
    for c in plan.instruments:
        for section in c.definition.sections:
            title = section.title.get(content_language(c, page_language()))
            sections.setdefault(section.id, title or next(iter(section.title.values())))
    section_codes = "; ".join(f"{section}={title}" for section, title in sections.items())
    yield _entry("skipped_sections", "result", RESULT_DESCRIPTIONS["skipped_sections"], section_codes, type="text")
    yield _entry("reason_clauses", "result", RESULT_DESCRIPTIONS["reason_clauses"], type="text")


NOTES = {
    "note.formula_guard": _(
        "Formula guard: a text cell that starts with = + - @, a tab or a carriage return gets an apostrophe (') in "
        "front, so that no spreadsheet runs it as a formula (OWASP 'CSV injection'); remove that one leading "
        "apostrophe to get the text as it was written. It applies to every text cell of the CSV (plain and for "
        "Excel), of this codebook, and to the text variables of the .sav and .dta files (the same text as the "
        "CSV). Numbers are written as they are and never get one."
    ),
    "note.one_hot": _(
        "Multiple choice: the item's own column holds the chosen codes separated by ';' (or a code such as "
        "declined, not_asked or unanswered), and right after it comes one column per option named "
        "<item>___<option>, as REDCap names them: 1 chosen, 0 answered without it, blank when there is no answer "
        "to count (the item's own column says why) or the row's version did not offer the option. A blank is never "
        "a 0: an unanswered item is not a 'no'."
    ),
    "note.csv": _(
        "CSV: UTF-8, comma-separated, lines ending CR LF (RFC 4180), numbers with a '.' decimal point. The CSV for "
        "Excel is the same with a byte-order mark in front, so that Excel reads the accents; where the list "
        "separator is ';' (e.g. Spain), open it with Data > From Text/CSV rather than a double click."
    ),
    "note.stats_files": _(
        "SPSS (.sav) and Stata (.dta): the same rows and values, with the variable names of the 'variable' column "
        "(valid in both: letters, digits and _, at most 28 characters; a name taken already gets _2, _3, ...), "
        "variable labels and value labels. Levels and single choices are numbers (stats_codes); dates are dates and "
        "times are times (UTC, to the second); text is the CSV's text. A code that is not an answer is a labelled "
        "missing value: in SPSS a user-missing number from -99 to -90 (a number item that allows such values gets "
        "them minus 10^12), in Stata .a to .j. insufficient_information and not_scored are missing values too: they "
        "are outcomes, not points on the concern scale (0 no concern, 1 possible, 2 clear)."
    ),
}


def _stats_codes(variable: Variable) -> str:
    """The numbers a column's codes have in .sav and .dta: `no=0; yes=1; declined=-91 / .a; ...`."""
    found = [f"{code}={n}" for code, n in variable.numbers.items()]
    found += [f"{code}={variable.missing_number(code)} / .{MISSING[code][1]}" for code in variable.missing]
    return "; ".join(found)


def codebook_rows(plan: Plan) -> Iterator[list[str]]:
    """The header (HEADER), then every column of the plan's CSV and every code it may hold, then the notes."""
    yield list(HEADER)
    result_levels = "; ".join(f"{code}={meaning}" for code, meaning in level_meanings().items())
    entries: list[Entry] = []
    for name in BASE_COLUMNS:
        codes = result_levels if name == "overall_level" else ""
        kind = {"started_at": "datetime", "completed_at": "datetime", "overall_level": "level"}.get(name, "text")
        entries.append(_entry(name, "screening", BASE_DESCRIPTIONS[name], codes, type=kind, values=codes))
    entries += _result_entries(plan, result_levels)
    for domain in plan.domains:
        title = next(
            (d.title.get(content_language(c, page_language())) or next(iter(d.title.values())))
            for c in reversed(plan.instruments)
            for d in c.definition.domains
            if d.id == domain
        )
        absent = f"{NOT_ASSESSED}=" + _("The row's instrument version has no such domain.")
        entries.append(
            _entry(
                f"domain.{domain}",
                "domain",
                _("Level of the domain '%(title)s'.") % {"title": title} + " " + OLDER_UNKNOWN,
                f"{result_levels}; {absent}",
                type="level",
                values=result_levels,
                special_codes=absent,
            )
        )
    if plan.with_notes:
        not_shared = f"{NOT_SHARED}=" + _("Not shared: the consent for this person does not cover notes.")
        entries.append(
            _entry(
                "notes",
                "notes",
                _("The screener's free-text notes (blank: none written)."),
                not_shared,
                type="text",
                special_codes=not_shared,
            )
        )
    for instrument_id, item_id in plan.items:
        entries += _item_entries(plan, instrument_id, item_id)
    by_column = {v.column: v for v in variables(plan)}
    for entry in entries:
        variable = by_column[entry["column"]]
        entry.update(variable=variable.name, stats_codes=_stats_codes(variable))
        yield [str(entry.get(name, "")) for name in HEADER]
    for name, text in NOTES.items():
        yield [str(value) for value in _entry(name, "note", text).values()] + [""] * (len(HEADER) - 4)


def codebook_csv(plan: Plan, *, excel: bool = False) -> str:
    """The codebook as CSV, formula-safe like the export itself, in the language it is rendered in; for Excel,
    after a byte-order mark."""
    line = _CsvRows(plan).line
    text = "".join(line([safe(str(value)) for value in entry]) for entry in codebook_rows(plan))
    return (BOM if excel else "") + text
