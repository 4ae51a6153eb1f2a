"""Page rendering: one Jinja2 environment with autoescaping and gettext, and small page helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import i18n, levels
from app.i18n import _
from app.texts import options_of as options_of
from app.texts import text as text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
# The callables read the language of the page being rendered (see app.i18n.rendering_in).
_env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
)
templates = Jinja2Templates(env=_env)
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
PURPOSE_LABELS = {
    "care_coordination": _("Care coordination"),
    "referral": _("Referral"),
    "treatment": _("Treatment"),
}
MODE_LABELS = {
    "practitioner": _("completed by staff from what they know, not read to the youth"),
    "interview": _("interview, staff read the questions aloud"),
    "self": _("self-administered, the youth answers on their own"),
}
templates.env.globals["AGENCY_KIND_LABELS"] = AGENCY_KIND_LABELS
templates.env.globals["MODE_LABELS"] = MODE_LABELS
templates.env.globals["PURPOSE_LABELS"] = PURPOSE_LABELS
templates.env.globals["page_language"] = i18n.page_language
templates.env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES


def level_label(level: str | None) -> str:
    """A level's words in the language of the page being rendered."""
    return levels.label(level, i18n.page_language())


def language_name(code: str | None) -> str:
    """A language's name in the language of the page being rendered, e.g. es -> Spanish / español."""
    if not code:
        return ""
    try:
        return str(Locale.parse(code).get_display_name(i18n.page_language()))
    except (ValueError, UnknownLocaleError):
        return code


templates.env.globals["level_label"] = level_label
templates.env.globals["language_name"] = language_name
templates.env.globals["LEVEL_ORDER"] = levels.ORDER


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `auth` in the context gives the template the user and a CSRF token.

    Youth pages pass their `lang`; every other page is in the viewer's language (`staff_language`).
    """
    auth = context.get("auth")
    context.setdefault("user", auth.user if auth is not None else None)
    context.setdefault("csrf_token", auth.csrf_token if auth is not None else "")
    language = context.get("lang") or i18n.staff_language(request, context["user"])
    context["lang"] = language
    with i18n.rendering_in(language):
        return templates.TemplateResponse(request, template, context, status_code=status_code)


templates.env.filters["t"] = text
templates.env.globals["options_of"] = options_of
