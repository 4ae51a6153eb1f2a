"""API callers for tests: a bearer token without the password flow, and a youth with a screening to act on."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import sessions
from app.models import User
from app.settings import get_settings

PRACTITIONER = "tellonce-practitioner-indicators"


def api_auth(session: Session, user: User) -> dict[str, str]:
    """An Authorization header for `user` (a session started directly: no argon2 per test)."""
    token = sessions.start(session, user, "api", get_settings())
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def youth_with_screening(
    client: TestClient, auth: dict[str, str], given_name: str, case_number: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A youth added through the API and a practitioner screening of them, as the API returned them."""
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": given_name, "family_name": "Probe", "birth_date": "2010-02-03", "case_number": case_number},
    ).json()
    screening = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth["id"], "instrument_id": PRACTITIONER, "mode": "practitioner"},
    ).json()
    return youth, screening
