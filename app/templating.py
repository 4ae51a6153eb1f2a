"""The one Jinja2 environment: autoescaping, gettext in the language of the page being rendered, and the globals
and filters every template may use. Pages render through `app.web.render`; a document rendered outside a request
(the summary as a PDF) uses `templates` here, so it needs nothing of the web layer.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from fastapi.templating import Jinja2Templates

from app import i18n, levels
from app.texts import AGENCY_KIND_LABELS, MODE_LABELS, PURPOSE_LABELS, options_of, text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
# The callables read the language of the page being rendered (see app.i18n.rendering_in).
_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension; Jinja does not declare it
    gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
)
templates = Jinja2Templates(env=_env)


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


templates.env.globals.update(
    AGENCY_KIND_LABELS=AGENCY_KIND_LABELS,
    MODE_LABELS=MODE_LABELS,
    PURPOSE_LABELS=PURPOSE_LABELS,
    page_language=i18n.page_language,
    LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
    level_label=level_label,
    language_name=language_name,
    LEVEL_ORDER=levels.ORDER,
    options_of=options_of,
)
templates.env.filters["t"] = text
