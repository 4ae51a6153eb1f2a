"""Server-side sign-in sessions: browser sessions and API tokens, with CSRF tokens for forms."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select, update

from app.models import AuthSession, User, utcnow
from app.settings import Settings


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Session, user: User, kind: str, settings: Settings) -> str:
    """Begin a session for `user`; returns the secret token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=settings.session_absolute_hours if kind == "web" else settings.api_token_hours)
    db.add(
        AuthSession(
            id=_token_id(token),
            user_id=user.id,
            kind=kind,
            csrf_secret=secrets.token_hex(32),
            expires_at=utcnow() + lifetime,
        )
    )
    db.flush()
    return token


# The session and its user in one statement, built once (every signed-in request runs it).
_SESSION_AND_USER = (
    select(AuthSession, User)
    .join(User, col(User.id) == col(AuthSession.user_id))
    .where(col(AuthSession.id) == bindparam("token_id"))
)


def resolve(db: Session, token: str, kind: str, settings: Settings) -> tuple[AuthSession, User] | None:
    """The live session and active user for a token, touching its idle timer; None if not valid."""
    found = db.exec(_SESSION_AND_USER, params={"token_id": _token_id(token)}).first()
    if found is None:
        return None
    record, user = found
    now = utcnow()
    if record.kind != kind or record.ended_at is not None or record.expires_at <= now:
        return None
    if kind == "web" and now - record.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        record.ended_at = now
        db.add(record)
        return None
    if not user.is_active:
        return None
    if now - record.last_seen_at > timedelta(seconds=30):  # avoid a write on every request
        record.last_seen_at = now
        db.add(record)
    return record, user


def end(db: Session, token: str) -> None:
    """End one session (logout)."""
    record = db.get(AuthSession, _token_id(token))
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        db.add(record)


def end_all_for(db: Session, user_id: str) -> None:
    """End every session of a user (disabling them, or a password change)."""
    db.exec(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )


def csrf_token(record: AuthSession) -> str:
    """The synchronizer token to embed in this session's forms."""
    return hmac.new(record.csrf_secret.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_valid(record: AuthSession, submitted: str | None) -> bool:
    """Whether a submitted form token belongs to this session."""
    return submitted is not None and hmac.compare_digest(csrf_token(record), submitted)
