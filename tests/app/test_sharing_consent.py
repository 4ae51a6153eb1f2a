"""Consent decides every cross-agency read: none, too narrow, to someone else, or expired gives nothing.
[DESIGN §7; SECURITY.md Access 1-2]"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import utcnow
from app.models_sharing import Consent
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    add_youth,
    candidates,
    consent,
    link,
    screen,
    section,
    side,
    timeline_ids,
)

REFUSED = "Linking needs the youth's consent"


def _started_answers(client: TestClient, at: object, youth_id: str) -> dict[str, object]:
    started = client.post(
        "/api/v1/screenings",
        headers=at.api,  # type: ignore[attr-defined]
        json={"youth_id": youth_id, "instrument_id": "tellonce-practitioner-indicators", "mode": "practitioner"},
    )
    assert started.status_code == 201, started.text
    return dict(started.json()["answers"])


def test_without_consent_linking_is_refused_with_the_plain_message(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    done = screen(client, a, add_youth(client, a, "NS-1"))
    youth_b = add_youth(client, b, "ES-1", KATE)
    refused = link(client, b, youth_b)
    assert refused.status_code == 400
    assert REFUSED in refused.json()["detail"]
    csrf = sign_in(client, b.users["screener"])
    (handle,) = candidates(client, b, youth_b)
    page = client.post(f"/youth/{youth_b}/links", data={"csrf_token": csrf, "candidate": handle})
    assert page.status_code == 400 and REFUSED in html.unescape(page.text)
    made_up = client.post(f"/api/v1/youth/{youth_b}/links", headers=b.api, json={"candidate": done["id"]})
    assert made_up.status_code == 404  # a record id is not a handle: nothing can be linked by guessing
    assert client.get(f"/screenings/{done['id']}/result").status_code == 404
    assert timeline_ids(client, b, youth_b) == []


def test_a_summary_only_consent_shows_the_result_but_carries_no_answers(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    consent(client, a, youth_a, b, categories=("result_summary",))
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    assert timeline_ids(client, b, youth_b) == [done["id"]]
    sign_in(client, b.users["screener"])
    result = client.get(f"/screenings/{done['id']}/result")
    assert result.status_code == 200 and "Evidence" not in result.text  # the evidence quotes answers
    assert _started_answers(client, b, youth_b) == {}
    kinds = {line["kind"] for line in client.get(f"/api/v1/youth/{youth_b}/disclosures", headers=b.api).json()}
    assert kinds == {"view"}


def test_a_consent_to_another_agency_gives_nothing(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    c = side(client, world, "Westside Health Clinic", "health")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    consent(client, a, youth_a, c)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 400
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 404
    assert timeline_ids(client, b, youth_b) == [] and _started_answers(client, b, youth_b) == {}
    assert client.get(f"/api/v1/youth/{youth_b}/consents", headers=b.api).json() == []


def test_an_expired_consent_gives_nothing(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    done = screen(client, a, youth_a)
    given = consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    assert timeline_ids(client, b, youth_b) == [done["id"]]
    row = world.session.get(Consent, given["id"])
    assert row is not None
    row.starts_at, row.ends_at = utcnow() - timedelta(days=30), utcnow() - timedelta(minutes=1)
    world.session.add(row)
    world.session.commit()
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 404
    assert timeline_ids(client, b, youth_b) == [] and _started_answers(client, b, youth_b) == {}
    listed = client.get(f"/api/v1/youth/{youth_b}/consents", headers=b.api).json()
    assert [(c["id"], c["active"]) for c in listed] == [(given["id"], False)]
    sign_in(client, b.users["screener"])
    assert "Expired" in section(client.get(f"/youth/{youth_b}").text, "consents")


def test_recording_changing_and_revoking_a_consent_on_the_pages(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    csrf = sign_in(client, a.users["screener"])
    form = section(client.get(f"/youth/{youth_a}").text, "record-consent-heading")
    assert 'name="ends_at"' in form and "Eastside Child Welfare" in form
    assert f'value="{datetime.now(UTC).date().isoformat()}"' in form  # the start defaults to today
    fields = {"csrf_token": csrf, "to_agency_id": b.agency.id, "grantor": "youth", "authority": "Own consent at 16"}
    fields |= {"purpose": "care_coordination", "method": "written"}

    missing = client.post(f"/youth/{youth_a}/consents", data=fields)
    assert missing.status_code == 400
    assert "Choose at least one kind of information." in missing.text
    assert "Enter the end date. A release must end." in missing.text
    assert "Own consent at 16" in missing.text  # what was typed is kept
    ends = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    saved = client.post(
        f"/youth/{youth_a}/consents",
        data=fields | {"categories": ["result_summary", "notes"], "ends_at": ends},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    (first,) = world.session.exec(select(Consent)).all()
    assert first.categories == ["result_summary", "notes"] and first.ends_at.date().isoformat() == ends

    change = client.get(f"/youth/{youth_a}/consents/{first.id}/change")
    assert change.status_code == 200 and 'value="Own consent at 16"' in change.text
    assert 'id="c-category-notes" name="categories" value="notes" checked' in change.text
    changed = client.post(
        f"/youth/{youth_a}/consents/{first.id}/supersede",
        data=fields | {"categories": ["result_summary"], "ends_at": ends},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    world.session.expire_all()
    rows = {c.id: c for c in world.session.exec(select(Consent)).all()}
    (second,) = [c for c in rows.values() if c.id != first.id]
    assert rows[first.id].superseded_at is not None and second.supersedes == first.id
    listed = section(client.get(f"/youth/{youth_a}").text, "consents")
    assert "Replaced by a change" in listed and "Active" in listed

    revoked = client.post(
        f"/youth/{youth_a}/consents/{second.id}/revoke",
        data={"csrf_token": csrf, "reason": "The youth asked to stop sharing."},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    world.session.expire_all()
    assert world.session.get(Consent, second.id).revoked_at is not None  # type: ignore[union-attr]
    again = client.post(
        f"/youth/{youth_a}/consents/{second.id}/supersede",
        data=fields | {"categories": ["result_summary"], "ends_at": ends},
    )
    assert again.status_code == 409  # a revoked consent is not changed: a new one is recorded instead
    sign_in(client, b.users["screener"])
    assert client.get(f"/youth/{youth_a}/consents/{second.id}/change").status_code == 404


def test_the_api_refuses_a_consent_without_an_end_or_to_the_same_agency(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth_a = add_youth(client, a, "NS-1")
    body = {"to_agency_id": a.agency.id, "grantor": "youth", "authority": "Own consent"}
    body |= {"categories": ["result_summary"], "purpose": "care_coordination", "method": "written"}
    no_end = client.post(f"/api/v1/youth/{youth_a}/consents", headers=a.api, json=body)
    assert no_end.status_code == 422
    ends = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    to_self = client.post(f"/api/v1/youth/{youth_a}/consents", headers=a.api, json=body | {"ends_at": ends})
    assert to_self.status_code == 400 and to_self.json()["detail"] == {"field": "to_agency_id"}
