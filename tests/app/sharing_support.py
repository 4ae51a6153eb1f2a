"""Helpers for the sharing tests: agencies with staff, youth, screenings and consents, made through the API."""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Agency, User
from app.models_sharing import Disclosure
from tests.app.conftest import World, bearer

PRACTITIONER = "tellonce-practitioner-indicators"
SELF_REPORT = "tellonce-youth-self-report"
ANSWERS = {
    "rate_housing_unstable": "possible_concern",
    "rate_housing_runaway": "no_concern",
    "rate_coercion_debt": "clear_concern",
}
KATHERINE = {"given_name": "Katherine", "family_name": "Nowak", "birth_date": "2012-03-09"}
KATE = {"given_name": "Kate", "family_name": "Nowak", "birth_date": "2012-03-09"}  # a nickname of the same youth
REASON = "Youth arrived in crisis overnight; the earlier screening is needed now."
REVOKE_REASON = "The youth asked the programs to stop sharing."


@dataclass
class Side:
    """One agency with a screener, a supervisor and an admin; their API headers are made when first used."""

    client: TestClient
    agency: Agency
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            self.tokens[role] = bearer(self.client, self.users[role])
        return self.tokens[role]

    @property
    def api(self) -> dict[str, str]:
        """The screener's API headers."""
        return self.headers("screener")


def side(client: TestClient, world: World, name: str, kind: str = "youth_program") -> Side:
    made = Side(client, world.agency(name, kind))
    for role in ("screener", "supervisor", "agency_admin"):
        made.users[role] = world.user(made.agency, role)
    return made


def add_youth(client: TestClient, at: Side, case_number: str, who: dict[str, str] = KATHERINE) -> str:
    response = client.post("/api/v1/youth", headers=at.api, json={**who, "case_number": case_number})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def screen(
    client: TestClient,
    at: Side,
    youth_id: str,
    answers: dict[str, Any] | None = None,
    *,
    instrument: str = PRACTITIONER,
    mode: str = "practitioner",
) -> dict[str, Any]:
    """A completed screening with these answers."""
    started = client.post(
        "/api/v1/screenings", headers=at.api, json={"youth_id": youth_id, "instrument_id": instrument, "mode": mode}
    )
    assert started.status_code == 201, started.text
    screening = started.json()
    saved = client.put(
        f"/api/v1/screenings/{screening['id']}/answers",
        headers=at.api,
        json={"version": screening["version"], "answers": ANSWERS if answers is None else answers},
    )
    assert saved.status_code == 200, saved.text
    done = client.post(
        f"/api/v1/screenings/{screening['id']}/complete", headers=at.api, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    return dict(done.json())


def consent(
    client: TestClient,
    at: Side,
    youth_id: str,
    to: Side,
    categories: tuple[str, ...] = ("result_summary", "item_answers"),
    days: int = 90,
) -> dict[str, Any]:
    """The youth's release from `at` to `to`, recorded through the API."""
    ends = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    response = client.post(
        f"/api/v1/youth/{youth_id}/consents",
        headers=at.api,
        json={
            "to_agency_id": to.agency.id,
            "grantor": "youth",
            "authority": "Youth's own signed release",
            "categories": list(categories),
            "purpose": "care_coordination",
            "ends_at": ends,
            "method": "written",
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def candidates(client: TestClient, at: Side, youth_id: str) -> list[str]:
    response = client.get(f"/api/v1/youth/{youth_id}/candidates", headers=at.api)
    assert response.status_code == 200, response.text
    assert all(set(c) == {"candidate"} for c in response.json())
    return [c["candidate"] for c in response.json()]


def link(
    client: TestClient, at: Side, youth_id: str, role: str = "screener", glass: dict[str, Any] | None = None
) -> Any:
    """Link to the one possible match; returns the response."""
    (handle,) = candidates(client, at, youth_id)
    body: dict[str, Any] = {"candidate": handle} | ({"break_glass": glass} if glass else {})
    return client.post(f"/api/v1/youth/{youth_id}/links", headers=at.headers(role), json=body)


def timeline_ids(client: TestClient, at: Side, youth_id: str) -> list[str]:
    response = client.get(f"/api/v1/youth/{youth_id}/timeline", headers=at.api)
    assert response.status_code == 200, response.text
    return [e["screening_id"] for e in response.json()]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def section(html: str, element_id: str) -> str:
    """The HTML of the element with this id, up to the next heading of the same section (enough for asserts)."""
    start = html.index(f'id="{element_id}"')
    following = html.find("<h3", start + 1)
    return html[start : following if following != -1 else len(html)]


# For the probes of issue 10 (tell once across hops; a summary-only consent, route by route).


def start(
    client: TestClient, at: Side, youth_id: str, instrument: str = SELF_REPORT, mode: str = "interview"
) -> dict[str, Any]:
    """A new screening of the youth at `at`, through the API (with whatever was carried into it)."""
    body = {"youth_id": youth_id, "instrument_id": instrument, "mode": mode}
    started = client.post("/api/v1/screenings", headers=at.api, json=body)
    assert started.status_code == 201, started.text
    return dict(started.json())


def told(data: Any) -> set[tuple[str, Any]]:
    """The (item id, answer) pairs a JSON document tells: stored or exported `answers`, indicator evidence,
    FHIR QuestionnaireResponse items."""
    found: set[tuple[str, Any]] = set()

    def fhir_values(answers: list[Any]) -> list[Any]:
        values = [v for a in answers for k, v in a.items() if k.startswith("value")]
        return [v.get("code") if isinstance(v, dict) else v for v in values]

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        if not isinstance(node, dict):
            return
        if "item_id" in node and "answer" in node:
            found.add((node["item_id"], str(node["answer"])))
        if "linkId" in node and isinstance(node.get("answer"), list):
            found.update((node["linkId"], str(v)) for v in fhir_values(node["answer"]))
        if isinstance(node.get("answers"), dict):
            for item, stored in node["answers"].items():
                found.add((item, str(stored.get("value") if isinstance(stored, dict) else stored)))
        for child in node.values():
            walk(child)

    walk(data)
    return found


def shown_answers(page: str, question: str) -> set[str]:
    """What a page shows as the answer to a question: a review list's <dt>/<dd>, or a result's evidence."""
    text = html.unescape(page)
    after = re.escape(question) + r"</(?:dt|span)>\s*(?:<dd>|→)\s*([^<]*)"
    return {m.strip() for m in re.findall(after, text) if m.strip()}


def form_pages(client: TestClient, screening_id: str) -> str:
    """Every page of a screening's form and its review page, as the signed-in user sees them."""
    first = client.get(f"/screenings/{screening_id}?page=1")
    assert first.status_code == 200, first.text
    match = re.search(r"Section 1 of (\d+)", first.text)
    assert match, "a form page says how many sections it has"
    pages = [client.get(f"/screenings/{screening_id}?page={n}") for n in range(2, int(match.group(1)) + 1)]
    pages.append(client.get(f"/screenings/{screening_id}/review"))
    assert all(p.status_code == 200 for p in pages), [p.status_code for p in pages]
    return "\n".join([first.text, *(p.text for p in pages)])


def ledger(world: World, viewer_agency_id: str) -> list[Disclosure]:
    """The disclosure ledger's rows of what one agency was shown, read in a session of its own."""
    with Session(world.session.get_bind()) as fresh:
        return list(fresh.exec(select(Disclosure).where(Disclosure.viewer_agency_id == viewer_agency_id)))


def pdf_texts(pdf: bytes) -> list[str]:
    """A WeasyPrint PDF's text, decoded once with each font's ToUnicode map (a run of one font reads right
    in that font's decoding), for asserting what a printed page says without a PDF library."""
    streams = []
    # Up to the "\nendstream" WeasyPrint writes, keeping a last "\r" that belongs to the data: a compressed stream
    # ends in that byte once in 256, and cutting it lost the stream's text (a flaky test). A decompressor object,
    # not zlib.decompress: whatever follows the compressed data (an end-of-line of "\r\n") is left over, not an error.
    for raw in re.findall(rb"stream\r?\n(.*?)\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            streams.append(raw)
    maps = [dict(re.findall(rb"<([0-9a-fA-F]{4})> <([0-9a-fA-F]+)>", s)) for s in streams if b"beginbfchar" in s]
    runs = [
        b"".join(re.findall(rb"<([0-9a-fA-F]+)>", run))
        for s in streams
        for run in re.findall(rb"\[(.*?)\]\s*TJ", s, re.S)
    ]
    codes = [[run[i : i + 4].lower() for i in range(0, len(run), 4)] for run in runs]
    return [
        " ".join(
            "".join(bytes.fromhex(m[c].decode()).decode("utf-16-be") if c in m else "\ufffd" for c in run)
            for run in codes
        )
        for m in ({k.lower(): v for k, v in m.items()} for m in maps)
    ]
