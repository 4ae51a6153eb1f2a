"""A screener uses the API end to end: token, youth, screening, answers, completion, result."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import World, bearer


def test_practitioner_screening_through_the_api(client: TestClient, world: World) -> None:
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)

    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Avery", "family_name": "Testcase", "birth_date": "2010-04-02", "case_number": "NS-0001"},
    )
    assert youth.status_code == 201, youth.text
    youth_id = youth.json()["id"]
    found = client.post("/api/v1/youth/search", json={"case_number": "ns-0001"}, headers=auth)
    assert found.json()["id"] == youth_id

    started = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth_id, "instrument_id": "tellonce-practitioner-indicators", "mode": "practitioner"},
    )
    assert started.status_code == 201, started.text
    screening = started.json()
    assert screening["instrument_version"] == "1.3.0" and len(screening["content_hash"]) == 64

    saved = client.put(
        f"/api/v1/screenings/{screening['id']}/answers",
        headers=auth,
        json={
            "version": screening["version"],
            "answers": {"rate_coercion_debt": "clear_concern", "rate_housing_unstable": "not_enough_info"},
        },
    )
    assert saved.status_code == 200, saved.text
    version = saved.json()["version"]

    stale = client.put(
        f"/api/v1/screenings/{screening['id']}/answers",
        headers=auth,
        json={"version": screening["version"], "answers": {"rate_coercion_debt": "no_concern"}},
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "conflict"

    done = client.post(f"/api/v1/screenings/{screening['id']}/complete", headers=auth, json={"version": version})
    assert done.status_code == 200, done.text
    assert done.json()["overall_level"] == "clear_concern"

    result = client.get(f"/api/v1/screenings/{screening['id']}/result", headers=auth).json()
    assert result["overall"] == "clear_concern"
    assert "coercion.debt" in result["reason"]["indicators"]
    debt = next(i for i in result["indicators"] if i["id"] == "coercion.debt")
    assert debt["evidence"][0]["item_id"] == "rate_coercion_debt"
    housing = next(i for i in result["indicators"] if i["id"] == "housing.unstable")
    assert housing["level"] == "unknown"
    assert result["completeness"]["not_enough_info"] == 1


def test_other_agency_gets_not_found(client: TestClient, world: World) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    own, other = bearer(client, world.user(north)), bearer(client, world.user(south))
    youth = client.post(
        "/api/v1/youth",
        headers=own,
        json={"given_name": "Rowan", "family_name": "Example", "birth_date": "2009-01-01", "case_number": "N-1"},
    ).json()
    response = client.get(f"/api/v1/youth/{youth['id']}", headers=other)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such youth."}
