"""Page rendering: one Jinja2 environment with autoescaping and gettext, and small page helpers."""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import levels
from app.i18n import translations
from instruments.compiled import YES_NO_LABELS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)


@jinja2.pass_context
def level_label(context: Any, level: str | None) -> str:
    """A level's words in the page's language."""
    return levels.label(level, context.get("lang") or "en")


@jinja2.pass_context
def language_name(context: Any, code: str | None) -> str:
    """A language's name in the page's language, e.g. es -> Spanish / español."""
    if not code:
        return ""
    try:
        return str(Locale.parse(code).get_display_name(context.get("lang") or "en"))
    except (ValueError, UnknownLocaleError):
        return code


templates.env.globals["level_label"] = level_label
templates.env.globals["language_name"] = language_name
templates.env.globals["LEVEL_ORDER"] = levels.ORDER


def gettext_context(language: str) -> dict[str, Any]:
    """The translation functions a template calls, in one language ("newstyle": they take variables)."""
    catalog = translations(language)

    def gettext(message: str, **variables: Any) -> str:
        translated = catalog.gettext(message)
        return translated % variables if variables else translated

    def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
        return catalog.ngettext(singular, plural, num) % {"num": num, **variables}

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "lang": language}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `auth` in the context gives the template the user and a CSRF token."""
    auth = context.get("auth")
    language = context.get("lang")
    if language:
        context.update(gettext_context(language))
    context.setdefault("user", auth.user if auth is not None else None)
    context.setdefault("csrf_token", auth.csrf_token if auth is not None else "")
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def text(value: dict[str, str] | None, language: str = "en", default: str = "en") -> str:
    """Pick a language from an instrument text mapping."""
    if not value:
        return ""
    return value.get(language) or value.get(default) or next(iter(value.values()))


def options_of(item: Any, language: str) -> list[dict[str, str]]:
    """An item's answer choices with labels in a language (yes/no items have built-in labels)."""
    if item.type == "yes_no":
        return [{"code": code, "label": labels.get(language, labels["en"])} for code, labels in YES_NO_LABELS.items()]
    return [{"code": o.code, "label": text(o.label, language)} for o in getattr(item, "options", ())]


templates.env.filters["t"] = text
templates.env.globals["options_of"] = options_of
_ = gettext.gettext
