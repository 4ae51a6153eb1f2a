"""The audit chain holds no lock that every request shares (issue 14).

A transaction locks its agency's chain head only in `before_commit`, as its last lock, until COMMIT.
Here one transaction is stopped right there, holding a chain head uncommitted, while requests run:

- PostgreSQL: another agency's request completes meanwhile; a request of the same agency completes
  everything else and waits only at the head's UPDATE, then follows the held event in the chain.
- SQLite lets one writer in at a time (the database's write lock), so there every writer waits for the
  holder; the requests complete once it commits and the chains are whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, select

from app import audit
from app.models import AuditEvent, Screening, YouthSession
from tests.app.conftest import PASSWORD, World
from tests.app.test_portal import issue_link, self_screening

PATIENCE = 60  # seconds before a test that would otherwise hang gives up (a liveness bound, not a timing test)


class Held:
    """A transaction stopped inside its COMMIT, after the audit appended its event (head row locked)."""

    def __init__(self, engine: Engine, agency_id: str | None) -> None:
        self.session = Session(engine, expire_on_commit=False)
        self.event = audit.record(self.session, "test.held", agency_id=agency_id)
        self.locked, self.release = threading.Event(), threading.Event()
        event.listen(self.session, "after_flush", self._stop)
        self.thread = threading.Thread(target=self._commit)
        self.errors: list[BaseException] = []

    def _stop(self, session: Session, _context: Any) -> None:
        if any(isinstance(row, AuditEvent) for row in session.new):  # the audit's flush, in the commit:
            self.locked.set()  # the head's UPDATE has run, the event is being inserted; COMMIT comes next
            self.release.wait(PATIENCE)

    def _commit(self) -> None:
        try:
            self.session.commit()
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.session.close()

    @property
    def holding(self) -> bool:
        """Still uncommitted, the head still locked."""
        return self.thread.is_alive() and not self.release.is_set()


@contextmanager
def holding_chain(engine: Engine, agency_id: str | None) -> Iterator[Held]:
    held = Held(engine, agency_id)
    held.thread.start()
    assert held.locked.wait(PATIENCE), "the holder reached its commit"
    try:
        yield held
    finally:
        held.release.set()
        held.thread.join(PATIENCE)
    assert held.errors == []


class Request(threading.Thread):
    """One HTTP request in a thread of its own; `result` once it returns."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__()
        self.call, self.result, self.error = call, None, None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:
            self.error = exc


def _sign_in(client: TestClient, email: str) -> Request:
    http = TestClient(client.app, base_url="http://testserver")
    data = {"email": email, "password": PASSWORD, "next": "/"}
    request = Request(lambda: http.post("/login", data=data, follow_redirects=False))
    request.start()
    return request


def _waiting_on_a_chain_head(engine: Engine) -> bool:
    with engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%audit_chain%'"
            )
        ).scalar_one()
    return bool(waiting)


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for: {what}"
        time.sleep(0.02)


def _chain_actions(session: Session, chain: str) -> list[str]:
    session.expire_all()
    query = select(AuditEvent.action).where(AuditEvent.chain == chain).order_by(col(AuditEvent.position))
    return list(session.exec(query).all())


def test_an_agency_holding_its_chain_holds_up_only_its_own_commits(
    engine: Engine, client: TestClient, session: Session, world: World
) -> None:
    north, east = world.agency("North"), world.agency("East")
    north_user, east_user = world.user(north), world.user(east)
    postgres = engine.dialect.name == "postgresql"
    audit.record(session, "test.earlier", agency_id=north.id)  # North's chain exists (its head row is committed)
    session.commit()

    with holding_chain(engine, north.id) as held:
        other_agency = _sign_in(client, east_user.email)
        same_agency = _sign_in(client, north_user.email)
        if postgres:
            other_agency.join(PATIENCE)
            assert not other_agency.is_alive() and held.holding, "East's sign-in waited for North's chain"
            _until(lambda: _waiting_on_a_chain_head(engine), "North's sign-in to reach its chain head")
            assert same_agency.is_alive() and held.holding, "North's sign-in got past its chain head"
    for request in (other_agency, same_agency):
        request.join(PATIENCE)
        assert request.error is None and request.result is not None
        assert request.result.status_code == 303, request.result.text

    assert _chain_actions(session, north.id) == [
        "test.earlier",
        "test.held",
        "login",
    ]  # the waiting append follows the held one
    assert _chain_actions(session, east.id) == ["login"]
    assert audit.verify(session) is None


def test_youth_sessions_ending_do_not_share_a_chain_across_agencies(
    engine: Engine, client: TestClient, session: Session, world: World
) -> None:
    """Once, every youth session's end (quick exit, pause, finish) was appended to the chain without agency."""
    screening_id, _auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app, base_url="http://testserver")
    assert youth.post("/go", data={"code": code, "link_token": link}).status_code == 200

    with holding_chain(engine, None) as held:  # the chain of events with no agency
        left = Request(lambda: youth.get("/exit", follow_redirects=False))
        left.start()
        if engine.dialect.name == "postgresql":
            left.join(PATIENCE)
            assert not left.is_alive() and held.holding, "the quick exit waited for the chain of events without agency"
    left.join(PATIENCE)
    assert left.error is None and left.result is not None and left.result.status_code == 303

    ended = session.exec(select(YouthSession)).one()
    assert ended.ended_reason == "exit"
    exits = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "youth_session.exit")
    ).all()
    screening = session.get(Screening, screening_id)
    assert screening is not None and [e.chain for e in exits] == [screening.agency_id]
    assert audit.verify(session) is None
