"""The audit log: append-only and hash-chained. It records ids and actions, never names or answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from app.models import AuditEvent, utcnow

GENESIS = "0" * 64
AUDIT_LOCK_ID = 7_145_913  # PostgreSQL advisory lock that serialises appends to the chain


def _digest(prev_hash: str, event: AuditEvent) -> str:
    body = {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "agency_id": event.agency_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "detail": event.detail,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def record(
    session: Session,
    action: str,
    *,
    actor_id: str | None = None,
    agency_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": AUDIT_LOCK_ID})
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    prev_hash = last or GENESIS
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        agency_id=agency_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail or {},
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = _digest(prev_hash, event)
    session.add(event)
    session.flush()
    return event


def events(session: Session) -> Iterator[AuditEvent]:
    """Every event in order."""
    yield from session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))


def verify(session: Session) -> int | None:
    """The sequence number of the first broken link, or None when the chain is whole."""
    prev_hash = GENESIS
    for event in events(session):
        if event.prev_hash != prev_hash or _digest(prev_hash, event) != event.hash:
            return event.seq
        prev_hash = event.hash
    return None
