"""The youth record's sharing section: links, possible matches, consents given or received, and the tell-once timeline.

Reads go through the sharing services and `app.access`; the record page (`app.records.record_page`) puts it on the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app import access
from app.crypto import KeyRing
from app.models import Role, User
from app.models_sharing import Category
from app.sharing import linked, links, tellonce, views
from app.sharing.labels import LABELS
from app.texts import text
from instruments.loader import Registry

BREAK_GLASS_ROLES = (Role.supervisor, Role.agency_admin)


def record_section(db: Session, keys: KeyRing, registry: Registry, user: User, youth_id: str) -> dict[str, Any]:
    """What the sharing section of a youth's record shows (the caller has already read the youth through access)."""
    youth = access.readable_youth(db, user, youth_id)
    person_id = youth.person_id
    facts = linked.known(db, user, youth_id)
    names = facts.names()
    given_or_received = facts.given_or_received(person_id)
    listed = {c.id for c in given_or_received}
    others = [c for c in facts.link_consents() if c.id not in listed]  # a link's consent the list leaves out
    shown = views.consent_rows(db, keys, [*given_or_received, *others], user, names)  # revokers read once for all
    rows = {row.consent.id: row for row in shown}
    link_views = linked.link_views(keys, user, facts, rows)
    handles = views.candidate_handles(db, keys, user, youth_id)
    return {
        "handles": handles,
        # A record already one youth with another is not linked to a second: the page says why, with no button.
        "joined": links.ALREADY_JOINED if handles and links.joined_with_another(db, youth) else None,
        "may_break_glass": user.role in BREAK_GLASS_ROLES,
        "links": link_views,
        "linked_here": any(v.made_here and v.link.undone_at is None for v in link_views),
        "ended": linked.ended_for_record(user, facts, person_id, given_or_received),
        "consents": shown[: len(given_or_received)],
        "recipients": views.recipients_among(facts.agencies.values(), user),
        "timeline": _timeline(db, registry, user, youth_id),
        "values": {"starts_at": datetime.now(UTC).date().isoformat(), "categories": [Category.result_summary.value]},
        "errors": {},
        "labels": LABELS,
    }


def _timeline(db: Session, registry: Registry, user: User, youth_id: str) -> list[dict[str, Any]]:
    """The youth's screenings at each agency, with the instrument's title and a link where this agency may open it."""
    rows = []
    for entry in tellonce.timeline(db, user, youth_id):
        compiled = registry.get(entry.instrument_id, entry.instrument_version)
        if entry.completed_at is not None:
            href: str | None = f"/screenings/{entry.screening_id}/result"
        else:
            href = f"/screenings/{entry.screening_id}?page=1" if entry.own else None
        title = text(compiled.definition.title) if compiled else entry.instrument_id
        rows.append({"entry": entry, "title": title, "href": href})
    return rows
