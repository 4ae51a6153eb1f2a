"""The audit log: append-only and hash-chained. It records ids and actions, never names or answers.

Chains. Every event belongs to one chain: its agency's id, or "system" when it has none (events from
before migration 0010 form the legacy chain "global", which nothing extends). Within a chain each event
has a `position` (0, 1, 2, ...) and the hash of the event before it (`GENESIS` for the first); its own hash
covers its fields, its chain and its position. The table `audit_chain` holds each chain's head: the last
event's position and hash. `seq` (autoincrement) only orders events across chains for display.

Why a chain cannot fork. A fork is two events that extend the same link. An event is appended only by
`_append`, inside the committing transaction, and only after it has taken the head row's lock with an
`UPDATE audit_chain ... RETURNING`; it computes position and hash from what that statement returned and
moves the head on, in the same transaction. Whoever appends next must take the same row lock, so it waits
until this transaction ends, and then reads the head it left:
- PostgreSQL (READ COMMITTED): an UPDATE that finds a row locked by another transaction waits for it and
  then works on the newest committed version, so RETURNING gives the head as moved by the committed
  append. A chain without a head gets one by `INSERT ... ON CONFLICT DO NOTHING` (a concurrent creator
  makes it wait, then do nothing) and is then locked the same way.
- SQLite: one writer at a time. Our UPDATE is a write statement, so it takes the database's write lock
  before it reads (a transaction's first write statement waits on busy_timeout for the lock and reads the
  newest data; a transaction that had already read an older snapshot gets SQLITE_BUSY rather than a stale
  head), and no other connection can write until our COMMIT.
The unique index on (chain, position) would refuse a fork even if this reasoning were wrong.

Off the hot path. `record()` only queues the event in `session.info`; the events are appended in the
session's `before_commit` (registered once below for every session), after the request's own writes
are flushed, so a head is locked only from there to the COMMIT and is the last lock a transaction takes.
One commit that appends to several chains locks them in name order, so two commits never deadlock.
A rollback discards the queued events: they describe work that did not happen.

Denied reads. `denied()` queues an `access.denied` event in a separate queue that a rollback keeps:
the request's commit writes it, and when a 404 rolls the request back, `write_denials()` (called by the
request's session dependency) writes it in a fresh transaction. The response is the same either way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col
from sqlmodel import select as select_model

from app.models import AuditChain, AuditEvent, utcnow
from app.typed_sql import table_of

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"  # events with no agency
LEGACY_CHAIN = "global"  # events from before chains, hashed without chain and position; never extended
DENIED = "access.denied"

_PENDING = "audit.pending"  # [(event, transaction it was recorded in)]
_DENIALS = "audit.denials"  # [event]: kept across a rollback
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_heads = table_of(AuditChain)
log = logging.getLogger(__name__)

__all__ = ["GENESIS", "AuditEvent", "Break", "Check", "check", "denied", "events", "record", "verify"]


def chain_for(agency_id: str | None) -> str:
    """The chain an event of this agency (or of none) belongs to."""
    return agency_id or SYSTEM_CHAIN


def _digest(event: Any) -> str:
    """The hash of an event (an `AuditEvent` or a row with its columns) given its `prev_hash`."""
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
    if event.chain != LEGACY_CHAIN:
        body |= {"chain": event.chain, "position": event.position}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{event.prev_hash}|{canonical}".encode()).hexdigest()


def _event(
    action: str,
    actor_id: str | None,
    agency_id: str | None,
    object_type: str | None,
    object_id: str | None,
    outcome: str,
    detail: dict[str, Any] | None,
) -> AuditEvent:
    return AuditEvent(
        at=utcnow(),
        chain=chain_for(agency_id),
        position=-1,
        actor_id=actor_id,
        agency_id=agency_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail or {},
        prev_hash="",
        hash="",
    )


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
    """Record one event in the caller's transaction: appended to its chain when the transaction commits,
    discarded if it rolls back. The returned event has its seq, position and hash after the commit."""
    event = _event(action, actor_id, agency_id, object_type, object_id, outcome, detail)
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((event, transaction))
    return event


def screening_viewed(session: Session, user: Any, screening_id: str, **detail: Any) -> AuditEvent:
    """Record that `user` saw a screening (its answers, result, a revision or a summary: `detail` says which):
    what every view of a screening records, in one place."""
    return record(
        session,
        "screening.view",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening_id,
        detail=detail or None,
    )


def denied(session: Session, user: Any, model: Any, object_id: str) -> None:
    """Record that `user` was answered "not found" for a `model` row: outcome "denied" when it exists
    (the user may not read it), "missing" when it does not. Kept even if the request rolls back."""
    well_formed = _ID.fullmatch(object_id) is not None
    exists = well_formed and session.execute(_exists(model), {"object_id": object_id}).first() is not None
    event = _event(
        DENIED,
        user.id,
        user.agency_id,
        model.__tablename__,
        object_id if well_formed else None,  # never store what a prober typed in place of an id
        "denied" if exists else "missing",
        None,
    )
    session.info.setdefault(_DENIALS, []).append(event)


@functools.cache
def _exists(model: Any) -> Any:
    """Whether a row of `model` has the id: built once per model (every denied read asks it)."""
    return select(model.id).where(model.id == bindparam("object_id"))


def write_denials(session: Session) -> None:
    """After a rollback: write the denied reads recorded in it, in a transaction of their own."""
    if not session.info.get(_DENIALS):
        return
    try:
        session.commit()
    except SQLAlchemyError:  # the request's own error is the one to report
        log.exception("could not write the audit events of denied reads")
        session.rollback()


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(OrmSession, "after_soft_rollback")
def _discard(session: OrmSession, previous_transaction: SessionTransaction) -> None:
    """Events recorded in a transaction (or savepoint) that rolled back are dropped."""
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(e, tx) for e, tx in pending if not _within(tx, previous_transaction)]


@sa_event.listens_for(OrmSession, "before_commit")
def _append_queued(session: OrmSession) -> None:
    """At the commit of the outermost transaction: append the queued events to their chains."""
    if session.in_nested_transaction():
        return
    pending: list[tuple[AuditEvent, SessionTransaction]] = session.info.get(_PENDING) or []
    denials: list[AuditEvent] = session.info.get(_DENIALS) or []
    if not pending and not denials:
        return
    session.flush()  # the request's own writes first: a chain head is the last lock a transaction takes
    _append(session, [e for e, _tx in pending] + denials)
    pending.clear()
    denials.clear()


# A chain's head: locked (an update to itself) and read, then moved on. Built once: every audited request runs them.
_LOCK_HEAD = (
    update(_heads)
    .where(_heads.c.name == bindparam("chain"))
    .values(position=_heads.c.position)
    .returning(_heads.c.position, _heads.c.hash)
)
_MOVE_HEAD = (
    update(_heads)
    .where(_heads.c.name == bindparam("chain"))
    .values(position=bindparam("new_position"), hash=bindparam("new_hash"))
)


def _lock_head(session: OrmSession, name: str) -> tuple[int, str]:
    """Lock a chain's head row (creating it if the chain is new) and return its position and hash."""
    row = session.execute(_LOCK_HEAD, {"chain": name}).first()
    if row is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        create = dialect.insert(_heads).values(name=name, position=-1, hash=GENESIS)
        session.execute(create.on_conflict_do_nothing(index_elements=["name"]))
        row = session.execute(_LOCK_HEAD, {"chain": name}).one()
    return int(row[0]), str(row[1])


def _append(session: OrmSession, queued: list[AuditEvent]) -> None:
    by_chain: dict[str, list[AuditEvent]] = {}
    for event in queued:
        by_chain.setdefault(event.chain, []).append(event)
    for name in sorted(by_chain):  # one order for every transaction: no deadlocks
        position, prev_hash = _lock_head(session, name)
        for event in by_chain[name]:
            position += 1
            event.position, event.prev_hash = position, prev_hash
            event.hash = prev_hash = _digest(event)
        session.execute(_MOVE_HEAD, {"chain": name, "new_position": position, "new_hash": prev_hash})
    session.add_all(queued)
    session.flush()


def events(session: Session) -> Iterator[AuditEvent]:
    """Every event in order."""
    yield from session.exec(select_model(AuditEvent).order_by(col(AuditEvent.seq)))


# Verification -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: the event (or, for a cut tail, the head) where it breaks."""

    chain: str
    position: int | None
    seq: int | None
    reason: str

    def describe(self) -> str:
        where = f"event {self.seq}: chain {self.chain}, position {self.position}" if self.seq is not None else ""
        return f"{where or f'the head of chain {self.chain}'}: {self.reason}"


@dataclass
class Check:
    """What `check` found: how many events and chains it read, and the first break of each broken chain."""

    events: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)


def check(session: Session) -> Check:
    """Check every chain: positions consecutive from 0, each link naming the one before (GENESIS first),
    each hash recomputing, and the head row naming the last event (so a cut tail is found)."""
    heads = {name: (position, hash_) for name, position, hash_ in session.execute(select(_heads))}
    result = Check()
    events = table_of(AuditEvent)
    columns = events.c
    rows = session.execute(select(events).order_by(columns.chain, columns.position).execution_options(yield_per=1000))
    state: dict[str, tuple[int, str]] = {}  # chain -> (last position, last hash)
    broken: set[str] = set()
    for row in rows:
        result.events += 1
        if row.chain in broken:
            continue
        last_position, last_hash = state.get(row.chain, (-1, GENESIS))
        reason = None
        if row.position != last_position + 1:
            reason = f"expected position {last_position + 1} (an event is missing or was moved)"
        elif row.prev_hash != last_hash:
            reason = "it does not follow the event before it"
        elif _digest(row) != row.hash:
            reason = "its contents do not match its hash (edited)"
        if reason:
            result.breaks.append(Break(row.chain, row.position, row.seq, reason))
            broken.add(row.chain)
            continue
        state[row.chain] = (row.position, row.hash)
    for name in sorted(set(state) | set(heads)):
        if name in broken:
            continue
        if heads.get(name) != state.get(name, (-1, GENESIS)):
            head, last = heads.get(name), state.get(name, (-1, GENESIS))
            if head is None:
                reason = "the chain has no head row"
            elif head[0] != last[0]:
                reason = f"the head names position {head[0]} but the last event is at {last[0]} (events were removed)"
            else:
                reason = "the head's hash is not the last event's (the last event was replaced)"
            result.breaks.append(Break(name, None, None, reason))
    result.chains = len(set(state) | set(heads))
    result.breaks.sort(key=lambda b: (b.seq is None, b.seq or 0, b.chain))
    return result


def verify(session: Session) -> Break | None:
    """The first broken link (by seq; a cut tail last), or None when every chain is whole."""
    breaks = check(session).breaks
    return breaks[0] if breaks else None
