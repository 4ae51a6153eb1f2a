"""Web security: CSRF on forms, response headers, cookies in production, and the API's error shapes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import User
from app.settings import get_settings
from tests.app.accounts_support import COOKIE, login, reload, web_sign_in
from tests.app.conftest import World, bearer

NEW_USER = {
    "email": "csrf-victim@example.org",
    "display_name": "Created By Forgery",
    "role": "agency_admin",
    "password": "a long and plain passphrase",
}


def _other_client(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url="http://testserver")


# --- CSRF -----------------------------------------------------------------------------------------


def test_forms_without_a_valid_token_or_from_another_site_are_refused(
    client: TestClient, world: World, session: Session
) -> None:
    agency = world.agency()
    admin, other_admin = world.user(agency, "agency_admin"), world.user(agency, "system_admin")
    screener = world.user(agency)
    csrf = web_sign_in(client, admin.email)
    other = _other_client(client)
    other_csrf = web_sign_in(other, other_admin.email)
    assert other_csrf != csrf
    create = {**NEW_USER, "agency_id": agency.id}
    disable = {"version": "1", "role": "screener"}  # is_active unticked: would disable the screener
    attempts = [
        ("/admin/users", create, {}),
        ("/admin/users", {**create, "csrf_token": ""}, {}),
        ("/admin/users", {**create, "csrf_token": other_csrf}, {}),
        ("/admin/users", {**create, "csrf_token": csrf}, {"Origin": "https://evil.example"}),
        ("/admin/users", {**create, "csrf_token": csrf}, {"Origin": "http://testserver.evil.example"}),
        ("/admin/users", {**create, "csrf_token": csrf}, {"Origin": "http://testserver:8443"}),
        (f"/admin/users/{screener.id}", {**disable, "csrf_token": other_csrf}, {}),
        (f"/admin/users/{screener.id}", {**disable, "csrf_token": csrf}, {"Origin": "https://evil.example"}),
        (f"/admin/users/{screener.id}", disable, {}),
        ("/logout", {}, {}),
        ("/logout", {"csrf_token": other_csrf}, {}),
    ]
    for path, data, headers in attempts:
        response = client.post(path, data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (path, data, headers, response.status_code)
    reload(session)
    assert session.exec(select(User).where(User.email == NEW_USER["email"])).first() is None
    stored = session.get(User, screener.id)
    assert stored is not None and stored.is_active and stored.version == 1
    assert client.get("/admin/users", follow_redirects=False).status_code == 200  # logout did not happen
    # the same forms with the session's own token, from this site, work
    same_site = client.post(
        "/admin/users",
        data={**create, "csrf_token": csrf},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same_site.status_code == 303
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303


def test_a_form_post_without_a_session_goes_to_sign_in(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    response = client.post("/admin/users", data={**NEW_USER, "agency_id": agency.id}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    reload(session)
    assert session.exec(select(User)).first() is None


# --- headers --------------------------------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def test_security_headers_on_every_response(client: TestClient, world: World) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "agency_admin"), world.user(agency)
    auth = bearer(client, admin)
    responses = {
        "sign-in page": client.get("/login"),
        "failed sign-in": login(client, admin.email, "wrong password, again"),
        "api me": client.get("/api/v1/me", headers=auth),
        "api list": client.get("/api/v1/users", headers=auth),
        "api 401": client.get("/api/v1/me"),
        "api 403": client.get("/api/v1/users", headers=bearer(client, screener)),
        "api 404": client.get("/api/v1/no-such-thing", headers=auth),
        "api 422": client.post("/api/v1/youth", headers=auth, json={}),
        "page 404": client.get("/no-such-page"),
        "openapi": client.get("/openapi.json"),
        "redirect to sign in": client.get("/admin/users", follow_redirects=False),
    }
    web_sign_in(client, admin.email)
    responses["admin page"] = client.get("/admin/users")
    responses["page 403"] = client.get("/admin/agencies")
    for name, response in responses.items():
        headers = response.headers
        csp = _directives(headers.get("content-security-policy", ""))
        assert csp.get("frame-ancestors") == ["'none'"], name
        assert "script-src" in csp or "default-src" in csp, name
        script = csp.get("script-src", csp.get("default-src", []))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, name
        assert headers.get("x-content-type-options") == "nosniff", name
        # The sign-in page sends its real Origin with its form (POST /login refuses "null"); it links nowhere else.
        policy = "same-origin" if name in ("sign-in page", "failed sign-in") else "no-referrer"
        assert headers.get("referrer-policy") == policy, name
        assert headers.get("cache-control") == "no-store", name
        assert "strict-transport-security" not in headers, name  # plain HTTP in local development and tests


def test_docs_run_swagger_under_the_same_csp_as_every_page(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    csp = _directives(docs.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert "<script>" not in docs.text and client.get("/static/swagger-ui-bundle.js").status_code == 200
    assert docs.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_cacheable_but_still_protected(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in css.headers["content-security-policy"]


def test_production_cookie_is_host_prefixed_and_secure(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "environment", "production")
    user = world.user(world.agency())
    response = login(client, user.email)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-tellonce=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(a.startswith("domain=") for a in attributes)
    assert COOKIE not in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


# --- API errors -----------------------------------------------------------------------------------


def test_api_requires_a_valid_bearer_token(client: TestClient, world: World) -> None:
    user = world.user(world.agency())
    web_token = login(client, user.email).cookies.get(COOKIE)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": f"Basic {user.email}"},
        {"Authorization": f"Bearer {web_token}"},
    ):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "not_authenticated"
        assert response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
    youth = client.post("/api/v1/youth", json={"given_name": "A", "family_name": "B"})
    assert youth.status_code == 401  # authentication comes before payload checks
    assert youth.json()["error"] == "not_authenticated"


def test_422_only_for_payload_validation(client: TestClient, world: World) -> None:
    agency = world.agency()
    auth = bearer(client, world.user(agency, "agency_admin"))
    missing = client.post("/api/v1/youth", headers=auth, json={"given_name": "Only"})
    assert missing.status_code == 422
    body = missing.json()
    assert body["error"] == "invalid_payload"
    assert {tuple(e["loc"]) for e in body["detail"]} >= {("body", "family_name"), ("body", "birth_date")}
    assert "Only" not in missing.text  # the submitted values are not echoed back
    assert client.post("/api/v1/youth/search", headers=auth, json={}).json()["error"] == "invalid_payload"
    not_json = client.post("/api/v1/youth", headers={**auth, "Content-Type": "application/json"}, content=b"{not json")
    assert not_json.status_code == 422 and not_json.json()["error"] == "invalid_payload"
    # well-formed but wrong: a 400 with its own code, not a 422
    future = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "A", "family_name": "B", "birth_date": "2999-01-01", "case_number": "X-1"},
    )
    assert future.status_code == 400 and future.json()["error"] == "invalid_input"
    weak = client.post(
        "/api/v1/users",
        headers=auth,
        json={**NEW_USER, "agency_id": agency.id, "role": "screener", "password": "short"},
    )
    assert weak.status_code == 400 and weak.json()["error"] == "invalid_input"


def test_unknown_api_routes_answer_json(client: TestClient, world: World) -> None:
    auth = bearer(client, world.user(world.agency()))
    for headers in ({}, auth):
        response = client.get("/api/v1/no/such/route", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == "not_found"
    wrong_method = client.delete("/api/v1/me", headers=auth)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
