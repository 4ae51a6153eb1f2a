"""Passwords: argon2id hashes, the password policy, and upgrading weaker hashes at sign-in."""

from __future__ import annotations

import argon2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import passwords
from app.models import User
from tests.app.accounts_support import reload, token_request
from tests.app.conftest import PASSWORD, World, bearer

WRONG = "not the right password at all"


def test_passwords_are_stored_as_argon2id(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    new = {"agency_id": agency.id, "email": "new@example.org", "display_name": "New", "role": "screener"}
    created = client.post("/api/v1/users", headers=auth, json={**new, "password": "a long and plain passphrase"})
    assert created.status_code == 201, created.text
    assert "password" not in created.text
    reload(session)
    stored = session.get(User, created.json()["id"])
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in stored.password_hash
    assert not passwords.needs_rehash(stored.password_hash)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("1234567", "at least 8 characters"),
        ("password123", "too common"),
        ("PassWord1", "too common"),
        ("x" * 129, "at most 128 characters"),
    ],
)
def test_weak_passwords_are_refused_with_a_clear_message(
    client: TestClient, world: World, session: Session, password: str, message: str
) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    new = {"agency_id": agency.id, "email": "weak@example.org", "display_name": "Weak", "role": "screener"}
    response = client.post("/api/v1/users", headers=auth, json={**new, "password": password})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
    assert message in response.json()["message"]
    assert response.json()["detail"] == {"field": "password"}
    reload(session)
    assert session.exec(select(User).where(User.email == "weak@example.org")).first() is None


@pytest.mark.parametrize("password", ["onlylowercaseletters", "x" * 64, "émoji 🙂 pass phrase", "12345678x"])
def test_no_composition_rules(client: TestClient, world: World, password: str) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    new = {"agency_id": agency.id, "email": "ok@example.org", "display_name": "Ok", "role": "screener"}
    assert client.post("/api/v1/users", headers=auth, json={**new, "password": password}).status_code == 201
    assert token_request(client, "ok@example.org", password).status_code == 200


def test_weaker_hash_is_upgraded_at_sign_in(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency())
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    user.password_hash = weak
    session.add(user)
    session.commit()
    assert passwords.needs_rehash(weak)
    assert token_request(client, user.email).status_code == 200
    reload(session)
    upgraded = session.get(User, user.id)
    assert upgraded is not None
    assert upgraded.password_hash != weak
    assert upgraded.password_hash.startswith("$argon2id$") and not passwords.needs_rehash(upgraded.password_hash)
    assert token_request(client, user.email).status_code == 200
    assert token_request(client, user.email, WRONG).status_code == 401


def test_sign_in_page_has_labels(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
