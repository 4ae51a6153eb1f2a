"""Reasons in words: the clause of a rule that fired, with what it counted, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app import levels
from app.i18n import translations
from instruments.compiled import CompiledInstrument
from instruments.model import INSUFFICIENT


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


_LISTED = 8  # members a clause names before it counts the rest

# What a comparison asks of the number, as words; each takes the bound as %(bound)s.
_BOUNDS = {
    ">=": N_("at least %(bound)s"),
    ">": N_("more than %(bound)s"),
    "==": N_("exactly %(bound)s"),
    "<=": N_("at most %(bound)s"),
    "<": N_("fewer than %(bound)s"),
    "!=": N_("anything but %(bound)s"),
}


def number(value: float | None) -> str:
    """A count or sum without a needless '.0'."""
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def clause_text(
    clause: Mapping[str, Any],
    instrument: CompiledInstrument,
    language: str,
    names: Callable[[str, Sequence[str]], list[str]],
    *,
    with_answers: bool = True,
) -> str:
    """One fired clause as a sentence, e.g. "2 domains are at clear concern: Housing, Coercion".

    `names(collection, ids)` turns ids into the instrument's words. Without `with_answers`, the
    questions behind a count of answers are not named (they would quote what the youth said).
    """
    catalog = translations(language)
    _, ngettext = catalog.gettext, catalog.ngettext
    collection = clause.get("collection")
    members = list(clause.get("members") or ())
    filters = clause.get("filters") or {}
    value = clause.get("value")
    n = int(value) if value is not None and collection in ("domains", "indicators", "items") else len(members)
    wanted = filters.get("level")
    wanted_levels = wanted if isinstance(wanted, list | tuple) else [wanted] if wanted else []
    level_words = _(" or ").join(levels.label(w, language).lower() for w in wanted_levels)
    shown = names(collection or "", members)
    if collection == "domains":
        if wanted_levels == [INSUFFICIENT]:
            head = ngettext(
                "%(n)d domain has too little information to conclude",
                "%(n)d domains have too little information to conclude",
                n,
            ) % {"n": n}
        elif level_words:
            head = ngettext("%(n)d domain is at %(level)s", "%(n)d domains are at %(level)s", n) % {
                "n": n,
                "level": level_words,
            }
        else:
            head = ngettext("%(n)d domain", "%(n)d domains", n) % {"n": n}
    elif collection == "indicators" and wanted_levels == ["unknown"]:
        head = ngettext(
            "%(n)d indicator has too little information to conclude",
            "%(n)d indicators have too little information to conclude",
            n,
        ) % {"n": n}
    elif collection == "indicators":
        key = bool(filters.get("key"))
        if key:
            head = ngettext("%(n)d key indicator is at %(level)s", "%(n)d key indicators are at %(level)s", n)
        else:
            head = ngettext("%(n)d indicator is at %(level)s", "%(n)d indicators are at %(level)s", n)
        head = head % {"n": n, "level": level_words or _("any level")}
    elif collection == "items":
        answer = filters.get("answer")
        if answer is not None and members:
            codes = answer if isinstance(answer, list | tuple) else [answer]
            said = _(" or ").join(f"'{instrument.option_label(members[0], str(c), language)}'" for c in codes)
            head = ngettext("%(n)d question was answered %(answer)s", "%(n)d questions were answered %(answer)s", n) % {
                "n": n,
                "answer": said,
            }
        else:
            head = ngettext("%(n)d question was answered", "%(n)d questions were answered", n) % {"n": n}
        shown = shown if with_answers else []
    elif collection in ("total", "weights"):
        total = instrument.declared_total
        label = _("Weighted sum")
        if collection == "total" and total is not None:
            label = total.label.get(language) or total.label.get(instrument.definition.default_language) or label
        head = f"{label}: {number(value)}"
        shown = shown if with_answers else []
    else:
        return _("Condition that held: %(source)s") % {"source": clause.get("source", "")}
    op, bound = clause.get("op"), clause.get("bound")
    if op in _BOUNDS and bound is not None:
        needs = _(_BOUNDS[op]) % {"bound": number(bound)}
        head += " (" + _("this rule needs %(needs)s") % {"needs": needs} + ")"
    separator = ", " if collection == "domains" else "; "  # domain names are short; indicator texts are phrases
    if len(shown) > _LISTED:  # a long list hides the point: name a few, count the rest
        rest = len(shown) - _LISTED
        shown = [*shown[:_LISTED], ngettext("and %(n)d more", "and %(n)d more", rest) % {"n": rest}]
    return head + (": " + separator.join(shown) if shown else "")


def threshold_text(threshold: Mapping[str, Any], language: str) -> str:
    """A total's threshold, e.g. "Possible concern: at least 1"."""
    op, bound = str(threshold.get("op")), threshold.get("bound")
    words = translations(language).gettext(_BOUNDS[op]) if op in _BOUNDS else op + " %(bound)s"
    return f"{levels.label(threshold.get('level'), language)}: {words % {'bound': number(bound)}}"
