"""Self-administered screenings: access for a youth (hand-off or private link and code) and youth sessions.

A link alone never shows anything a youth said: opening a screening needs the resume code, and a
code opens nothing without its link (so a code cannot be guessed against every open screening at
once). Attempts are counted per link and per address, atomically, before any lookup. Codes and
link tokens are stored only as keyed hashes, and a code is shown once.

"Save and finish later" ends the session and keeps the access: on a private link the youth comes back
with the same link and code (the ones on their slip) until they expire or staff revoke them. Only a
handed-over device, where the youth never had a link, gets a new link and code, shown once on the page
that answers the pause; the access then lasts like a private link's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from app import access, audit, ratelimit
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from app.i18n import _
from app.models import Agency, AuthSession, Screening, ScreeningStatus, User, YouthAccess, YouthSession, utcnow
from app.settings import Settings
from instruments.loader import Registry

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 8
READABLE_LINK_LENGTH = 12  # the link a paused hand-off shows: 59 bits, typed with the 40-bit code


@dataclass(frozen=True)
class IssuedAccess:
    """What staff hand to a youth: shown once, never stored in the clear."""

    access: YouthAccess
    link_token: str
    code: str

    @property
    def formatted_code(self) -> str:
        """The code in two groups of four, easier to read."""
        return format_code(self.code)


def format_code(code: str) -> str:
    """ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"


def normalize_code(text: str) -> str:
    """What the youth typed, without spaces or dashes, in capitals."""
    return "".join(c for c in text.upper() if c.isalnum())


# A link and its code show on the youth's screen (the link also in the browser's history). A random draw that
# spells a word labelling them, in English or Spanish (stems: abuse/abuso, traffic/tráfico, exploit/explotación,
# violación, víctima, trata), is thrown away and drawn again: about one link in a thousand held "sex".
LABELLING = re.compile(r"sex|rape|viola|abus|victim|traf|trata|explo|pimp|puta", re.IGNORECASE)


def _neutral(draw: Callable[[], str]) -> str:
    """A value of `draw` that spells no labelling word."""
    while LABELLING.search(value := draw()):
        pass
    return value


def _new_link_token() -> str:
    return _neutral(lambda: secrets.token_urlsafe(24))


def _new_code() -> str:
    return _neutral(lambda: "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def _code_index(keys: KeyRing, code: str) -> str:
    return keys.blind_index("resume-code", normalize_code(code))


def _link_index(keys: KeyRing, token: str) -> str:
    return keys.blind_index("youth-link", token)


def issue(
    db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, kind: str, settings: Settings
) -> IssuedAccess:
    """Give a youth access to a self-administered screening of the user's agency."""
    screening = access.writable_screening(db, user, screening_id)
    if screening.status == ScreeningStatus.completed:
        raise Conflict(_("This screening is already completed."))
    if screening.status == ScreeningStatus.discarded:
        raise Conflict(_("This draft was discarded; it cannot be resumed."))
    if screening.mode != "self":
        raise InvalidInput(_("Only a screening started in the self-administered mode can be handed to a youth."))
    token, code = _new_link_token(), _new_code()
    hours = 4 if kind == "handoff" else settings.youth_access_hours
    record = YouthAccess(
        screening_id=screening.id,
        kind=kind,
        link_index=_link_index(keys, token),
        code_index=_code_index(keys, code),
        created_by=user.id,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.add(record)
    db.flush()
    audit.record(
        db,
        "youth_access.issue",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"kind": kind},
    )
    return IssuedAccess(record, token, code)


def revoke(db: Session, user: User, access_id: str) -> YouthAccess:
    """Revoke a link and code; the youth's open session ends on its next request."""
    record = db.get(YouthAccess, access_id)
    if record is None:
        raise NotFound(_("No such access."))
    try:
        access.writable_screening(db, user, record.screening_id)
    except NotFound:  # the same answer as for an access that does not exist
        raise NotFound(_("No such access.")) from None
    if record.revoked_at is None:
        record.revoked_at, record.revoked_by = utcnow(), user.id
        db.add(record)
        _end_sessions(db, record.id, "revoked")
        audit.record(
            db,
            "youth_access.revoke",
            actor_id=user.id,
            agency_id=user.agency_id,
            object_type="screening",
            object_id=record.screening_id,
        )
    return record


def accesses(db: Session, user: User, screening_id: str) -> list[YouthAccess]:
    """The accesses of a screening of the user's agency, newest first."""
    screening = access.writable_screening(db, user, screening_id)
    return list(
        db.exec(
            select(YouthAccess)
            .where(YouthAccess.screening_id == screening.id)
            .order_by(col(YouthAccess.created_at).desc())
        )
    )


def _usable(record: YouthAccess | None) -> bool:
    return record is not None and record.revoked_at is None and record.expires_at > utcnow()


def normalize_link(token: str) -> str:
    """A link token as stored: a readable one (from pausing a hand-off, ABCD-EFGH-JKLM) in any
    case and spacing; an issued one (32 url-safe characters) exactly as given."""
    token = token.strip().rsplit("/go/", 1)[-1].split("?", 1)[0]  # the whole address pasted in
    compact = "".join(c for c in token.upper() if c.isalnum())
    if len(token) <= 16 and len(compact) == READABLE_LINK_LENGTH:
        return "-".join(compact[i : i + 4] for i in range(0, READABLE_LINK_LENGTH, 4))
    return token.strip()


def open_with_code(
    db: Session, keys: KeyRing, code: str, link_token: str | None, address: str, settings: Settings
) -> tuple[YouthSession, str]:
    """Start a youth session from a resume code and its private link; a code without its link fails
    exactly like a wrong code. The attempt is counted per link and per address before anything is looked up."""
    link = normalize_link(link_token) if link_token else None
    buckets = [ratelimit.Bucket("resume-address", address, settings.resume_attempts_per_address)]
    if link:
        buckets.append(ratelimit.Bucket("resume-link", link, settings.resume_attempts_per_link, True))
    attempt = ratelimit.count_attempt(db, buckets, timedelta(minutes=settings.resume_window_minutes))
    if attempt.retry_after:
        if attempt.first_refusal:  # once per closed bucket and window: unauthenticated refusals cost no row each
            audit.record(db, "youth_access.open", outcome="rate_limited")
        raise TooManyAttempts(_("Too many tries. Please wait a few minutes and try again."), attempt.retry_after)
    record = (
        db.exec(select(YouthAccess).where(YouthAccess.link_index == _link_index(keys, link))).first() if link else None
    )
    code_ok = record is not None and hmac.compare_digest(record.code_index, _code_index(keys, code))
    screening = db.get(Screening, record.screening_id) if record is not None and code_ok else None
    if not (_usable(record) and code_ok and screening is not None and screening.status == ScreeningStatus.in_progress):
        audit.record(db, "youth_access.open", outcome="failed")
        raise InvalidInput(
            _("That code does not work. Check it and try again, or ask the person who gave it to you."),
            keep_writes=True,
        )
    if record is None or screening is None:  # unreachable: the check above covers it
        raise InvalidInput(_("That code does not work."))
    attempt.succeeded()
    return start_session(db, record, screening)


def start_session(db: Session, record: YouthAccess, screening: Screening) -> tuple[YouthSession, str]:
    """A new youth session on one screening; returns it and its cookie token."""
    _end_sessions(db, record.id, "replaced")
    token = secrets.token_urlsafe(32)
    youth_session = YouthSession(
        id=_session_id(token),
        access_id=record.id,
        screening_id=screening.id,
        csrf_secret=secrets.token_hex(32),
    )
    db.add(youth_session)
    db.flush()
    audit.record(
        db, "youth_access.open", agency_id=screening.agency_id, object_type="screening", object_id=screening.id
    )
    return youth_session, token


def hand_off(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    staff_session: AuthSession,
    screening_id: str,
    settings: Settings,
) -> tuple[YouthSession, str]:
    """Hand this device to the youth: lock the staff session and open the youth's session here."""
    issued = issue(db, keys, registry, user, screening_id, "handoff", settings)
    screening = access.writable_screening(db, user, screening_id)
    staff_session.locked_for = screening.id
    db.add(staff_session)
    return start_session(db, issued.access, screening)


def end_hand_off(db: Session, user: User, screening_id: str) -> None:
    """Staff took the device back: the hand-off access and any youth session on it end now."""
    grants = db.exec(
        select(YouthAccess).where(
            YouthAccess.screening_id == screening_id,
            YouthAccess.kind == "handoff",
            col(YouthAccess.revoked_at).is_(None),
        )
    )
    for grant in grants.all():
        revoke(db, user, grant.id)


def resolve(db: Session, token: str, settings: Settings) -> YouthSession | None:
    """The live youth session for a cookie token, touching its idle timer; None when it has ended."""
    record = db.get(YouthSession, _session_id(token))
    if record is None or record.ended_at is not None:
        return None
    now = utcnow()
    grant = db.get(YouthAccess, record.access_id)
    if not _usable(grant):
        end(db, record, "revoked")
        return None
    if now - record.last_seen_at > timedelta(minutes=settings.youth_idle_minutes):
        end(db, record, "idle")
        return None
    record.last_seen_at = now
    db.add(record)
    return record


def _session_id(token: str) -> str:
    """A youth session's key: the hash of its cookie token (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_of(db: Session, token: str | None) -> YouthSession | None:
    """The youth session a cookie token names, open or ended (the last page and the quick exit come after its end)."""
    return db.get(YouthSession, _session_id(token)) if token else None


def leave(db: Session, token: str | None) -> None:
    """The quick exit: the youth session of this cookie token ends now, if it is still open."""
    record = session_of(db, token)
    if record is not None:
        end(db, record, "exit")


def handed_over(db: Session, record: YouthSession | None) -> bool:
    """Whether this youth session runs on an agency device a staff member handed over."""
    grant = db.get(YouthAccess, record.access_id) if record is not None else None
    return grant is not None and grant.kind == "handoff"


@dataclass(frozen=True)
class Finished:
    """What the last page of a finished check-in needs: its screening (the language), the agency (its
    resources) and whether the device goes back to staff."""

    screening: Screening
    agency: Agency | None
    handed_over: bool


def finished(db: Session, token: str | None) -> Finished | None:
    """The check-in this cookie token's session finished, or None when it did not (then the last page shows
    no program's resources: it cannot tell whose they would be)."""
    record = session_of(db, token)
    screening = db.get(Screening, record.screening_id) if record and record.ended_reason == "finished" else None
    if record is None or screening is None:
        return None
    return Finished(screening, db.get(Agency, screening.agency_id), handed_over(db, record))


def end(db: Session, record: YouthSession, reason: str) -> None:
    """End a youth session (quick exit, pause, finish, idle, revoked)."""
    if record.ended_at is None:
        record.ended_at, record.ended_reason = utcnow(), reason
        db.add(record)
        screening = db.get(Screening, record.screening_id)  # its agency's audit chain, not one every agency shares
        audit.record(
            db,
            f"youth_session.{reason}",
            agency_id=screening.agency_id if screening else None,
            object_type="screening",
            object_id=record.screening_id,
        )


@dataclass(frozen=True)
class Paused:
    """What "save and finish later" tells the youth: until when their link and code work, and, on a
    handed-over device only, the new readable link and code to come back with (shown once)."""

    expires_at: datetime
    link_token: str | None = None
    code: str | None = None


def pause(db: Session, keys: KeyRing, record: YouthSession, settings: Settings) -> Paused:
    """Save and finish later: the youth session ends; the access stays.

    A private link keeps its link and code (what the slip promises), so nothing new is shown. A handed-over
    device never had a link, and a code only opens a screening with its link: it gets a short readable link
    (ABCD-EFGH-JKLM) and a new code, and becomes a link that lasts like a private link's, which staff taking
    the device back does not end.
    """
    grant = db.get(YouthAccess, record.access_id)
    if grant is None:
        raise NotFound(_("No such access."))
    end(db, record, "pause")
    if grant.kind != "handoff":
        return Paused(grant.expires_at)
    code = _new_code()
    link = normalize_link("".join(secrets.choice(CODE_ALPHABET) for _ in range(READABLE_LINK_LENGTH)))
    grant.code_index = _code_index(keys, code)
    grant.link_index = _link_index(keys, link)
    grant.kind = "link"
    grant.expires_at = utcnow() + timedelta(hours=settings.youth_access_hours)
    db.add(grant)
    return Paused(grant.expires_at, link, code)


def link_of(db: Session, keys: KeyRing, record: YouthSession, link_token: str | None) -> str | None:
    """The link token, when it is the private link of this youth session's access (else None)."""
    grant = db.get(YouthAccess, record.access_id)
    if not link_token or grant is None:
        return None
    token = normalize_link(link_token)
    return token if hmac.compare_digest(grant.link_index, _link_index(keys, token)) else None


def _end_sessions(db: Session, access_id: str, reason: str) -> None:
    db.exec(
        update(YouthSession)
        .where(col(YouthSession.access_id) == access_id, col(YouthSession.ended_at).is_(None))
        .values(ended_at=utcnow(), ended_reason=reason)
    )


def csrf_token(record: YouthSession) -> str:
    """The token the youth's forms carry."""
    return hmac.new(record.csrf_secret.encode(), b"youth-csrf", hashlib.sha256).hexdigest()


def issued_link(db: Session, keys: KeyRing, screening_id: str, link_token: str, code: str) -> YouthAccess | None:
    """The still-usable link-and-code access of this screening that the token and code belong to, if any."""
    record = db.exec(select(YouthAccess).where(YouthAccess.link_index == _link_index(keys, link_token))).first()
    if record is None or record.screening_id != screening_id or record.kind != "link":
        return None
    if not hmac.compare_digest(record.code_index, _code_index(keys, code)):
        return None
    return record if _usable(record) else None
