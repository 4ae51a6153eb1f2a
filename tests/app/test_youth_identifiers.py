"""Recording a partner's identifier for a youth when another request records it at the same moment: one wins, the
other is told it is taken (409), never a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import crypto
from app.models_sharing import YouthIdentifier
from app.records import identifiers
from app.records.identifiers import value_index
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer

SYSTEM = "https://partner.example.org/fhir/client-number"


@pytest.fixture
def recorded_meanwhile(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Rows another request commits just after the "already recorded?" check, before the insert's savepoint.

    Just before the savepoint, not inside it: on SQLite the savepoint's BEGIN takes this process's writer turn
    (app.sqlite_writes), so another request of the process waits for the first to end there, and the race this
    test is about happens in the moment before it (on PostgreSQL, at any moment)."""
    waiting: list[dict[str, Any]] = []
    real = identifiers.savepoint

    def other_request_first(db: Session) -> Any:
        if waiting:
            with Session(engine) as other:
                other.add(YouthIdentifier(**waiting.pop()))
                other.commit()
        return real(db)

    monkeypatch.setattr(identifiers, "savepoint", other_request_first)
    yield waiting


def test_an_identifier_recorded_by_another_request_meanwhile_is_a_conflict_not_an_error(
    client: TestClient, world: World, session: Session, recorded_meanwhile: list[dict[str, Any]]
) -> None:
    agency = world.agency("South", "shelter")
    user = world.user(agency, "supervisor")
    mine, theirs = support.youth(session, user, "S-1"), support.youth(session, user, "S-2")
    index = value_index(crypto.get_key_ring(), agency.id, SYSTEM, "C-7")
    row = {"agency_id": agency.id, "youth_id": theirs.id, "system": SYSTEM, "value_index": index}
    recorded_meanwhile.append(row | {"recorded_by": user.id})
    auth = bearer(client, user)

    answer = client.post(f"/api/v1/youth/{mine.id}/identifiers", headers=auth, json={"system": SYSTEM, "value": "C-7"})
    assert answer.status_code == 409, answer.text
    assert "for another youth already" in answer.json()["message"]
    session.expire_all()
    assert [r.youth_id for r in session.exec(select(YouthIdentifier))] == [theirs.id]  # the other request's only

    # The same identifier for the same youth, recorded meanwhile by a colleague: nothing to change, no error.
    recorded_meanwhile.append(row | {"youth_id": mine.id, "system": "urn:other", "recorded_by": user.id})
    recorded_meanwhile[-1]["value_index"] = value_index(crypto.get_key_ring(), agency.id, "urn:other", "C-7")
    same = client.post(
        f"/api/v1/youth/{mine.id}/identifiers", headers=auth, json={"system": "urn:other", "value": "C-7"}
    )
    assert same.status_code == 201, same.text
    session.expire_all()
    assert sorted(r.youth_id for r in session.exec(select(YouthIdentifier))) == sorted([theirs.id, mine.id])


def test_an_identifier_system_must_be_a_uri_and_nothing_is_recorded_otherwise(
    client: TestClient, world: World, session: Session
) -> None:
    agency = world.agency("South", "shelter")
    user = world.user(agency)
    mine = support.youth(session, user, "S-1")
    auth = bearer(client, user)
    url = f"/api/v1/youth/{mine.id}/identifiers"
    for vague in ("client number", "clinic", "https//missing-colon.example.org"):
        answer = client.post(url, headers=auth, json={"system": vague, "value": "C-7"})
        assert answer.status_code == 422 and "must be a URI" in answer.text, vague
    assert session.exec(select(YouthIdentifier)).all() == []
    for uri in (SYSTEM, "urn:oid:2.16.840.1.113883.4.1"):
        assert client.post(url, headers=auth, json={"system": uri, "value": "C-7"}).status_code == 201, uri
