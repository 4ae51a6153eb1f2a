"""Every API operation lists in the OpenAPI the errors it can answer, from its one declaration
(`responses=responses(...)`, app.errors), and real error answers are what the document says."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import EVERY_ROUTE, ErrorBody
from tests.app.api_support import api_auth, youth_with_screening
from tests.app.conftest import World
from tests.app.raised_errors import raised_by

API = ("/api/", "/fhir/")
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def api_routes(app: FastAPI) -> list[Any]:
    routes = [r for r in iter_route_contexts(app.router.routes) if getattr(r, "path", "").startswith(API)]
    return [r for r in routes if hasattr(r, "endpoint")]


def error_schema_of(operation: dict[str, Any], status: int) -> Any:
    return operation["responses"][str(status)]["content"]["application/json"]["schema"]


def test_every_api_operation_lists_the_errors_it_can_answer_with_the_error_body(client: TestClient) -> None:
    """At least 401, 403, 413, 422 and 503 everywhere, plus the status of every error its code can raise."""
    app: FastAPI = client.app  # type: ignore[assignment]
    document = client.get("/openapi.json").json()
    assert "ErrorBody" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    routes = api_routes(app)
    assert len(routes) > 40
    missing = []
    for route in routes:
        for method in route.methods - {"HEAD"}:
            operation = document["paths"][route.path][method.lower()]
            expected = {cls.status for cls in EVERY_ROUTE} | {cls.status for cls in raised_by(route.endpoint)}
            listed = {int(s) for s in operation["responses"] if s.isdigit() and int(s) >= 400}
            if expected - listed:
                missing.append((method, route.path, sorted(expected - listed)))
            for status in listed:
                schema = error_schema_of(operation, status)
                assert schema == ERROR_BODY or ERROR_BODY in schema.get("anyOf", []), (method, route.path, status)
    assert not missing, missing


def test_a_status_is_listed_only_where_its_route_declares_it(client: TestClient) -> None:
    """The statuses come from each route, not from one list for all: reading an instrument cannot conflict."""
    paths = client.get("/openapi.json").json()["paths"]
    assert "409" not in paths["/api/v1/instruments"]["get"]["responses"]
    assert "409" in paths["/api/v1/screenings/{screening_id}/answers"]["put"]["responses"]
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert "429" not in paths["/api/v1/me"]["get"]["responses"]
    assert "410" in paths["/api/v1/referrals/{referral_id}/fhir"]["get"]["responses"]


def test_real_error_answers_have_a_documented_status_and_the_error_body(
    client: TestClient, session: Session, world: World
) -> None:
    """401, 403, 400, 404, 409 and 422 as the API answers them: each listed for its operation, with that code."""
    agency = world.agency()
    screener = api_auth(session, world.user(agency, "screener"))
    youth, screening = youth_with_screening(client, screener, "Ana", "EB-1")
    stale = {"version": screening["version"] + 5, "answers": {}}
    calls = [
        ("get", "/api/v1/me", "/api/v1/me", {}, {}, 401),
        ("get", "/api/v1/users", "/api/v1/users", screener, {}, 403),
        ("get", "/api/v1/reports/aggregate", "/api/v1/reports/aggregate", screener, {}, 403),
        ("get", "/api/v1/screenings/{screening_id}", "/api/v1/screenings/" + "0" * 32, screener, {}, 404),
        (
            "put",
            "/api/v1/screenings/{screening_id}/answers",
            f"/api/v1/screenings/{screening['id']}/answers",
            screener,
            {"json": stale},
            409,
        ),
        ("post", "/api/v1/youth", "/api/v1/youth", screener, {"json": {"given_name": 3}}, 422),
        (
            "post",
            "/api/v1/screenings",
            "/api/v1/screenings",
            screener,
            {"json": {"youth_id": youth["id"], "instrument_id": "no-such-instrument", "mode": "practitioner"}},
            400,
        ),
    ]
    paths = client.get("/openapi.json").json()["paths"]
    for method, template, url, headers, body, status in calls:
        response = client.request(method.upper(), url, headers=headers, **body)
        assert response.status_code == status, (url, response.status_code, response.text)
        documented = paths[template][method]["responses"]
        assert str(status) in documented, (template, status)
        answered = ErrorBody.model_validate(response.json())
        assert answered.error in documented[str(status)]["description"], (template, answered.error)
