"""An instrument's text in a language: pure helpers that services and pages share.

They lived in `app.web` with the template environment; services (views, charts, the FHIR bulk preview)
need them without the web layer, so they are here and `app.web` registers them for the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app import i18n
from app.i18n import _
from instruments.compiled import YES_NO_LABELS

# The words of the app's own codes, in the language of the page (lazy): what every page, summary and report calls
# an agency kind, a purpose of sharing and a way of completing a screening.
AGENCY_KIND_LABELS = {
    "child_welfare": _("Child welfare"),
    "probation": _("Probation"),
    "health": _("Health care"),
    "school": _("School"),
    "shelter": _("Shelter"),
    "youth_program": _("Youth program"),
    "victim_service": _("Victim service provider"),
    "other": _("Other"),
}
PURPOSE_LABELS: dict[str, str] = {
    "care_coordination": _("Care coordination"),
    "referral": _("Referral"),
    "treatment": _("Treatment"),
}
MODE_LABELS = {
    "practitioner": _("completed by staff from what they know, not read to the youth"),
    "interview": _("interview, staff read the questions aloud"),
    "self": _("self-administered, the youth answers on their own"),
}


def kind_label(kind: str) -> str:
    """An agency kind for people, in the page's language: `child_welfare` -> `Child welfare`; a kind without words
    (added by a deployment) reads as its code, capitalised."""
    return AGENCY_KIND_LABELS.get(kind) or kind.replace("_", " ").capitalize()


def text(value: Mapping[str, str] | None, language: str | None = None, default: str = "en") -> str:
    """Pick a language from an instrument text mapping; without a language, the language of the page that
    shows it (so an instrument's title reads in the viewer's language wherever it is listed)."""
    if not value:
        return ""
    if language is None:
        mapping = dict(value)
        return i18n.LazyText(text(mapping, "en", default), lambda: text(mapping, i18n.page_language(), default))
    return value.get(language) or value.get(default) or next(iter(value.values()))


def options_of(item: Any, language: str) -> list[dict[str, str]]:
    """An item's answer choices with labels in a language (yes/no items have built-in labels)."""
    if item.type == "yes_no":
        return [{"code": code, "label": labels.get(language, labels["en"])} for code, labels in YES_NO_LABELS.items()]
    return [{"code": o.code, "label": text(o.label, language)} for o in getattr(item, "options", ())]
