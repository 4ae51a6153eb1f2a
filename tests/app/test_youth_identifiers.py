"""Recording a partner's identifier for a youth when another request records it at the same moment: one wins, the
other is told it is taken (409), never a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from app import crypto
from app.models_sharing import YouthIdentifier
from app.records.identifiers import value_index
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer

SYSTEM = "https://partner.example.org/fhir/client-number"


@pytest.fixture
def recorded_meanwhile(engine: Engine) -> Iterator[list[dict[str, Any]]]:
    """Rows another request commits just before the next flush that adds an identifier: after the "already
    recorded?" check, before the insert."""
    waiting: list[dict[str, Any]] = []

    def other_request(session: OrmSession, _context: Any, _instances: Any) -> None:
        if waiting and any(isinstance(o, YouthIdentifier) for o in session.new):
            with Session(engine) as other:
                other.add(YouthIdentifier(**waiting.pop()))
                other.commit()

    event.listen(OrmSession, "before_flush", other_request)
    yield waiting
    event.remove(OrmSession, "before_flush", other_request)


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
