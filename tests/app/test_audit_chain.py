"""The audit chain under concurrent requests, and tampering found and named (SECURITY.md 16).

Before chains, a request whose first write was its audit event read the chain's last hash outside the write
lock: on SQLite 8 threads forked the chain 148 times in 527 events. Here many threads append at once, in
every way a request does, and `tellonce audit verify` must still find every chain whole.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app import audit, crypto
from app.accounts import sessions
from app.cli import cli
from app.models import Agency, AuditChain, AuditEvent, UTCDateTime, utcnow
from app.records import service as records
from app.records.schemas import YouthCreate
from app.settings import get_settings
from tests.app.conftest import World
from tests.app.test_migrations import _run as run_migration
from tests.app.test_migrations import fresh  # noqa: F401 (a fixture: a new empty database of the same kind)

THREADS, OPERATIONS = 8, 40


def _forks(session: Session) -> int:
    """Events that extend a link another event of the same chain already extends."""
    rows = session.exec(
        select(AuditEvent.chain, AuditEvent.prev_hash, func.count()).group_by(
            col(AuditEvent.chain), col(AuditEvent.prev_hash)
        )
    ).all()
    return sum(count - 1 for _chain, _prev, count in rows)


def _verify_cli() -> str:
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def _operate(engine: Engine, agency_ids: list[str], thread: int, start: threading.Barrier, done: Counter[str]) -> None:
    """One thread's requests, each in its own session committing as a request does."""
    start.wait()
    for i in range(OPERATIONS):
        agency_id = agency_ids[(thread + i) % len(agency_ids)]
        with Session(engine, expire_on_commit=False) as db:
            kind = (thread + i) % 5
            if kind == 0:  # the audit event is the request's only write: the old fork
                audit.record(db, "test.system")
                appended = 1
            elif kind == 1:  # a read, then only the audit event
                db.get(Agency, agency_id)
                audit.record(db, "test.view", actor_id=f"t{thread}", agency_id=agency_id, object_id=str(i))
                appended = 1
            elif kind == 2:  # a business write flushed first (a new agency: a new chain, too), then its audit
                agency = Agency(name=f"Agency {thread}-{i}", kind="other")
                db.add(agency)
                db.flush()
                audit.record(db, "test.create", agency_id=agency.id)
                audit.record(db, "test.create", agency_id=agency_id)
                appended = 2
            elif kind == 3:  # one commit appending to three chains (locked in name order)
                for other in agency_ids:
                    audit.record(db, "test.many", agency_id=other)
                audit.record(db, "test.many")
                appended = len(agency_ids) + 1
            else:  # rolled back: the work did not happen, nor does its audit
                audit.record(db, "test.undone", agency_id=agency_id)
                db.rollback()
                audit.record(db, "test.after_rollback", agency_id=agency_id)
                appended = 1
            db.commit()
        done["events"] += appended


def test_concurrent_appends_never_fork(engine: Engine, session: Session, world: World) -> None:
    agency_ids = [world.agency("North").id, world.agency("East").id]
    done: Counter[str] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(thread: int) -> None:
        try:
            _operate(engine, agency_ids, thread, start, done)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    found = audit.check(session)
    assert found.breaks == []
    assert found.events == done["events"] == session.exec(select(func.count()).select_from(AuditEvent)).one()
    assert _forks(session) == 0
    assert session.exec(select(func.count()).where(AuditEvent.action == "test.undone")).one() == 0
    per_chain = Counter(session.exec(select(AuditEvent.chain)).all())
    assert per_chain[audit.SYSTEM_CHAIN] > THREADS and all(per_chain[a] > THREADS for a in agency_ids)
    heads = {h.name: h for h in session.exec(select(AuditChain))}
    assert {name: heads[name].position + 1 for name in per_chain} == dict(per_chain)
    assert f"intact: {done['events']} event(s) in {found.chains} chain(s)" in _verify_cli()
    print(f"audit: {THREADS} threads, {done['events']} events in {found.chains} chains, 0 forks")  # figures (-s)


def test_concurrent_requests_and_probes_leave_every_chain_whole(
    client: TestClient, session: Session, world: World
) -> None:
    """Through the app: users of two agencies read their own records while probing the other's."""
    north, east = world.agency("North"), world.agency("East")
    users = [world.user(north, "screener"), world.user(east, "screener")]
    keys, settings = crypto.get_key_ring(), get_settings()
    own = [
        records.create(
            session,
            keys,
            user,
            YouthCreate(given_name="Avery", family_name="Testcase", birth_date=date(2010, 4, 2), case_number=f"C-{n}"),
        ).id
        for n, user in enumerate(users)
    ]
    tokens = [sessions.start(session, user, "api", settings) for user in users]
    session.commit()
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(thread: int) -> None:
        mine = thread % 2
        http = TestClient(client.app, base_url="http://testserver")
        headers = {"Authorization": f"Bearer {tokens[mine]}"}
        try:
            start.wait()
            for i in range(12):
                target = own[mine] if i % 3 else own[1 - mine]  # every third read probes the other agency
                statuses[http.get(f"/api/v1/youth/{target}", headers=headers).status_code] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert statuses == Counter({200: 32, 404: 16})
    actions = Counter(session.exec(select(AuditEvent.action).where(col(AuditEvent.action) != "youth.create")).all())
    assert actions == Counter({"youth.view": 32, audit.DENIED: 16})
    assert audit.verify(session) is None and _forks(session) == 0
    assert "intact" in _verify_cli()


# Tampering ------------------------------------------------------------------------------------------------


def _chains(session: Session, world: World) -> dict[str, list[AuditEvent]]:
    """Three chains of four events each, committed."""
    a, b = world.agency("North").id, world.agency("East").id
    for i in range(4):
        for agency_id in (a, b, None):
            audit.record(session, "test.step", agency_id=agency_id, object_id=str(i))
        session.commit()
    by_chain: dict[str, list[AuditEvent]] = {}
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.chain), col(AuditEvent.position))):
        by_chain.setdefault(event.chain, []).append(event)
    assert audit.verify(session) is None
    return by_chain


def _broken(session: Session) -> str:
    session.commit()
    session.expire_all()
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1, result.output
    return result.output


def test_an_edited_event_is_named_by_chain_and_position(session: Session, world: World) -> None:
    middle = _chains(session, world)[audit.SYSTEM_CHAIN][1]
    session.execute(text("UPDATE audit_event SET object_id = 'forged' WHERE seq = :seq"), {"seq": middle.seq})
    output = _broken(session)
    assert f"event {middle.seq}: chain system, position 1: its contents do not match its hash" in output
    assert output.count("broken at") == 1  # the other chains are whole


def test_a_removed_last_event_is_found_at_the_chain_head(session: Session, world: World) -> None:
    chains = _chains(session, world)
    name = next(n for n in chains if n != audit.SYSTEM_CHAIN)
    session.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": chains[name][-1].seq})
    output = _broken(session)
    assert f"the head of chain {name}: the head names position 3 but the last event is at 2" in output
    broken = audit.verify(session)
    assert broken is not None and (broken.chain, broken.seq) == (name, None)


def test_an_event_moved_to_another_chain_is_found_in_both(session: Session, world: World) -> None:
    chains = _chains(session, world)
    source, target = sorted(n for n in chains if n != audit.SYSTEM_CHAIN)
    moved, following = chains[source][1], chains[source][2]
    # Moved to the end of the other chain, with the position it would have there, and the head moved on.
    session.execute(
        text("UPDATE audit_event SET chain = :target, position = 4, prev_hash = :prev WHERE seq = :seq"),
        {"target": target, "prev": chains[target][-1].hash, "seq": moved.seq},
    )
    session.execute(
        text("UPDATE audit_chain SET position = 4, hash = :hash WHERE name = :target"),
        {"hash": moved.hash, "target": target},
    )
    output = _broken(session)
    assert f"event {following.seq}: chain {source}, position 2: expected position 1" in output
    assert f"event {moved.seq}: chain {target}, position 4: its contents do not match its hash" in output


def test_a_rolled_back_transaction_leaves_no_audit_event(session: Session, world: World) -> None:
    agency = world.agency()
    audit.record(session, "test.undone", agency_id=agency.id)
    session.rollback()
    session.commit()
    assert session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all() == []
    event = audit.record(session, "test.kept", agency_id=agency.id)
    session.commit()
    assert (event.chain, event.position, event.prev_hash) == (agency.id, 0, audit.GENESIS)
    assert [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))] == ["test.kept"]


# The migration ---------------------------------------------------------------------------------------------


def _legacy_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """How events were hashed before chains (0009's audit.py), written out again here."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def test_existing_events_become_the_verified_global_chain(fresh: Engine) -> None:  # noqa: F811 (the fixture)
    run_migration(fresh, "upgrade", "0009_rescreen_due")
    legacy = sa.table(
        "audit_event",
        *(sa.column(name) for name in ("actor_id", "agency_id", "action", "object_type", "object_id", "outcome")),
        sa.column("at", UTCDateTime()),
        sa.column("detail", sa.JSON()),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    prev_hash = audit.GENESIS
    with fresh.begin() as connection:
        for i in range(5):
            body = {"at": utcnow(), "actor_id": "u1", "agency_id": "a1" if i % 2 else None, "action": "login"}
            body |= {"object_type": None, "object_id": None, "outcome": "ok", "detail": {"n": i}}
            hashed = _legacy_hash(prev_hash, body | {"at": body["at"].isoformat()})
            connection.execute(sa.insert(legacy).values(**body, prev_hash=prev_hash, hash=hashed))
            prev_hash = hashed

    run_migration(fresh, "upgrade", "head")
    with Session(fresh) as db:
        before = audit.check(db)
        assert (before.breaks, before.events, before.chains) == ([], 5, 1)
        assert db.get(AuditChain, audit.LEGACY_CHAIN) == AuditChain(name="global", position=4, hash=prev_hash)
        audit.record(db, "test.after", agency_id="a1")
        audit.record(db, "test.after")
        db.commit()
        after = audit.check(db)
        assert (after.breaks, after.events, after.chains) == ([], 7, 3)

    run_migration(fresh, "downgrade", "0009_rescreen_due")
    with fresh.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM audit_event")).scalar_one() == 7
    assert "audit_chain" not in sa.inspect(fresh).get_table_names()
