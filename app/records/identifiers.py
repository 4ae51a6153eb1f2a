"""The identifiers a partner's system uses for an agency's youth, so that an imported response names its youth.

A partner's QuestionnaireResponse says whom it is about by its `subject`: the recipient's pseudonym (which
TellOnce computes itself), or an identifier of the partner's system (`system|value`, e.g. a client number).
An agency records here which of its youth each such identifier stands for; `app.interop.fhir_subjects` looks
them up. Only a keyed hash of the value is stored, bound to the agency and the system, so the table alone
reveals no identifier, and another agency's identifiers never match this agency's imports. One identifier
names one youth per agency (a unique constraint, so two requests recording it at once cannot both succeed:
the second is told it is taken). Any staff member who may read the youth record (and so may import onto it)
records and removes them; every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.interop.fhir import PSEUDONYM_SYSTEM  # TellOnce's own: computed, never recorded
from app.models import User
from app.models_sharing import YouthIdentifier
from app.savepoint import savepoint

PURPOSE = "youth-identifier"
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")  # an absolute URI (scheme:rest), as FHIR's Identifier.system


class IdentifierCreate(BaseModel):
    """An identifier of a partner's system for the youth, as FHIR writes it: `system` (a URI) and `value`."""

    system: str = Field(min_length=1, max_length=255, description="the identifier's namespace, a URI")
    value: str = Field(min_length=1, max_length=255)

    @field_validator("system", "value")
    @classmethod
    def _stripped(cls, text: str) -> str:
        stripped = text.strip()
        if not stripped:
            raise ValueError("must not be blank")
        return stripped

    @field_validator("system")
    @classmethod
    def _a_uri(cls, system: str) -> str:
        if not URI.match(system):
            raise ValueError("must be a URI, such as https://clinic.example.org/client-number or urn:oid:1.2.3")
        return system


class IdentifierPublic(BaseModel):
    """A recorded identifier: its system, never its value (only a keyed hash of it is kept)."""

    id: str
    youth_id: str
    system: str
    recorded_by: str
    recorded_at: datetime


def value_index(keys: KeyRing, agency_id: str, system: str, value: str) -> str:
    """The keyed hash an identifier is kept and looked up by (per agency and system; surrounding spaces ignored)."""
    return keys.blind_index(PURPOSE, f"{agency_id}\x1f{system.strip()}\x1f{value.strip()}")


def public(row: YouthIdentifier) -> IdentifierPublic:
    """A recorded identifier as the API shows it."""
    return IdentifierPublic.model_validate(row, from_attributes=True)


def list_for(db: Session, user: User, youth_id: str) -> list[YouthIdentifier]:
    """The identifiers the user's agency recorded for one of its youth, oldest first."""
    youth = access.readable_youth(db, user, youth_id)
    return list(db.exec(_OF_YOUTH, params={"agency_id": user.agency_id, "youth_id": youth.id}))


_OF_YOUTH = (  # built once: every record page lists them
    select(YouthIdentifier)
    .where(
        col(YouthIdentifier.agency_id) == bindparam("agency_id"), col(YouthIdentifier.youth_id) == bindparam("youth_id")
    )
    .order_by(col(YouthIdentifier.recorded_at), col(YouthIdentifier.id))
)


def add(db: Session, keys: KeyRing, user: User, youth_id: str, data: IdentifierCreate) -> YouthIdentifier:
    """Record that an identifier stands for one of the agency's youth; the same one again changes nothing."""
    youth = access.readable_youth(db, user, youth_id)
    if data.system == PSEUDONYM_SYSTEM:
        raise InvalidInput(
            _("TellOnce's pseudonyms are matched without being recorded: record your partner's identifiers only."),
            {"field": "system"},
        )
    index = value_index(keys, user.agency_id, data.system, data.value)
    taken = recorded(db, user.agency_id, data.system, index)
    if taken is not None and taken.youth_id == youth.id:
        return taken
    elsewhere = Conflict(
        _("Your agency recorded this identifier for another youth already: remove it there first."),
        {"field": "value"},
    )
    if taken is not None:
        raise elsewhere
    row = YouthIdentifier(
        agency_id=user.agency_id, youth_id=youth.id, system=data.system, value_index=index, recorded_by=user.id
    )
    try:
        with savepoint(db):  # another request may have recorded it since the check: the constraint says so
            db.add(row)
            db.flush()
    except IntegrityError:
        taken = recorded(db, user.agency_id, data.system, index)
        if taken is not None and taken.youth_id == youth.id:
            return taken  # the same one, recorded at the same moment: nothing to change
        raise elsewhere from None
    audit.record(
        db,
        "youth.identifier.add",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="youth",
        object_id=youth.id,
        detail={"identifier": row.id, "system": row.system[:255]},
    )
    return row


def recorded(db: Session, agency_id: str, system: str, index: str) -> YouthIdentifier | None:
    """The agency's record of an identifier (by its system and keyed hash), if it has one."""
    query = select(YouthIdentifier).where(
        YouthIdentifier.agency_id == agency_id,
        YouthIdentifier.system == system,
        YouthIdentifier.value_index == index,
    )
    return db.exec(query).first()


def remove(db: Session, user: User, youth_id: str, identifier_id: str) -> None:
    """Forget one of the agency's identifiers of one of its youth (audited)."""
    youth = access.readable_youth(db, user, youth_id)
    row = db.exec(
        select(YouthIdentifier).where(
            YouthIdentifier.id == identifier_id,
            YouthIdentifier.agency_id == user.agency_id,
            YouthIdentifier.youth_id == youth.id,
        )
    ).first()
    if row is None:
        raise NotFound(_("No such identifier."))
    db.delete(row)
    db.flush()
    audit.record(
        db,
        "youth.identifier.remove",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="youth",
        object_id=youth.id,
        detail={"identifier": identifier_id, "system": row.system},
    )


def youth_with(
    db: Session, keys: KeyRing, agency_id: str, found: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The agency's youth each of these (system, value) identifiers stands for (the ones recorded only)."""
    wanted = {value_index(keys, agency_id, system, value): (system, value) for system, value in found}
    if not wanted:
        return {}
    rows = db.exec(
        select(YouthIdentifier.system, YouthIdentifier.value_index, YouthIdentifier.youth_id).where(
            YouthIdentifier.agency_id == agency_id, col(YouthIdentifier.value_index).in_(list(wanted))
        )
    )
    # The hash binds the system already; comparing it again costs nothing.
    return {wanted[index]: youth for system, index, youth in rows if wanted[index][0].strip() == system}
