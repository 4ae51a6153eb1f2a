"""Passwords: argon2id hashes, the password policy, and upgrading weaker hashes at sign-in."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import argon2
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from app import demo, i18n
from app.accounts import passwords
from app.crypto import get_key_ring
from app.demo import DEMO_PASSWORD
from app.main import loaded_instruments
from app.models import User
from app.settings import Settings, get_settings
from tests.app.accounts_support import reload, token_request, web_sign_in
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


# 20 common weak passwords (SecLists' top lists), the probes' findings, and the user's own details.
# Everyone here is "Jane Doe" <jane.doe7@riverbend.example.org> of "Riverbend Youth Services".
NAME, EMAIL, AGENCY = "Jane Doe", "jane.doe7@riverbend.example.org", "Riverbend Youth Services"
CLOSE = "too close to your email, name or agency"
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
    (EMAIL, CLOSE),
    ("jane.doe2024", CLOSE),
    ("Jane Doe 1", CLOSE),
    ("tellonce2026", "too common"),
    # the outside probe's: name + digits or a year, in either order, with or without separators
    ("JaneDoe2010", CLOSE),
    ("janedoe123", CLOSE),
    ("Doe.Jane.2026", CLOSE),
    # the published demo password, a season + year, an agency + year, the agency's own name
    (DEMO_PASSWORD, "too common"),
    ("Spring2026!", "too common"),
    ("Harbor2026!", "too easy to guess"),
    ("Riverbend2026!", CLOSE),
    ("riverbend youth services", CLOSE),
    # one letter repeated, in two cases (zxcvbn alone reads "Jjjj..." as random letters)
    ("Jjjjjjjjjjjjjjjj1", "too easy to guess"),
    ("short", "at least 8 characters"),
    ("1234567", "at least 8 characters"),
]


def _jane(client: TestClient, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """An agency admin's bearer header, and a new user Jane Doe of Riverbend Youth Services (without a password)."""
    agency = world.agency(AGENCY)
    auth = bearer(client, world.user(agency, "agency_admin"))
    return auth, {"agency_id": agency.id, "email": EMAIL, "display_name": NAME, "role": "screener"}


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_weak_passwords_are_refused_with_a_clear_message(
    client: TestClient, world: World, session: Session, password: str, message: str
) -> None:
    auth, new = _jane(client, world)
    response = client.post("/api/v1/users", headers=auth, json={**new, "password": password})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
    assert message in response.json()["message"]
    assert response.json()["detail"] == {"field": "password"}
    assert password.strip() == "" or password not in response.text  # never echoed
    reload(session)
    assert session.exec(select(User).where(User.email == EMAIL)).first() is None


@pytest.mark.parametrize("password", ["JaneDoe2010", "Spring2026!", "riverbend youth services", "Jjjjjjjjjjjjjjjj1"])
def test_the_admin_form_refuses_the_same_weak_passwords(
    client: TestClient, world: World, session: Session, password: str
) -> None:
    agency = world.agency(AGENCY)
    csrf = web_sign_in(client, world.user(agency, "agency_admin").email)
    new = {"agency_id": agency.id, "email": EMAIL, "display_name": NAME, "role": "screener", "password": password}
    page = client.post("/admin/users", data={"csrf_token": csrf, **new})
    assert page.status_code == 400 and "error-summary" in page.text
    assert password not in page.text
    reload(session)
    assert session.exec(select(User).where(User.email == EMAIL)).first() is None


@pytest.mark.parametrize("length", [passwords.MAX_LENGTH + 1, 10_000])
def test_too_long_a_password_has_one_bound_and_one_message(client: TestClient, world: World, length: int) -> None:
    auth, new = _jane(client, world)
    response = client.post("/api/v1/users", headers=auth, json={**new, "password": "x" * length})
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"][-1] == "password"
    assert problem["msg"] == passwords.password_problem("x" * length) == "Use at most 128 characters."
    assert "x" * 20 not in response.text
    schema = client.get("/openapi.json").json()["components"]["schemas"]["UserCreate"]["properties"]["password"]
    assert schema["maxLength"] == passwords.MAX_LENGTH == 128


def test_weak_password_messages_are_translated() -> None:
    with i18n.rendering_in("es"):
        assert str(passwords.password_problem("qwerty12")) != "That password is too common. Choose another."
        assert str(passwords.password_problem("aaaaaaaa")).startswith("Esa contraseña")
        assert str(passwords.password_problem("ana.diaz99", email="ana.diaz@example.org")).startswith("Esa contraseña")
        assert "agencia" in str(passwords.password_problem("Riverbend2026!", agency_name=AGENCY))


STRONG = [
    "correct horse battery staple",
    "Vivid-Lantern-Harvest-92",
    "Quiet-Orchard-Lamp-417",
    "q7RvX2mTf9LkWp",  # a random string from a password manager
    "onlylowercaseletters",
    "émoji 🙂 pass phrase",
    "seven lanterns drift over the quiet harbour while gulls argue",  # 62 characters, no digits or capitals
    "the kettle sang softly " * 5 + "at dawn",  # 122 characters
]


@pytest.mark.parametrize("password", STRONG)
def test_no_composition_rules(client: TestClient, world: World, password: str) -> None:
    auth, new = _jane(client, world)
    created = client.post("/api/v1/users", headers=auth, json={**new, "password": password})
    assert created.status_code == 201, created.text
    assert token_request(client, EMAIL, password).status_code == 200


def test_random_twelve_character_strings_pass() -> None:
    alphabet = string.ascii_letters + string.digits
    for _ in range(50):
        password = "".join(secrets.choice(alphabet) for _ in range(12))
        assert passwords.password_problem(password, email=EMAIL, display_name=NAME, agency_name=AGENCY) is None


def test_the_demo_seeds_its_synthetic_users_with_the_demo_password(client: TestClient, session: Session) -> None:
    """The demo skips the policy for its own invented people only; anyone else is refused that password."""
    assert passwords.password_problem(DEMO_PASSWORD) is not None
    assert demo.seed(session, get_key_ring(), loaded_instruments())
    session.commit()
    email = demo.logins()[0][2]
    assert token_request(client, email, DEMO_PASSWORD).status_code == 200


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
