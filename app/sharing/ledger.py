"""The disclosure ledger: every cross-agency view and export, and the account a youth can be given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.errors import UngrantedDisclosure
from app.models import Screening, User, new_id, utcnow
from app.models_sharing import Disclosure


@dataclass(frozen=True)
class Grant:
    """Why another agency's data may be disclosed: a consent, or a break-glass."""

    consent_id: str | None
    break_glass_id: str | None


def disclose(
    db: Session,
    viewer: User,
    *,
    owner_agency_id: str,
    person_id: str,
    kind: str,
    categories: list[str],
    purpose: str,
    grant: Grant | None,
    screening_id: str | None = None,
    revision: int | None = None,
) -> Disclosure | None:
    """Record that `viewer` saw another agency's data (nothing is recorded for the agency's own).

    A screening's entry names the revision of its result that was shown: `revision`, else the current one.
    Refuses (raises) an entry with no consent and no break-glass: such a disclosure must not happen.
    Called by `app.access.open_screening`, which decides and records in one step.
    """
    if owner_agency_id == viewer.agency_id:
        return None
    if grant is None or not (grant.consent_id or grant.break_glass_id):
        raise UngrantedDisclosure(f"no grant for {kind} of {owner_agency_id}'s data by {viewer.agency_id}")
    if revision is None and screening_id is not None:
        screening = db.get(Screening, screening_id)  # usually already in the session: no query
        revision = screening.revision if screening is not None else None
    entry = Disclosure(
        person_id=person_id,
        viewer_id=viewer.id,
        viewer_agency_id=viewer.agency_id,
        owner_agency_id=owner_agency_id,
        screening_id=screening_id,
        revision=revision,
        kind=kind,
        categories=categories,
        purpose=purpose,
        consent_id=grant.consent_id if grant else None,
        break_glass_id=grant.break_glass_id if grant else None,
    )
    db.add(entry)  # not flushed: a page's entries are written together, in one statement, at its commit
    return entry


def record_export(
    db: Session,
    exporter: User,
    *,
    recipient_agency_id: str,
    person_id: str,
    screening_id: str,
    categories: list[str],
    purpose: str,
    consent_id: str | None,
    detail: dict[str, Any] | None = None,
    revision: int | None = None,
    owner_agency_id: str | None = None,
) -> Disclosure | None:
    """Record that `exporter` sent one of their agency's screenings to another agency in an export.

    The entry reads "exported to <recipient agency> by <exporter>": the recipient is the agency the
    data is disclosed to (`viewer_agency_id`), the user who ran the export is `viewer_id`, and the
    exporter's agency owns the data. Nothing is recorded for an agency's export to itself. The entry
    is added to the session (not flushed), so a batch of an export is written in one round trip.
    `revision` is the revision of the screening's result that was exported. `owner_agency_id` names the
    agency where exported answers were given, when it is not the exporter's (they go under its own consent).
    """
    if recipient_agency_id == exporter.agency_id:
        return None
    if consent_id is None:
        raise UngrantedDisclosure(f"no consent for an export to {recipient_agency_id}")
    entry = Disclosure(
        person_id=person_id,
        viewer_id=exporter.id,
        viewer_agency_id=recipient_agency_id,
        owner_agency_id=owner_agency_id or exporter.agency_id,
        screening_id=screening_id,
        revision=revision,
        kind="export",
        categories=categories,
        purpose=purpose,
        consent_id=consent_id,
        detail={"exported_by": exporter.id, "exporter_agency_id": exporter.agency_id, **(detail or {})},
    )
    db.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class ExportEntry:
    """One screening sent in an export: what went of it, and under which consent (see `record_exports`)."""

    person_id: str
    screening_id: str
    categories: list[str]
    consent_id: str | None
    detail: dict[str, Any]
    revision: int | None = None  # the revision of the screening's result that was exported
    owner_agency_id: str | None = None  # the agency where exported answers were given, when not the exporter's


def record_exports(
    db: Session,
    exporter_id: str,
    exporter_agency_id: str,
    recipient_agency_id: str,
    purpose: str,
    detail: dict[str, Any],
    entries: Sequence[ExportEntry],
) -> int:
    """Record that the exporter sent these screenings of their agency to another agency, in one INSERT.

    Each entry reads "exported to <recipient agency> by <exporter>": the recipient is the agency the data is
    disclosed to (`viewer_agency_id`), the user who ran the export is `viewer_id`, and the exporter's agency
    owns the data, or the agency where exported answers were given (they go under its own consent). Nothing
    is recorded for an agency's export to itself. Refuses (raises, writing nothing) an entry with no consent.
    The rows are inserted at once, not added to the session as `record_export` (one referral's few) does: a
    tabular export writes thousands, and the ORM's unit of work would track each one. Returns how many.
    """
    if recipient_agency_id == exporter_agency_id or not entries:
        return 0
    if any(entry.consent_id is None for entry in entries):
        raise UngrantedDisclosure(f"no consent for an export to {recipient_agency_id}")
    common = {"exported_by": exporter_id, "exporter_agency_id": exporter_agency_id, **detail}
    at = utcnow()
    db.execute(
        insert(Disclosure),
        [
            {
                "id": new_id(),
                "at": at,
                "person_id": entry.person_id,
                "viewer_id": exporter_id,
                "viewer_agency_id": recipient_agency_id,
                "owner_agency_id": entry.owner_agency_id or exporter_agency_id,
                "screening_id": entry.screening_id,
                "revision": entry.revision,
                "kind": "export",
                "categories": entry.categories,
                "purpose": purpose,
                "consent_id": entry.consent_id,
                "break_glass_id": None,
                "detail": {**common, **entry.detail},
            }
            for entry in entries
        ],
    )
    return len(entries)


def account(db: Session, person_id: str, agency_id: str) -> list[Disclosure]:
    """Who has seen this person's records held by `agency_id`, or what that agency saw elsewhere, oldest first.

    An agency's account stays within what it already knows: listing views of a third agency's records
    would tell it that the third agency holds a record of the person.
    """
    return list(
        db.exec(
            select(Disclosure)
            .where(Disclosure.person_id == person_id)
            .where((col(Disclosure.owner_agency_id) == agency_id) | (col(Disclosure.viewer_agency_id) == agency_id))
            .order_by(col(Disclosure.at))
        )
    )
