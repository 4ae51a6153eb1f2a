"""Managing users and agencies: roles, agency scoping, stale writes, and the admin pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Agency, AuditEvent, Role, User
from tests.app.accounts_support import login, reload, web_sign_in
from tests.app.conftest import World, bearer


def _new_user(agency: Agency, **overrides: str) -> dict[str, str]:
    return {
        "agency_id": agency.id,
        "email": "added@example.org",
        "display_name": "Added Person",
        "role": "screener",
        "password": "a long and plain passphrase",
        **overrides,
    }


def _count_users(session: Session) -> int:
    reload(session)
    return len(session.exec(select(User)).all())


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["screener", "supervisor"])
def test_non_admins_are_refused(client: TestClient, world: World, role: str) -> None:
    agency = world.agency()
    user, other = world.user(agency, role), world.user(agency, "agency_admin")
    auth = bearer(client, user)
    assert client.get("/api/v1/users", headers=auth).json() == {
        "error": "forbidden",
        "detail": "Your role does not allow this.",
    }
    assert client.get("/api/v1/users", headers=auth).status_code == 403
    assert client.post("/api/v1/users", headers=auth, json=_new_user(agency)).status_code == 403
    patch = client.patch(f"/api/v1/users/{other.id}", headers=auth, json={"version": 1, "is_active": False})
    assert patch.status_code == 403
    assert client.post("/api/v1/agencies", headers=auth, json={"name": "New", "kind": "other"}).status_code == 403
    assert login(client, user.email).status_code == 303
    for page in ("/admin/users", "/admin/agencies"):
        response = client.get(page)
        assert response.status_code == 403
        assert "Your role does not allow this." in response.text
        assert other.email not in response.text


def test_agency_admin_sees_and_manages_only_their_agency(client: TestClient, world: World, session: Session) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    admin, colleague = world.user(north, "agency_admin"), world.user(north)
    outsider = world.user(south)
    auth = bearer(client, admin)
    listed = {u["email"] for u in client.get("/api/v1/users", headers=auth).json()}
    assert listed == {admin.email, colleague.email}
    assert [a["name"] for a in client.get("/api/v1/agencies", headers=auth).json()] == ["North"]

    other = client.patch(f"/api/v1/users/{outsider.id}", headers=auth, json={"version": 1, "is_active": False})
    assert other.status_code == 404
    assert other.json() == {"error": "not_found", "detail": "No such user."}
    unknown = client.patch("/api/v1/users/" + "0" * 32, headers=auth, json={"version": 1, "is_active": False})
    assert unknown.json() == other.json()  # the same answer as for a user that does not exist

    before = _count_users(session)
    assert client.post("/api/v1/users", headers=auth, json=_new_user(south)).status_code == 404
    assert client.post("/api/v1/users", headers=auth, json=_new_user(north, role="system_admin")).status_code in (
        403,
        404,
    )
    promote = client.patch(f"/api/v1/users/{colleague.id}", headers=auth, json={"version": 1, "role": "system_admin"})
    assert promote.status_code in (403, 404)
    assert _count_users(session) == before
    assert session.get(User, outsider.id).is_active  # type: ignore[union-attr]
    assert session.get(User, colleague.id).role == Role.screener  # type: ignore[union-attr]

    created = client.post("/api/v1/users", headers=auth, json=_new_user(north, role="supervisor"))
    assert created.status_code == 201 and created.json()["agency_id"] == north.id
    assert client.post("/api/v1/agencies", headers=auth, json={"name": "Mine", "kind": "other"}).status_code == 403


def test_agency_admin_cannot_demote_or_disable_a_system_admin(
    client: TestClient, world: World, session: Session
) -> None:
    agency = world.agency()
    admin, root = world.user(agency, "agency_admin"), world.user(agency, "system_admin")
    auth = bearer(client, admin)
    for change in ({"is_active": False}, {"role": "screener"}):
        response = client.patch(f"/api/v1/users/{root.id}", headers=auth, json={"version": 1, **change})
        assert response.status_code in (403, 404), response.text
    reload(session)
    stored = session.get(User, root.id)
    assert stored is not None and stored.is_active and stored.role == Role.system_admin and stored.version == 1


def test_admins_cannot_disable_themselves(client: TestClient, world: World) -> None:
    admin = world.user(world.agency(), "system_admin")
    auth = bearer(client, admin)
    response = client.patch(f"/api/v1/users/{admin.id}", headers=auth, json={"version": 1, "is_active": False})
    assert response.status_code == 400
    assert client.get("/api/v1/me", headers=auth).status_code == 200


def test_stale_version_is_a_conflict_and_changes_nothing(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "agency_admin"), world.user(agency)
    auth = bearer(client, admin)
    first = client.patch(f"/api/v1/users/{screener.id}", headers=auth, json={"version": 1, "display_name": "First"})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/users/{screener.id}", headers=auth, json={"version": 1, "role": "supervisor", "is_active": False}
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "conflict" and body["detail"] == {"current_version": 2} and body["message"]
    reload(session)
    stored = session.get(User, screener.id)
    assert stored is not None
    assert (stored.display_name, stored.role, stored.is_active, stored.version) == ("First", "screener", True, 2)
    assert client.get("/api/v1/me", headers=bearer(client, screener)).status_code == 200


def test_null_fields_in_a_patch_change_nothing(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "agency_admin"), world.user(agency)
    auth = bearer(client, admin)
    payload = {"version": 1, "role": None, "display_name": None, "is_active": None}
    response = client.patch(f"/api/v1/users/{screener.id}", headers=auth, json=payload)
    assert response.status_code in (200, 422), response.text
    reload(session)
    stored = session.get(User, screener.id)
    assert stored is not None and (stored.role, stored.display_name, stored.is_active) == (
        "screener",
        screener.display_name,
        True,
    )


def test_unknown_roles_and_fields_are_refused_or_ignored(client: TestClient, world: World, session: Session) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    admin, screener = world.user(north, "agency_admin"), world.user(north)
    auth = bearer(client, admin)
    bad_role = client.post("/api/v1/users", headers=auth, json=_new_user(north, role="superuser"))
    assert bad_role.status_code == 422 and bad_role.json()["error"] == "invalid_payload"
    moved = client.patch(
        f"/api/v1/users/{screener.id}", headers=auth, json={"version": 1, "agency_id": south.id, "password_hash": "x"}
    )
    assert moved.status_code == 200
    reload(session)
    stored = session.get(User, screener.id)
    assert stored is not None and stored.agency_id == north.id and stored.password_hash.startswith("$argon2id$")


# --- pages ----------------------------------------------------------------------------------------


class _Form(HTMLParser):
    """Collects form controls and labels, to check that every visible control has a label."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str | None] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "select", "textarea") and values.get("type") not in ("hidden", "submit"):
            self.controls.append(values.get("id"))
        if tag == "label" and values.get("for"):
            self.labels.add(values["for"] or "")


def _assert_labelled(html: str) -> None:
    parser = _Form()
    parser.feed(html)
    assert parser.controls, "the page has form controls"
    missing = [c for c in parser.controls if c is None or c not in parser.labels]
    assert not missing, f"controls without a label: {missing}"


def test_users_page_lists_users_with_forms(client: TestClient, world: World, session: Session) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    admin, colleague = world.user(north, "agency_admin"), world.user(north)
    outsider = world.user(south)
    colleague.display_name = "<script>alert('x')</script>"
    session.add(colleague)
    session.commit()
    csrf = web_sign_in(client, admin.email)
    page = client.get("/admin/users")
    assert page.status_code == 200
    html = page.text
    assert admin.email in html and colleague.email in html and outsider.email not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "South" not in html
    assert 'value="system_admin"' not in html  # an agency admin cannot give that role
    assert f'action="/admin/users/{colleague.id}"' in html
    assert f'action="/admin/users/{admin.id}"' not in html  # no form to change yourself
    assert 'name="version" value="1"' in html
    assert html.count(f'name="csrf_token" value="{csrf}"') >= 3  # logout, the user's row, add user
    assert "Never" in html  # the colleague has not signed in yet
    assert "8 characters" in html
    _assert_labelled(html)
    assert re.search(r'<input[^>]*type="password"[^>]*aria-describedby="new-password-hint"', html)


def test_add_user_on_the_page(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    admin = world.user(agency, "agency_admin")
    csrf = web_sign_in(client, admin.email)
    weak = client.post("/admin/users", data={"csrf_token": csrf, **_new_user(agency), "password": "short"})
    assert weak.status_code == 400
    assert "error-summary" in weak.text and "at least 8 characters" in weak.text
    assert 'value="added@example.org"' in weak.text  # what was typed is kept, except the password
    assert 'value="short"' not in weak.text
    common = client.post("/admin/users", data={"csrf_token": csrf, **_new_user(agency), "password": "password123"})
    assert common.status_code == 400 and "too common" in common.text
    assert _count_users(session) == 1

    added = client.post("/admin/users", data={"csrf_token": csrf, **_new_user(agency)}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/admin/users"
    reload(session)
    stored = session.exec(select(User).where(User.email == "added@example.org")).one()
    assert stored.agency_id == agency.id and stored.password_hash.startswith("$argon2id$")
    assert "added@example.org" in client.get("/admin/users").text
    events = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "user.create")
    ).all()
    assert [e.object_id for e in events] == [stored.id]


def test_change_role_and_stale_form_on_the_page(client: TestClient, world: World, session: Session) -> None:
    agency = world.agency()
    admin, screener = world.user(agency, "agency_admin"), world.user(agency)
    csrf = web_sign_in(client, admin.email)
    form = {"csrf_token": csrf, "version": "1", "role": "supervisor", "is_active": "on"}
    changed = client.post(f"/admin/users/{screener.id}", data=form, follow_redirects=False)
    assert changed.status_code == 303
    stale = client.post(f"/admin/users/{screener.id}", data={**form, "role": "agency_admin"})
    assert stale.status_code == 409
    assert "error-summary" in stale.text and "Someone else changed this user" in stale.text
    reload(session)
    stored = session.get(User, screener.id)
    assert stored is not None and (stored.role, stored.is_active, stored.version) == ("supervisor", True, 2)


def test_agencies_page_for_system_admins(client: TestClient, world: World, session: Session) -> None:
    home = world.agency("Home Agency")
    admin = world.user(home, "system_admin")
    csrf = web_sign_in(client, admin.email, "/admin/agencies")
    page = client.get("/admin/agencies")
    assert "Home Agency" in page.text
    _assert_labelled(page.text)
    assert 'value="victim_service"' in page.text
    added = client.post(
        "/admin/agencies",
        data={"csrf_token": csrf, "name": "Harbor <Shelter>", "kind": "shelter"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "Harbor &lt;Shelter&gt;" in client.get("/admin/agencies").text
    duplicate = client.post("/admin/agencies", data={"csrf_token": csrf, "name": "Home Agency", "kind": "other"})
    assert duplicate.status_code == 400
    assert "error-summary" in duplicate.text and "already exists" in duplicate.text
    bad_kind = client.post("/admin/agencies", data={"csrf_token": csrf, "name": "Odd", "kind": "cartel"})
    assert bad_kind.status_code == 400 and "error-summary" in bad_kind.text
    reload(session)
    assert sorted(a.name for a in session.exec(select(Agency))) == ["Harbor <Shelter>", "Home Agency"]
    # the new agency is offered when adding a user
    assert "Harbor &lt;Shelter&gt;" in client.get("/admin/users").text
