"""Page rendering: one Jinja2 environment with autoescaping and gettext, and small page helpers."""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

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
templates.env.globals["LEVEL_LABELS"] = {
    "clear_concern": "Clear concern",
    "possible_concern": "Possible concern",
    "no_concern": "No concern",
    "unknown": "Not enough information",
}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `auth` in the context gives the template the user and a CSRF token."""
    auth = context.get("auth")
    language = context.get("lang")
    if language:
        catalog = translations(language)
        context.update(_=catalog.gettext, gettext=catalog.gettext, ngettext=catalog.ngettext)
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
