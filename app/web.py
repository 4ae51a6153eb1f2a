"""Page rendering: a page of the app in the viewer's language, through the one template environment
(`app.templating`), and the names page modules take from here."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app import i18n
from app.i18n import _ as _
from app.templating import templates as templates
from app.texts import AGENCY_KIND_LABELS as AGENCY_KIND_LABELS
from app.texts import MODE_LABELS as MODE_LABELS
from app.texts import PURPOSE_LABELS as PURPOSE_LABELS
from app.texts import options_of as options_of
from app.texts import text as text


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
