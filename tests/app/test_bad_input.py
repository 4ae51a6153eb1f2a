"""Bad input never reaches a 500: the probe's cases each answer a small, located 4xx and change nothing.

The table holds what an outside probe sent (NUL characters in names, emails, ids and the unauthenticated
token endpoint; a lone surrogate in an answer; a version of 2^63; a number of 10^400; JSON `true` for a
number; a birth date of 0; JSON nested 150 deep; a 10 MB body; a flood of unknown keys) and what the
answer must say: its status, and where in the request the problem is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Agency, User, Youth
from tests.app import fhir_support
from tests.app.accounts_support import dump_database, reload
from tests.app.api_support import api_auth, youth_with_screening
from tests.app.conftest import World, bearer, sign_in

SMALL = 4096  # bytes: an error says what and where, and never echoes the request back
INSTRUMENT = "tellonce-practitioner-indicators"
ITEM = "rate_coercion_debt"


@dataclass
class Setup:
    """A signed-in system admin (API) whose agency holds a youth with a screening in progress."""

    client: TestClient
    auth: dict[str, str]
    agency: Agency
    admin: User
    youth_id: str
    screening_id: str
    version: int


@pytest.fixture
def setup(client: TestClient, world: World, session: Session) -> Setup:
    agency = world.agency()
    admin = world.user(agency, "system_admin")
    auth = api_auth(session, admin)
    youth, screening = youth_with_screening(client, auth, "Ada", "BI-1")
    return Setup(client, auth, agency, admin, youth["id"], screening["id"], screening["version"])


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"resourceType": "Bundle"}
    for _ in range(depth):
        value = {"resourceType": "Bundle", "entry": [value]}
    return value


def _json(s: Setup, method: str, path: str, text: str) -> Any:
    return s.client.request(
        method, path, content=text.encode("utf-8"), headers={**s.auth, "Content-Type": "application/json"}
    )


def _answers(s: Setup, raw_answers: str, version: str | None = None) -> Any:
    body = f'{{"version": {version or s.version}, "answers": {raw_answers}}}'
    return _json(s, "PUT", f"/api/v1/screenings/{s.screening_id}/answers", body)


def _youth(s: Setup, **fields: Any) -> Any:
    body = {"given_name": "Ben", "family_name": "Probe", "birth_date": "2011-05-06", "case_number": "BI-2", **fields}
    return s.client.post("/api/v1/youth", headers=s.auth, json=body)


def _streamed(size: int) -> Iterator[bytes]:
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk


# name -> (request, expected status, expected location: the loc of the first problem, or None for 413)
CASES: dict[str, tuple[Callable[[Setup], Any], int, list[Any] | None]] = {
    "NUL in the username of the (unauthenticated) token endpoint": (
        lambda s: s.client.post("/api/v1/auth/token", data={"username": "a\x00b@example.org", "password": "x"}),
        422,
        ["body", "username"],
    ),
    "NUL in a new user's email": (
        lambda s: s.client.post(
            "/api/v1/users",
            headers=s.auth,
            json={"agency_id": s.agency.id, "email": "a\x00b@example.org", "display_name": "N", "role": "screener"}
            | {"password": "a long and plain passphrase"},
        ),
        422,
        ["body", "email"],
    ),
    "NUL in a youth's name": (lambda s: _youth(s, given_name="Ben\x00"), 422, ["body", "given_name"]),
    "NUL in an id in the path": (
        lambda s: s.client.get("/api/v1/youth/abc%00def", headers=s.auth),
        422,
        ["path"],
    ),
    "NUL in a query parameter": (
        lambda s: s.client.get("/api/v1/referrals", params={"box": "inbox\x00"}, headers=s.auth),
        422,
        ["query", "box"],
    ),
    "a lone surrogate in a text answer": (
        lambda s: _answers(s, f'{{"{ITEM}": "\\ud800"}}'),
        422,
        ["body", "answers", ITEM],
    ),
    "a lone surrogate in a key": (lambda s: _answers(s, '{"\\udc00": "yes"}'), 422, ["body", "answers", "(key)"]),
    "bytes that are not UTF-8": (
        lambda s: s.client.post(
            "/api/v1/youth",
            headers={**s.auth, "Content-Type": "application/json"},
            content=b'{"given_name": "\xed\xa0\x80"}',
        ),
        422,
        ["body"],
    ),
    "a version of 2^63": (lambda s: _answers(s, "{}", version=str(2**63)), 422, ["body", "version"]),
    "a referral status version of 2^63": (
        lambda s: s.client.post(
            "/api/v1/referrals/no-such/status", headers=s.auth, json={"status": "received", "version": 2**63}
        ),
        422,
        ["body", "version"],
    ),
    "a number answer of 10^400": (lambda s: _answers(s, f'{{"{ITEM}": {10**400}}}'), 422, ["body", "answers", ITEM]),
    "a number answer of 1e400 (infinity)": (
        lambda s: _answers(s, f'{{"{ITEM}": 1e400}}'),
        422,
        ["body", "answers", ITEM],
    ),
    "NaN": (lambda s: _answers(s, f'{{"{ITEM}": NaN}}'), 422, ["body"]),
    "JSON true for a number answer": (lambda s: _answers(s, f'{{"{ITEM}": true}}'), 422, ["body", "answers", ITEM]),
    "JSON true for the version": (lambda s: _answers(s, "{}", version="true"), 422, ["body", "version"]),
    "JSON true for break-glass hours": (
        lambda s: s.client.post(
            f"/api/v1/youth/{s.youth_id}/break-glass", headers=s.auth, json={"reason": "x" * 30, "hours": True}
        ),
        422,
        ["body", "hours"],
    ),
    "a birth date of 0": (lambda s: _youth(s, birth_date=0), 422, ["body", "birth_date"]),
    'a birth date of "0"': (lambda s: _youth(s, birth_date="0"), 422, ["body", "birth_date"]),
    "a consent's end as a number": (
        lambda s: s.client.post(
            f"/api/v1/youth/{s.youth_id}/consents",
            headers=s.auth,
            json={
                "to_agency_id": s.agency.id,
                "grantor": "youth",
                "authority": "self",
                "categories": ["result_summary"],
            }
            | {"purpose": "referral", "ends_at": 1900000000, "method": "written"},
        ),
        422,
        ["body", "ends_at"],
    ),
    "a FHIR Bundle nested 150 deep": (
        lambda s: s.client.post(f"/api/v1/youth/{s.youth_id}/fhir-import", headers=s.auth, json=nested(150)),
        422,
        ["body", "entry", 0, "entry"],
    ),
    "a FHIR Task nested 150 deep": (
        lambda s: s.client.post(
            "/api/v1/referrals/no-such/fhir/task",
            headers={**s.auth, "Content-Type": "application/fhir+json"},
            content=json.dumps(nested(150)),
        ),
        422,
        ["body", "entry", 0, "entry"],
    ),
    "a FHIR Questionnaire nested 150 deep": (
        lambda s: s.client.post(
            "/api/v1/instruments/fhir-import",
            headers=s.auth,
            json={"questionnaire": nested(150), "thresholds": {"possible_concern": 1}, "instrument_id": "x-y"},
        ),
        422,
        ["body", "questionnaire", "entry", 0],
    ),
    "a 10 MB body": (
        lambda s: s.client.post("/api/v1/youth", headers=s.auth, json={f"k{i}": "v" * 90 for i in range(100_000)}),
        413,
        None,
    ),
    "a 10 MB body streamed without a length": (
        lambda s: s.client.post(
            "/api/v1/youth", headers={**s.auth, "Content-Type": "application/json"}, content=_streamed(10 * 2**20)
        ),
        413,
        None,
    ),
    "a 10 MB FHIR import": (
        lambda s: s.client.post(
            f"/api/v1/youth/{s.youth_id}/fhir-import", headers=s.auth, json={"entry": ["x" * 1000] * 10_000}
        ),
        413,
        None,
    ),
    "a NUL behind a UTF-8 byte-order mark": (
        lambda s: s.client.post(
            "/api/v1/youth",
            headers={**s.auth, "Content-Type": "application/json"},
            content=b"\xef\xbb\xbf" + json.dumps({"given_name": "A\x00B"}).encode(),
        ),
        422,
        ["body", "given_name"],
    ),
    "a NUL in JSON sent as UTF-16": (
        lambda s: s.client.post(
            "/api/v1/youth",
            headers={**s.auth, "Content-Type": "application/json"},
            content=json.dumps({"given_name": "A\x00B"}).encode("utf-16-le"),
        ),
        422,
        ["body"],
    ),
    "a FHIR Bundle nested 150 deep behind a byte-order mark": (
        lambda s: s.client.post(
            f"/api/v1/youth/{s.youth_id}/fhir-import",
            headers={**s.auth, "Content-Type": "application/json"},
            content=b"\xef\xbb\xbf" + json.dumps(nested(150)).encode(),
        ),
        422,
        ["body", "entry", 0, "entry"],
    ),
    "a body that is not JSON": (
        lambda s: s.client.post(
            "/api/v1/youth", headers={**s.auth, "Content-Type": "application/json"}, content=b'{"given_name": '
        ),
        422,
        ["body"],
    ),
    "a flood of unknown answer keys": (
        lambda s: _answers(s, json.dumps({f"unknown_{i}": "yes" for i in range(60_000)})),
        422,
        ["body", "answers"],
    ),
    "a flood of wrong values": (
        lambda s: _answers(s, json.dumps({f"unknown_{i}": [1] for i in range(900)})),
        422,
        ["body", "answers", "unknown_0"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_answers_a_small_located_4xx_and_changes_nothing(setup: Setup, session: Session, case: str) -> None:
    send, status, where = CASES[case]
    reload(session)
    before = dump_database(session)
    response = send(setup)
    assert response.status_code == status, response.text[:2000]
    assert len(response.content) < SMALL, len(response.content)
    body = response.json()
    if where is None:
        assert body["error"] == "payload_too_large" and "bytes at most" in body["detail"]
    else:
        assert body["error"] == "invalid_payload"
        first = body["detail"][0]
        assert first["loc"][: len(where)] == where, body
        assert first["msg"] and first["type"]
        assert len(body["detail"]) <= 20
    reload(session)
    assert dump_database(session) == before


def test_a_long_error_lists_twenty_problems_and_counts_the_rest(setup: Setup) -> None:
    response = _answers(setup, json.dumps({f"unknown_{i}": [1] for i in range(900)}))
    body = response.json()
    assert response.status_code == 422 and len(body["detail"]) == 20 and body["omitted"] == 880
    assert "unknown_" in json.dumps(body["detail"]) and "[1]" not in json.dumps(body)  # where, never the value


def test_legitimate_input_still_passes(setup: Setup) -> None:
    """What the strict types must not refuse: dates as text, whole-number versions, text answers with any letters."""
    created = _youth(setup, given_name="Zoë 🌱", birth_date="2011-05-06")
    assert created.status_code == 201, created.text
    saved = _answers(setup, json.dumps({ITEM: "clear_concern"}))
    assert saved.status_code == 200, saved.text
    assert saved.json()["answers"][ITEM]["value"] == "clear_concern"


def test_a_lone_surrogate_from_a_page_form_answers_an_error_page(setup: Setup, session: Session) -> None:
    csrf = sign_in(setup.client, setup.admin)
    reload(session)
    before = dump_database(session)
    form = f"csrf_token={csrf}&version={setup.version}&notes=%ED%A0%80"
    response = setup.client.post(
        f"/screenings/{setup.screening_id}",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "body › notes: is not valid UTF-8" in response.text
    reload(session)
    assert dump_database(session) == before


def test_a_nul_in_the_sign_in_form_answers_an_error_page(client: TestClient, world: World) -> None:
    response = client.post("/login", data={"email": "a\x00b@example.org", "password": "x"}, follow_redirects=False)
    assert response.status_code == 400
    assert "body › email: contains a NUL character" in response.text
    assert "set-cookie" not in response.headers


def test_sign_in_refuses_origin_null_and_accepts_its_own_origin(client: TestClient, world: World) -> None:
    """A page of any site can make a browser send `Origin: null`; the sign-in form sends its real origin."""
    user = world.user(world.agency())
    form = {"email": user.email, "password": "correct horse battery staple", "next": "/"}
    refused = client.post("/login", data=form, headers={"Origin": "null"}, follow_redirects=False)
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    page = client.get("/login")
    assert page.headers["referrer-policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.text
    accepted = client.post("/login", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert accepted.status_code == 303 and "set-cookie" in accepted.headers
    assert client.get("/youth").headers["referrer-policy"] == "no-referrer"  # every other page keeps no-referrer


def test_a_fhir_response_with_a_very_long_reference_imports(client: TestClient, world: World, session: Session) -> None:
    """A partner's reference and source of any length: the import works, its note quotes their start (was a 500)."""
    screener, partner = world.user(world.agency("North")), world.user(world.agency("South", "shelter"))
    record, theirs = fhir_support.youth(session, screener), fhir_support.youth(session, partner, "S-1")
    done = fhir_support.completed(
        session, screener, record, fhir_support.SELF_REPORT, "interview", fhir_support.SELF_ANSWERS
    )
    exported = client.get(f"/api/v1/screenings/{done.id}/fhir", headers=bearer(client, screener)).json()
    resources = [entry["resource"] for entry in exported["entry"]]
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    response["identifier"] = {"value": "R" * 30_000}
    response.setdefault("meta", {})["source"] = "https://partner.example/" + "S" * 30_000
    fhir_support.about(exported, fhir_support.pseudonym_for(session, theirs, partner.agency_id))
    imported = client.post(f"/api/v1/youth/{theirs.id}/fhir-import", headers=bearer(client, partner), json=exported)
    assert imported.status_code == 200, imported.text[:500]
    assert len(imported.json()["imported"]) == 1


def test_answer_problems_are_bounded_too(setup: Setup) -> None:
    """Well-formed answers to items that do not exist (a 400 from the answer checks): 20 listed, the rest counted."""
    response = _answers(setup, json.dumps({f"no_such_item_{i}": "yes" for i in range(900)}))
    body = response.json()
    assert response.status_code == 400 and body["error"] == "invalid_input", body
    assert len(body["detail"]["answers"]) == 20 and body["omitted"] == 880
    assert len(response.content) < SMALL


def test_a_fhir_file_of_many_unknown_keys_answers_a_short_report(setup: Setup, session: Session) -> None:
    """A 3 MB QuestionnaireResponse of 150,000 unknown keys was answered with every validation error (66 MB)."""
    youth = session.get(Youth, setup.youth_id)
    assert youth is not None
    subject = {"reference": f"Patient/{fhir_support.pseudonym_for(session, youth, setup.agency.id)}"}
    response = {"resourceType": "QuestionnaireResponse", "status": "completed", "subject": subject}
    response |= {f"x{i}": 1 for i in range(150_000)}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": response}]}
    answer = setup.client.post(f"/api/v1/youth/{setup.youth_id}/fhir-import", headers=setup.auth, json=bundle)
    assert answer.status_code < 500 and len(answer.content) < SMALL, len(answer.content)
    assert "150000 problem(s)" in answer.text and "and 149990 more" in answer.text


def test_a_malformed_origin_is_refused_not_a_server_error(client: TestClient, world: World) -> None:
    user = world.user(world.agency())
    for origin in ("http://[", "http://[::1", "http://a]b"):
        refused = client.post(
            "/login", data={"email": user.email, "password": "x"}, headers={"Origin": origin}, follow_redirects=False
        )
        assert refused.status_code == 403, (origin, refused.status_code)


def test_a_wrong_method_says_which_methods_the_path_takes(setup: Setup) -> None:
    wrong = setup.client.delete("/api/v1/agencies", headers=setup.auth)
    # Starlette names the methods of the first route matching the path (here GET); the header was dropped before
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


def test_a_form_field_longer_than_any_field_takes_is_refused_briefly(setup: Setup, world: World) -> None:
    user = world.user(setup.agency, "screener")
    with TestClient(setup.client.app) as browser:
        token = sign_in(browser, user)
        page = browser.post("/youth/find", data={"csrf_token": token, "q": "x" * 1_000_000})
    assert page.status_code == 400 and len(page.content) < 64 * 1024, len(page.content)
    assert "more than any field takes" in page.text


def test_a_birth_date_no_youth_can_have_is_refused_where_it_was_typed(setup: Setup) -> None:
    for typo in ("1000-01-01", "1899-12-31"):
        refused = _youth(setup, birth_date=typo)
        assert refused.status_code == 400 and refused.json()["detail"] == {"field": "birth_date"}, refused.text
        assert "1900" in refused.json()["message"]
