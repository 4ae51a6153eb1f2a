"""Break-glass: a supervisor opens another agency's records of a person, with a reason, for a time."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from app import access, audit
from app.access import require_role
from app.crypto import KeyRing
from app.errors import NotFound
from app.i18n import _
from app.models import Role, User, utcnow
from app.models_sharing import BreakGlass, Disclosure
from app.sharing.schemas import BreakGlassCreate


def open_glass(db: Session, keys: KeyRing, user: User, youth_id: str, data: BreakGlassCreate) -> BreakGlass:
    """Open for `data.hours` (default 24) the records of the person behind one of the agency's youth."""
    require_role(user, Role.supervisor, Role.agency_admin)
    youth = access.readable_youth(db, user, youth_id)
    glass = BreakGlass(
        user_id=user.id,
        agency_id=user.agency_id,
        person_id=youth.person_id,
        reason_enc="",
        expires_at=utcnow() + timedelta(hours=data.hours),
    )
    glass.reason_enc = keys.encrypt(data.reason, "break_glass", "reason", glass.id)
    db.add(glass)
    db.flush()
    audit.record(
        db,
        "break_glass.open",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="youth",
        object_id=youth.id,
        detail={"hours": data.hours},
    )
    return glass


def close_glass(db: Session, user: User, glass_id: str) -> BreakGlass:
    """End a break-glass early."""
    glass = db.get(BreakGlass, glass_id)
    if glass is None or glass.user_id != user.id:
        raise NotFound(_("No such break-glass."))
    if glass.ended_at is None:
        glass.ended_at = utcnow()
        db.add(glass)
        audit.record(db, "break_glass.close", actor_id=user.id, agency_id=user.agency_id)
    return glass


def seen_by_others(db: Session, keys: KeyRing, agency_id: str) -> list[tuple[BreakGlass, str, int]]:
    """Break-glass openings that reached this agency's records: (opening, reason, views), newest first.

    Shown to the agency's admins: they see every break-glass that touched their records.
    """
    rows = db.exec(
        select(BreakGlass, Disclosure)
        .join(Disclosure, col(Disclosure.break_glass_id) == col(BreakGlass.id))
        .where(Disclosure.owner_agency_id == agency_id)
        .order_by(col(BreakGlass.started_at).desc())
    ).all()
    seen: dict[str, tuple[BreakGlass, str, int]] = {}
    for glass, _disclosure in rows:
        reason = keys.decrypt(glass.reason_enc, "break_glass", "reason", glass.id)
        earlier = seen.get(glass.id)
        seen[glass.id] = (glass, reason, (earlier[2] if earlier else 0) + 1)
    return list(seen.values())
