"""The disclosure ledger: every cross-agency view and export, and the account a youth can be given."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.access import Grant
from app.models import Screening, User
from app.models_sharing import Disclosure


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
    """
    if owner_agency_id == viewer.agency_id:
        return None
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
    db.add(entry)
    db.flush()
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
) -> Disclosure | None:
    """Record that `exporter` sent one of their agency's screenings to another agency in an export.

    The entry reads "exported to <recipient agency> by <exporter>": the recipient is the agency the
    data is disclosed to (`viewer_agency_id`), the user who ran the export is `viewer_id`, and the
    exporter's agency owns the data. Nothing is recorded for an agency's export to itself. The entry
    is added to the session (not flushed), so a batch of an export is written in one round trip.
    `revision` is the revision of the screening's result that was exported.
    """
    if recipient_agency_id == exporter.agency_id:
        return None
    entry = Disclosure(
        person_id=person_id,
        viewer_id=exporter.id,
        viewer_agency_id=recipient_agency_id,
        owner_agency_id=exporter.agency_id,
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
