"""Pages for outcomes: the section of a youth's record that says what was later learned, and its forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import web_forms
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth
from app.errors import InvalidInput
from app.evaluation import outcomes
from app.evaluation.schemas import OutcomeCreate, OutcomeWithdraw
from app.evaluation.views import OutcomeSection
from app.i18n import _
from app.records.record_page import youth_page

router = APIRouter(include_in_schema=False)

FIELD_MESSAGES = {
    "kind": _("Choose what was learned."),
    "source": _("Choose where it was learned from."),
    "learned_on": _("Enter the date it was learned, for example 2026-03-31."),
    "follow_up_months": _("Enter how many months the youth was followed, from 1 to 240."),
    "note": _("The note is too long (at most 2,000 characters) or holds a character that cannot be saved."),
    "reason": _("Write why it is withdrawn (at least 3 characters)."),
}
FIELDS = ("kind", "source", "learned_on", "follow_up_months", "note")


@router.post("/youth/{youth_id}/outcomes")
async def record_outcome(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Record what was later learned; bad input shows the record again with the form kept, and saves nothing."""
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data = {name: value for name, value in values.items() if value}
    outcome, errors = web_forms.parse(OutcomeCreate, data, FIELD_MESSAGES, default=_("Check this form."))
    if outcome is not None:
        with web_forms.attempt(db, InvalidInput) as tried:
            outcomes.record(db, keys, auth.user, youth_id, outcome)
        if not tried.failed:
            return RedirectResponse(f"/youth/{youth_id}#outcomes", status_code=303)
        errors = web_forms.refused_errors(tried.error, FIELDS)
    return _youth_page_again(request, db, keys, registry, auth, youth_id, values, errors)


@router.post("/outcomes/{outcome_id}/withdraw")
async def withdraw_outcome(
    request: Request, outcome_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Withdraw an outcome with a reason; without one, the record shows again with the error."""
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    outcome = outcomes.own(db, auth.user, outcome_id)  # 403 for other roles, 404 for another agency's
    data, problems = web_forms.parse(OutcomeWithdraw, {"reason": reason}, default=FIELD_MESSAGES["reason"])
    if data is None:
        errors = {f"withdraw-{outcome.id}": problems.get("reason", FIELD_MESSAGES["reason"])}
        return _youth_page_again(request, db, keys, registry, auth, outcome.youth_id, {}, errors)
    outcomes.withdraw(db, keys, auth.user, outcome.id, data)
    return RedirectResponse(f"/youth/{outcome.youth_id}#outcomes", status_code=303)


def _youth_page_again(
    request: Request,
    db: Session,
    keys: KeyRing,
    registry: Any,
    auth: WebAuth,
    youth_id: str,
    values: dict[str, str],
    errors: dict[str, Any],
) -> Response:
    form = OutcomeSection(items=[], may_record=True, values=values, errors=errors)
    return youth_page(request, db, keys, registry, auth, youth_id, status_code=400, outcome_form=form)
