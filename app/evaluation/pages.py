"""Pages for outcomes: the section of a youth's record that says what was later learned, and its forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
from app.evaluation.schemas import OutcomeCreate, OutcomePublic, OutcomeWithdraw
from app.i18n import _
from app.models_evaluation import OutcomeKind, OutcomeSource

router = APIRouter(include_in_schema=False)

KIND_LABELS: dict[str, str] = {
    OutcomeKind.confirmed: _("Exploitation confirmed (by a later assessment, investigation or finding)"),
    OutcomeKind.not_indicated: _("No indication after follow-up"),
    OutcomeKind.lost_to_follow_up: _("Lost to follow-up"),
}
SOURCE_LABELS: dict[str, str] = {
    OutcomeSource.later_assessment: _("A later assessment"),
    OutcomeSource.investigation: _("An investigation"),
    OutcomeSource.court_finding: _("A court finding"),
    OutcomeSource.youth_disclosure: _("The youth told staff"),
    OutcomeSource.service_record: _("A service record"),
    OutcomeSource.other: _("Other"),
}
FIELD_MESSAGES = {
    "kind": _("Choose what was learned."),
    "source": _("Choose where it was learned from."),
    "learned_on": _("Enter the date it was learned, for example 2026-03-31."),
    "follow_up_months": _("Enter how many months the youth was followed, from 1 to 240."),
    "note": _("The note is too long (at most 2,000 characters) or holds a character that cannot be saved."),
    "reason": _("Write why it is withdrawn (at least 3 characters)."),
}
FIELDS = ("kind", "source", "learned_on", "follow_up_months", "note")


@dataclass
class OutcomeSection:
    """What the youth page shows of outcomes, and the form's values and errors after a refused post."""

    items: list[OutcomePublic]
    may_record: bool
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    kinds: Mapping[str, Any] = field(default_factory=lambda: dict(KIND_LABELS))
    sources: Mapping[str, Any] = field(default_factory=lambda: dict(SOURCE_LABELS))

    @property
    def form_open(self) -> bool:
        """The record form opens by itself after its own refused post."""
        return any(not name.startswith("withdraw-") for name in self.errors)

    @property
    def summary(self) -> list[tuple[str, str]]:
        """(anchor, message) of each error, the anchor being the field to fix."""
        anchors = {"kind": "outcome-kind-confirmed", "form": "outcome-form"}
        return [
            (name if name.startswith("withdraw-") else anchors.get(name, f"outcome-{name}"), message)
            for name, message in self.errors.items()
        ]


def youth_context(
    db: Session, keys: KeyRing, auth: WebAuth, youth_id: str, form: OutcomeSection | None = None
) -> OutcomeSection:
    """The outcomes section of a youth's record (after a refused post: with the form's values and errors)."""
    items = outcomes.for_youth(db, keys, auth.user, youth_id)
    section = form or OutcomeSection(items=[], may_record=False)
    section.items, section.may_record = items, outcomes.may_record(auth.user)
    return section


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
    from app.records.pages import youth_page  # the record's page holds this section

    form = OutcomeSection(items=[], may_record=True, values=values, errors=errors)
    return youth_page(request, db, keys, registry, auth, youth_id, status_code=400, outcome_form=form)
