"""The youth's record page, composed from each domain's section (outcomes, identifiers, referrals, sharing).

Every page module that shows the record, first or again after a refused form, renders it here, so no page module
imports another domain's page module: each section comes from its domain's views module.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app import i18n
from app.crypto import KeyRing
from app.deps import WebAuth
from app.evaluation import views as evaluation_views
from app.evaluation.views import OutcomeSection
from app.records import identifier_pages
from app.records import service as records
from app.records.identifier_pages import IdentifierSection
from app.referrals import views as referral_views
from app.screenings import followup
from app.screenings import service as screenings
from app.sharing import record_section as sharing_section
from app.web import MODE_LABELS, _, render, text
from instruments.loader import Registry


def youth_page(
    request: Request,
    db: Session,
    keys: KeyRing,
    registry: Registry,
    auth: WebAuth,
    youth_id: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    chosen_instrument: str | None = None,
    chosen: str | None = None,
    language: str | None = None,
    outcome_form: OutcomeSection | None = None,
    identifier_form: IdentifierSection | None = None,
) -> Response:
    """Render the youth page (also after a refused start, with the error and the choices kept)."""
    youth = records.view(db, keys, auth.user, youth_id)
    options = start_options(registry)
    if chosen is None and chosen_instrument:
        chosen = next((value for value, iid, _label in options if iid == chosen_instrument), None)
    rows = [
        {"screening": s, "title": _title(registry, s.instrument_id, s.instrument_version)}
        for s in screenings.for_youth(db, auth.user, youth.id)
    ]
    languages = sorted({lang for c in registry.latest() for lang in c.definition.languages})
    return render(
        request,
        "youth/detail.html",
        status_code=status_code,
        auth=auth,
        youth=youth,
        screenings=rows,
        options=options,
        chosen=chosen,
        languages=[(code, i18n.LANGUAGE_NAMES.get(code, code)) for code in languages],
        language=language or "en",
        error=error,
        sharing=sharing_section.record_section(db, keys, registry, auth.user, youth.id),
        referrals=referral_views.record_section(db, keys, auth.user, youth.id),
        rescreen=followup.due_for_youth(db, registry, auth.user, youth.id),
        outcomes=evaluation_views.record_section(db, keys, auth.user, youth.id, outcome_form),
        identifiers=identifier_pages.youth_context(db, auth, youth.id, identifier_form),
    )


def start_options(registry: Registry) -> list[tuple[str, str, str]]:
    """(form value, instrument id, label) for each loaded instrument in each mode it allows."""
    out: list[tuple[str, str, str]] = []
    for compiled in registry.latest():
        title = text(compiled.definition.title)
        for mode in compiled.definition.modes:
            label = _("%(title)s (%(version)s): %(mode)s") % {
                "title": title,
                "version": compiled.version,
                "mode": MODE_LABELS.get(mode, mode),
            }
            out.append((f"{compiled.id}|{compiled.version}|{mode}", compiled.id, label))
    return out


def _title(registry: Registry, instrument_id: str, version: str) -> str:
    compiled = registry.get(instrument_id, version)
    return text(compiled.definition.title) if compiled else instrument_id
