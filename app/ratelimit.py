"""Fixed-window rate limits kept in the database, so they hold across several app servers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlmodel import Session

from app.models import RateLimit, utcnow


def _key(scope: str, subject: str) -> str:
    return f"{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:48]}"


def seconds_blocked(db: Session, scope: str, subject: str, limit: int, window: timedelta) -> int:
    """Seconds until `subject` may try again, or 0 if it is under the limit."""
    row = db.get(RateLimit, _key(scope, subject))
    if row is None:
        return 0
    now = utcnow()
    if now - row.window_started_at >= window:
        return 0
    if row.count >= limit:
        return max(1, int((row.window_started_at + window - now).total_seconds()))
    return 0


def hit(db: Session, scope: str, subject: str, window: timedelta) -> None:
    """Count one attempt (a failed login, a wrong resume code)."""
    key = _key(scope, subject)
    now = utcnow()
    row = db.get(RateLimit, key)
    if row is None:
        db.add(RateLimit(key=key, window_started_at=now, count=1))
    elif now - row.window_started_at >= window:
        row.window_started_at, row.count = now, 1
        db.add(row)
    else:
        row.count += 1
        db.add(row)
    db.flush()


def clear(db: Session, scope: str, subject: str) -> None:
    """Forget attempts after a success."""
    row = db.get(RateLimit, _key(scope, subject))
    if row is not None:
        db.delete(row)
