"""The youth record's panel "Identifiers from partner systems": list, add and remove them (`app.records.identifiers`).

Staff of an agency that holds the youth record say which identifier a partner's system uses for the youth (its
system and value), so that a file the partner sends about the youth is matched to this record on import. The
page lists the systems only: a value is kept as a keyed hash and cannot be shown, so it is never echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import web_forms
from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth
from app.errors import Conflict, InvalidInput
from app.i18n import _
from app.models_sharing import YouthIdentifier
from app.records import identifiers
from app.records.identifiers import IdentifierCreate
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)


@dataclass
class IdentifierSection:
    """The panel: the identifiers recorded, and after a refused post the system entered and what is wrong."""

    items: list[YouthIdentifier] = field(default_factory=list)
    system: str = ""
    error: str | None = None


def youth_context(
    db: Session, auth: WebAuth, youth_id: str, form: IdentifierSection | None = None
) -> IdentifierSection:
    """The panel of a youth's record (after a refused post: with the system entered and the error)."""
    section = form or IdentifierSection()
    section.items = identifiers.list_for(db, auth.user, youth_id)
    return section


def _again(request: Request, db: Session, keys: KeyRing, registry: Registry, auth: WebAuth, youth_id: str,
           status: int, system: str, error: str) -> Response:  # fmt: skip
    """The record again, its panel open with the system entered (never the value) and what is wrong."""
    from app.records.record_page import youth_page  # the record's page holds this panel

    section = IdentifierSection(system=system, error=error)
    return youth_page(request, db, keys, registry, auth, youth_id, status_code=status, identifier_form=section)


@router.post("/youth/{youth_id}/identifiers")
async def add_identifier(
    request: Request, youth_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """Record a partner's identifier of the youth; a refused one shows the record again (without the value)."""
    form = await request.form()
    system, value = str(form.get("system") or "").strip(), str(form.get("value") or "")
    whole = _("Enter the partner's system (e.g. https://partner.example.org/client-number) and the identifier.")
    data, errors = web_forms.parse(IdentifierCreate, {"system": system, "value": value}, default=whole)
    if data is None:
        return _again(request, db, keys, registry, auth, youth_id, 400, system, next(iter(errors.values())))
    try:
        identifiers.add(db, keys, auth.user, youth_id, data)
    except (InvalidInput, Conflict) as exc:
        return _again(request, db, keys, registry, auth, youth_id, exc.status, system, exc.message)
    return RedirectResponse(f"/youth/{youth_id}#identifiers", status_code=303)


@router.post("/youth/{youth_id}/identifiers/{identifier_id}/remove")
def remove_identifier(youth_id: str, identifier_id: str, db: SessionDep, auth: FormAuthDep) -> Response:
    """Forget one of the agency's identifiers of the youth: files no longer match the youth by it."""
    identifiers.remove(db, auth.user, youth_id, identifier_id)
    return RedirectResponse(f"/youth/{youth_id}#identifiers", status_code=303)
