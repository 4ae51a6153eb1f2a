"""Signing in and out: cookies, failures, rate limits, session expiry, disabling users, passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from app.models import AuditEvent, AuthSession, RateLimit, User, utcnow
from app.settings import get_settings
from tests.app.accounts_support import COOKIE, login, reload, token_request, web_sign_in
from tests.app.conftest import World, bearer

WRONG = "not the right password at all"
MISMATCH = "That email and password do not match an account."
TOO_MANY = "Too many sign-in attempts"


def _login_events(session: Session, outcome: str) -> list[AuditEvent]:
    reload(session)
    query = (
        select(AuditEvent)
        .order_by(col(AuditEvent.seq))
        .where(AuditEvent.action == "login", AuditEvent.outcome == outcome)
    )
    return list(session.exec(query))


# --- signing in -----------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_session_cookie(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency(), "agency_admin")
    response = login(client, user.email.upper(), next="/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    token = client.cookies[COOKIE]
    assert len(token) >= 32  # 256 random bits, url-safe base64
    # only a hash of the token is kept on the server
    reload(session)
    stored = session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
    assert stored.id != token and token not in stored.id
    assert client.get("/admin/users").status_code == 200
    assert _login_events(session, "ok")[0].actor_id == user.id


def test_next_only_goes_to_this_site(client: TestClient, world: World) -> None:
    user = world.user(world.agency())
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = login(client, user.email, next=target)
        assert response.headers["location"] == "/"


def test_wrong_password_is_a_plain_message_and_audited(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency())
    page = login(client, user.email, WRONG)
    assert page.status_code == 401
    assert MISMATCH in page.text
    assert WRONG not in page.text
    assert COOKIE not in client.cookies
    unknown = login(client, "nobody@example.org", WRONG)
    assert unknown.status_code == 401 and MISMATCH in unknown.text  # no hint which accounts exist
    api = token_request(client, user.email, WRONG)
    assert api.status_code == 401
    assert api.json()["error"] == "not_authenticated"
    # the failed attempts persist although the requests failed
    failed = _login_events(session, "failed")
    assert [e.actor_id for e in failed] == [user.id, None, user.id]
    assert session.exec(select(AuthSession)).first() is None


# --- rate limits ----------------------------------------------------------------------------------


def test_five_failures_block_the_account_from_that_address_only(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "trust_proxy_headers", True)
    agency = world.agency()
    target, bystander = world.user(agency), world.user(agency, "supervisor")
    here = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(get_settings().login_attempts_per_account_address):
        assert token_request(client, target.email, WRONG, headers=here).status_code == 401
    refused = token_request(client, target.email, headers=here)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_attempts"
    assert refused.json()["detail"]["retry_after_seconds"] > 0
    assert int(refused.headers["Retry-After"]) > 0
    page = login(client, target.email, headers=here)
    assert page.status_code == 429 and TOO_MANY in page.text and int(page.headers["Retry-After"]) > 0
    assert COOKIE not in client.cookies
    assert _login_events(session, "rate_limited")
    # the same address, another account: still under the per-address limit
    assert token_request(client, bystander.email, headers=here).status_code == 200
    # the same account from another address: the account-wide limit is looser
    assert token_request(client, target.email, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    # the limit is stored without the email in clear
    keys = [row.key for row in session.exec(select(RateLimit))]
    assert keys and not any(target.email in key for key in keys)


def test_per_address_limit_blocks_unknown_browsers_on_every_account(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_attempts_per_address", 7)
    agency = world.agency()
    users = [world.user(agency, role) for role in ("screener", "supervisor", "agency_admin")]
    for attempt in range(7):
        assert token_request(client, users[attempt % 2].email, WRONG).status_code == 401
    assert token_request(client, users[2].email).status_code == 429
    assert login(client, users[2].email).status_code == 429


def test_no_permanent_lockout(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_attempts_per_account_address", 2)
    user = world.user(world.agency())
    for _ in range(2):
        login(client, user.email, WRONG)
    assert login(client, user.email).status_code == 429
    # the window passes
    earlier = utcnow() - timedelta(minutes=get_settings().login_window_minutes, seconds=1)
    session.exec(update(RateLimit).values(window_started_at=earlier))  # type: ignore[call-overload]
    session.commit()
    assert login(client, user.email).status_code == 303


def test_a_short_window_expires_on_its_own_and_success_forgets_failures(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "login_attempts_per_account_address", 2)
    user = world.user(world.agency())
    for _ in range(2):
        token_request(client, user.email, WRONG)
    assert token_request(client, user.email).status_code == 429
    monkeypatch.setattr(settings, "login_window_minutes", 0)
    assert token_request(client, user.email).status_code == 200
    monkeypatch.setattr(settings, "login_window_minutes", 15)
    token_request(client, user.email, WRONG)
    assert token_request(client, user.email).status_code == 200  # the count started again from zero
    token_request(client, user.email, WRONG)
    assert token_request(client, user.email).status_code == 200


# --- sessions -------------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(client: TestClient, world: World, session: Session) -> None:
    admin = world.user(world.agency(), "agency_admin")
    csrf = web_sign_in(client, admin.email)
    old = client.cookies[COOKIE]
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.cookies.set(COOKIE, old)  # a copy of the cookie kept by someone
    again = client.get("/admin/users", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")
    reload(session)
    assert session.exec(select(AuthSession).where(AuthSession.user_id == admin.id)).one().ended_at is not None


def test_api_logout_revokes_the_token(client: TestClient, world: World) -> None:
    auth = bearer(client, world.user(world.agency()))
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def _age(session: Session, user: User, **values: object) -> None:
    session.exec(update(AuthSession).where(col(AuthSession.user_id) == user.id).values(**values))  # type: ignore[call-overload]
    session.commit()


def test_idle_session_is_refused_and_ended(client: TestClient, world: World, session: Session) -> None:
    admin = world.user(world.agency(), "agency_admin")
    web_sign_in(client, admin.email)
    idle = get_settings().session_idle_minutes
    _age(session, admin, last_seen_at=utcnow() - timedelta(minutes=idle, seconds=5))
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    reload(session)
    assert session.exec(select(AuthSession).where(AuthSession.user_id == admin.id)).one().ended_at is not None
    # touching it again does not revive it
    _age(session, admin, last_seen_at=utcnow())
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_absolute_expiry_is_refused_even_when_active(client: TestClient, world: World, session: Session) -> None:
    admin = world.user(world.agency(), "agency_admin")
    web_sign_in(client, admin.email)
    auth = bearer(client, admin)
    _age(session, admin, last_seen_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def _sessions_live(session: Session, user: User) -> list[AuthSession]:
    reload(session)
    return list(
        session.exec(select(AuthSession).where(AuthSession.user_id == user.id, col(AuthSession.ended_at).is_(None)))
    )


def test_disabling_on_the_admin_page_ends_sessions_and_tokens(
    client: TestClient, world: World, session: Session
) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "agency_admin"), world.user(agency)
    theirs = TestClient(client.app, base_url="http://testserver")
    assert login(theirs, screener.email).status_code == 303
    their_token = bearer(theirs, screener)
    assert len(_sessions_live(session, screener)) == 2

    csrf = web_sign_in(client, admin.email)
    form = {"csrf_token": csrf, "version": str(screener.version), "role": "screener"}  # is_active unticked
    response = client.post(f"/admin/users/{screener.id}", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text

    assert _sessions_live(session, screener) == []
    assert theirs.get("/admin/users", follow_redirects=False).status_code == 303
    assert theirs.get("/api/v1/me", headers=their_token).status_code == 401
    # a disabled user cannot sign in, with the same plain message
    refused = login(theirs, screener.email)
    assert refused.status_code == 401 and MISMATCH in refused.text
    assert token_request(theirs, screener.email).status_code == 401
    assert _login_events(session, "disabled")


def test_disabling_through_the_api_ends_sessions_and_reenabling_does_not_revive_them(
    client: TestClient, world: World, session: Session
) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "system_admin"), world.user(agency)
    their_token = bearer(client, screener)
    auth = bearer(client, admin)
    disabled = client.patch(f"/api/v1/users/{screener.id}", headers=auth, json={"version": 1, "is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=their_token).status_code == 401
    assert _sessions_live(session, screener) == []
    enabled = client.patch(f"/api/v1/users/{screener.id}", headers=auth, json={"version": 2, "is_active": True})
    assert enabled.status_code == 200
    assert client.get("/api/v1/me", headers=their_token).status_code == 401
    assert token_request(client, screener.email).status_code == 200


def test_a_web_session_is_not_an_api_token_and_back(client: TestClient, world: World) -> None:
    admin = world.user(world.agency(), "agency_admin")
    web_sign_in(client, admin.email)
    cookie = client.cookies[COOKIE]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401
    token = bearer(client, admin)["Authorization"].split()[1]
    client.cookies.clear()
    client.cookies.set(COOKIE, token)
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
