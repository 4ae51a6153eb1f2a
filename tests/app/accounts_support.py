"""Small helpers shared by the account and security tests (not a test module)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from app.models import metadata
from tests.app.conftest import PASSWORD

COOKIE = "tellonce_session"  # the session cookie's name outside production
CANARY = {
    "given_name": "Quillonius",
    "family_name": "Canarywright",
    "birth_date": "2009-07-14",
    "case_number": "CANARY-CASE-7731",
}
CANARY_NOTES = "Canary note: met Zebulon-Canary at the bus depot"


def login(
    client: TestClient, email: str, password: str = PASSWORD, next: str = "/", headers: dict[str, str] | None = None
) -> Any:
    """Post the sign-in form; no redirects followed."""
    data = {"email": email, "password": password, "next": next}
    return client.post("/login", data=data, headers=headers, follow_redirects=False)


def token_request(
    client: TestClient, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> Any:
    """Ask the API for a bearer token."""
    return client.post("/api/v1/auth/token", data={"username": email, "password": password}, headers=headers)


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def web_sign_in(client: TestClient, email: str, page: str = "/admin/users") -> str:
    """Sign in through the page and return the session's CSRF token (read from an admin page)."""
    response = login(client, email)
    assert response.status_code == 303, response.text
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    return csrf_from(shown.text)


def reload(session: Session) -> None:
    """End the test session's transaction and forget cached rows, to see what the app committed."""
    session.commit()
    session.expire_all()


def dump_table(session: Session, table: str) -> str:
    """Every row of a table as raw text (plain SQL, no type processing)."""
    rows = session.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608 (names come from our metadata)
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def dump_database(session: Session) -> dict[str, str]:
    """Every table's raw text, by table name."""
    return {table.name: dump_table(session, table.name) for table in metadata.sorted_tables}


def create_youth(client: TestClient, auth: dict[str, str], **overrides: str) -> dict[str, Any]:
    """Add the canary youth through the API."""
    response = client.post("/api/v1/youth", headers=auth, json={**CANARY, **overrides})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def screening_with_answers(client: TestClient, auth: dict[str, str], youth_id: str) -> dict[str, Any]:
    """Start a practitioner screening, save two answers and the canary notes, and complete it."""
    started = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth_id, "instrument_id": "tellonce-practitioner-indicators", "mode": "practitioner"},
    )
    assert started.status_code == 201, started.text
    screening = started.json()
    saved = client.put(
        f"/api/v1/screenings/{screening['id']}/answers",
        headers=auth,
        json={
            "version": screening["version"],
            "answers": {"rate_coercion_debt": "not_enough_info", "rate_housing_unstable": "possible_concern"},
            "notes": CANARY_NOTES,
        },
    )
    assert saved.status_code == 200, saved.text
    done = client.post(
        f"/api/v1/screenings/{screening['id']}/complete", headers=auth, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result
