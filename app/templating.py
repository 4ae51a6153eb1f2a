"""The one Jinja2 environment: autoescaping, gettext in the language of the page being rendered, and the globals
and filters every template may use. Pages render through `app.web.render`; a document rendered outside a request
(the summary as a PDF) uses `templates` here, so it needs nothing of the web layer.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app import i18n, levels
from app.texts import AGENCY_KIND_LABELS, MODE_LABELS, PURPOSE_LABELS, options_of, text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    # The templates ship with the code: a server reads each once, not its file's time on every page (a restart
    # picks up a changed template, as it does changed code).
    auto_reload=False,
)
# The callables read the language of the page being rendered (see app.i18n.rendering_in).
_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension; Jinja does not declare it
    gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
)
templates = Jinja2Templates(env=_env)


def level_label(level: str | None) -> str:
    """A level's words in the language of the page being rendered."""
    return levels.label(level, i18n.page_language())


# The three small pieces every list repeats on each row, written here rather than as Jinja macros: a macro call
# costs a new template context each time, and a page of 50 rows made 150 of them (a third of the dashboard's
# rendering; issue 14). Each returns markup, its text escaped.


def level_tag(code: str | None) -> Markup:
    """A level as the coloured label the lists show, or "Not scored yet"."""
    return _level_tag(code or "", i18n.page_language())


@lru_cache(maxsize=64)  # a handful of levels in two languages: each row of a list asks for one of a few tags
def _level_tag(code: str, language: str) -> Markup:
    if not code:
        return Markup('<span class="muted">%s</span>') % i18n.translations(language).gettext("Not scored yet")
    return Markup('<span class="level level-%s">%s</span>') % (code, levels.label(code, language))


def status_text(code: str | None) -> str:
    """A screening's status in words."""
    return i18n.gettext("Completed") if code == "completed" else i18n.gettext("In progress")


def time_tag(value: datetime | None) -> Markup:
    """A moment as a <time> element, to the minute, in UTC (nothing for None)."""
    if not value:
        return Markup("")
    return Markup('<time datetime="%s">%s UTC</time>') % (value.isoformat(), value.strftime("%Y-%m-%d %H:%M"))


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
    level_tag=level_tag,
    status_text=status_text,
    time_tag=time_tag,
    language_name=language_name,
    LEVEL_ORDER=levels.ORDER,
    options_of=options_of,
)
templates.env.filters["t"] = text
