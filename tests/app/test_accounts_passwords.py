"""Passwords: argon2id hashes, the password policy, and upgrading weaker hashes at sign-in."""

from __future__ import annotations

from pathlib import Path

import argon2
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from app import i18n
from app.accounts import passwords
from app.demo import DEMO_PASSWORD
from app.models import User
from app.settings import Settings, get_settings
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
    settings = get_settings()  # the suite runs cheap hashes; production's are checked below
    assert f"m={settings.password_hash_memory_kib},t={settings.password_hash_time_cost},p=4" in stored.password_hash
    assert not passwords.needs_rehash(stored.password_hash)


def test_production_hashes_at_argon2ids_defaults_and_refuses_less(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cost in ("TELLONCE_PASSWORD_HASH_TIME_COST", "TELLONCE_PASSWORD_HASH_MEMORY_KIB"):
        monkeypatch.delenv(cost, raising=False)  # the suite's cheap costs
    defaults = Settings(_env_file=None, environment="development")
    assert (defaults.password_hash_time_cost, defaults.password_hash_memory_kib) == (3, 65536)
    defaults_hasher = argon2.PasswordHasher()
    assert (defaults_hasher.time_cost, defaults_hasher.memory_cost) == (3, 65536)  # the library's own defaults
    production = {"environment": "production", "data_dir": tmp_path}
    assert Settings(_env_file=None, **production).password_hash_memory_kib == 65536
    for cheap in ({"password_hash_time_cost": 1}, {"password_hash_memory_kib": 1024}):
        with pytest.raises(ValidationError, match="PASSWORD_HASH"):
            Settings(_env_file=None, **production, **cheap)


# 20 common weak passwords (SecLists' top lists, the probe's findings), and the user's own details.
WEAK = [
    ("qwerty12", "too common"),
    ("aaaaaaaa", "too easy to guess"),
    ("P@ssw0rd", "too common"),
    ("Summer2024", "too common"),
    ("        ", "too easy to guess"),
    ("password1", "too common"),
    ("iloveyou", "too common"),
    ("Password123!", "too common"),
    ("Welcome1", "too common"),
    ("letmein1", "too common"),
    ("abc12345", "too common"),
    ("11111111", "too common"),
    ("Qwerty123", "too common"),
    ("monkey123", "too common"),
    ("dragon2020", "too common"),
    ("trustno1", "too common"),
    ("sunshine1", "too common"),
    ("football1", "too common"),
    ("PassWord1", "too common"),
    ("12345678x", "too common"),
    ("weak.person@example.org", "too close to your email or name"),
    ("weak.person2024", "too close to your email or name"),
    ("Wanda Weakley 1", "too close to your email or name"),
    ("tellonce2026", "too common"),
    ("short", "at least 8 characters"),
    ("1234567", "at least 8 characters"),
    ("x" * 129, "at most 128 characters"),
]


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_weak_passwords_are_refused_with_a_clear_message(
    client: TestClient, world: World, session: Session, password: str, message: str
) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    new = {"agency_id": agency.id, "email": "weak.person@example.org", "display_name": "Wanda Weakley"}
    response = client.post("/api/v1/users", headers=auth, json={**new, "role": "screener", "password": password})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
    assert message in response.json()["message"]
    assert response.json()["detail"] == {"field": "password"}
    assert password.strip() == "" or password not in response.text  # never echoed
    reload(session)
    assert session.exec(select(User).where(User.email == "weak.person@example.org")).first() is None


def test_weak_password_messages_are_translated() -> None:
    with i18n.rendering_in("es"):
        assert str(passwords.password_problem("qwerty12")) != "That password is too common. Choose another."
        assert str(passwords.password_problem("aaaaaaaa")).startswith("Esa contraseña")
        assert str(passwords.password_problem("ana.diaz99", email="ana.diaz@example.org")).startswith("Esa contraseña")


STRONG = [
    "correct horse battery staple",
    DEMO_PASSWORD,
    "onlylowercaseletters",
    "émoji 🙂 pass phrase",
    "seven lanterns drift over the quiet harbour while gulls argue",  # 62 characters, no digits or capitals
    "the kettle sang softly " * 5 + "at dawn",  # 122 characters
]


@pytest.mark.parametrize("password", STRONG)
def test_no_composition_rules(client: TestClient, world: World, password: str) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    new = {"agency_id": agency.id, "email": "ok@example.org", "display_name": "Ok", "role": "screener"}
    created = client.post("/api/v1/users", headers=auth, json={**new, "password": password})
    assert created.status_code == 201, created.text
    assert token_request(client, "ok@example.org", password).status_code == 200


def test_weaker_hash_is_upgraded_at_sign_in(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency())
    # weaker than whatever is configured (the suite's cheap 1 MiB, or production's 64 MiB)
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=256).hash(PASSWORD)
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
    parameters = argon2.extract_parameters(upgraded.password_hash)
    settings = get_settings()
    assert (parameters.memory_cost, parameters.time_cost) == (
        settings.password_hash_memory_kib,
        settings.password_hash_time_cost,
    )
    assert parameters.memory_cost > argon2.extract_parameters(weak).memory_cost
    assert token_request(client, user.email).status_code == 200
    assert token_request(client, user.email, WRONG).status_code == 401


def test_sign_in_page_has_labels(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
