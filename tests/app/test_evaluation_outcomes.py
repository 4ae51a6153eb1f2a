"""Outcomes after screening: recorded by supervisors, audited, corrected by withdrawing, and shared only
under a consent covering notes — through a chain of agencies, never passed on [issue 17; DESIGN §7]."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import AuditEvent
from app.models_evaluation import Outcome
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import add_youth, consent, csrf_of, ledger, link, section, side

LENA = {"given_name": "Lena", "family_name": "Marsh", "birth_date": "2011-06-14"}  # synthetic
NOTE = "Canary 7e2a: confirmed at the later county assessment"
CONFIRMED = {"kind": "confirmed", "source": "later_assessment", "note": NOTE}


def _outcome(**fields: Any) -> dict[str, Any]:
    return {"learned_on": (date.today() - timedelta(days=20)).isoformat()} | CONFIRMED | fields


def _rows(world: World) -> list[Outcome]:
    with Session(world.session.get_bind()) as fresh:
        return list(fresh.exec(select(Outcome)))


def test_a_supervisor_records_an_outcome_and_everyone_at_the_agency_reads_it(client: TestClient, world: World) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    youth = add_youth(client, a, "LSA-1", LENA)
    made = client.post(f"/api/v1/youth/{youth}/outcomes", headers=a.headers("supervisor"), json=_outcome())
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["kind"], body["source"], body["note"], body["own"]) == ("confirmed", "later_assessment", NOTE, True)
    assert body["recorded_by"] == "Test supervisor"
    listed = client.get(f"/api/v1/youth/{youth}/outcomes", headers=a.api)  # a screener reads it on the record
    assert [o["id"] for o in listed.json()] == [body["id"]]

    (row,) = _rows(world)
    assert NOTE not in (row.note_enc or "")  # the note is stored encrypted
    with Session(world.session.get_bind()) as fresh:
        events = fresh.exec(
            select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "outcome.record")
        ).all()
    assert [(e.object_id, e.actor_id) for e in events] == [(row.id, a.users["supervisor"].id)]
    assert NOTE not in str(events[0].detail)


def test_screeners_may_not_record_and_bad_input_saves_nothing(client: TestClient, world: World) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    youth = add_youth(client, a, "LSA-1", LENA)
    supervisor = a.headers("supervisor")
    assert client.post(f"/api/v1/youth/{youth}/outcomes", headers=a.api, json=_outcome()).status_code == 403
    no_months = client.post(f"/api/v1/youth/{youth}/outcomes", headers=supervisor, json=_outcome(kind="not_indicated"))
    assert no_months.status_code == 422
    assert "follow_up_months" in no_months.text
    future = (date.today() + timedelta(days=3)).isoformat()
    ahead = client.post(f"/api/v1/youth/{youth}/outcomes", headers=supervisor, json=_outcome(learned_on=future))
    assert ahead.status_code == 400
    assert ahead.json()["detail"]["field"] == "learned_on"
    unknown = client.post(f"/api/v1/youth/{youth}/outcomes", headers=supervisor, json=_outcome(kind="maybe"))
    assert unknown.status_code == 422
    assert _rows(world) == []
    ok = _outcome(kind="not_indicated", follow_up_months=6, source="service_record")
    assert client.post(f"/api/v1/youth/{youth}/outcomes", headers=supervisor, json=ok).status_code == 201


def test_the_record_page_records_withdraws_and_keeps_the_form_on_errors(client: TestClient, world: World) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    youth = add_youth(client, a, "LSA-1", LENA)
    csrf = sign_in(client, a.users["supervisor"])
    page = client.get(f"/youth/{youth}")
    assert "Record what was later learned" in section(page.text, "outcomes")

    bad = {"csrf_token": csrf, "kind": "not_indicated", "source": "investigation", "learned_on": "2026-02-30"}
    refused = client.post(f"/youth/{youth}/outcomes", data=bad | {"note": "kept text"})
    assert refused.status_code == 400
    part = section(refused.text, "outcomes")
    assert "Enter the date it was learned" in part and "kept text" in part
    assert 'value="not_indicated" checked' in part  # the choice is kept
    assert _rows(world) == []

    good = bad | {"learned_on": (date.today() - timedelta(days=1)).isoformat(), "follow_up_months": "12"}
    done = client.post(f"/youth/{youth}/outcomes", data=good, follow_redirects=False)
    assert done.status_code == 303
    part = section(client.get(f"/youth/{youth}").text, "outcomes")
    assert "No indication after follow-up" in part and "followed 12 months" in part

    (row,) = _rows(world)
    csrf = csrf_of(client.get(f"/youth/{youth}").text)
    empty = client.post(f"/outcomes/{row.id}/withdraw", data={"csrf_token": csrf, "reason": ""})
    assert empty.status_code == 400 and "Write why it is withdrawn" in empty.text
    why = "Recorded for the wrong youth."
    gone = client.post(f"/outcomes/{row.id}/withdraw", data={"csrf_token": csrf, "reason": why}, follow_redirects=False)
    assert gone.status_code == 303
    part = section(client.get(f"/youth/{youth}").text, "outcomes")
    assert "Withdrawn" in part and why in part  # it stays, marked
    (row,) = _rows(world)
    assert row.withdrawn_at is not None and row.withdrawn_by == a.users["supervisor"].id


def test_outcomes_follow_a_consent_covering_notes_and_never_pass_down_a_chain(
    client: TestClient, world: World, subtests: Any
) -> None:
    """A records an outcome. B (linked) sees it only once A's consent to B covers notes, and the ledger names
    that consent; C, to whom only B consents, never sees A's outcome, however much B shares."""
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    c = side(client, world, "Westside Health Clinic", "health")
    youth_a = add_youth(client, a, "LSA-1", LENA)
    consent(client, a, youth_a, b)  # results and answers, not notes
    youth_b = add_youth(client, b, "ES-1", LENA)
    assert link(client, b, youth_b).status_code == 201
    made = client.post(f"/api/v1/youth/{youth_a}/outcomes", headers=a.headers("supervisor"), json=_outcome())
    assert made.status_code == 201

    def seen_by(at: Any, youth: str) -> list[dict[str, Any]]:
        response = client.get(f"/api/v1/youth/{youth}/outcomes", headers=at.api)
        assert response.status_code == 200, response.text
        return list(response.json())

    with subtests.test("no notes consent: B sees nothing and nothing is in the ledger"):
        assert seen_by(b, youth_b) == []
        assert not [d for d in ledger(world, b.agency.id) if "notes" in d.categories]

    notes = consent(client, a, youth_a, b, categories=("result_summary", "notes"))
    with subtests.test("with notes: B sees A's outcome, A named, A's staff not, and the ledger cites the consent"):
        (shown,) = seen_by(b, youth_b)
        assert (shown["agency_name"], shown["recorded_by"], shown["youth_id"], shown["note"]) == (
            a.agency.name,
            None,
            None,
            NOTE,
        )
        entries = [d for d in ledger(world, b.agency.id) if d.categories == ["notes"]]
        assert [(d.owner_agency_id, d.consent_id) for d in entries] == [(a.agency.id, notes["id"])]
        sign_in(client, b.users["screener"])
        assert NOTE in section(client.get(f"/youth/{youth_b}").text, "outcomes")
        assert "Record what was later learned" not in client.get(f"/youth/{youth_b}").text  # a screener

    consent(client, b, youth_b, c, categories=("result_summary", "item_answers", "notes"))
    youth_c = add_youth(client, c, "WH-1", LENA)
    assert link(client, c, youth_c).status_code == 201
    own_b = client.post(f"/api/v1/youth/{youth_b}/outcomes", headers=b.headers("supervisor"), json=_outcome(note=None))
    assert own_b.status_code == 201
    with subtests.test("C sees B's outcome under B's consent, never A's"):
        assert [o["agency_name"] for o in seen_by(c, youth_c)] == [b.agency.name]
        sign_in(client, c.users["screener"])
        page = client.get(f"/youth/{youth_c}").text
        assert NOTE not in page
        assert a.agency.name not in section(page, "outcomes").split('id="sharing"')[0]
        assert {d.owner_agency_id for d in ledger(world, c.agency.id) if d.categories == ["notes"]} == {b.agency.id}

    with subtests.test("another agency can neither withdraw nor record on A's record"):
        outcome_id = made.json()["id"]
        other = client.post(
            f"/api/v1/outcomes/{outcome_id}/withdraw", headers=b.headers("supervisor"), json={"reason": "Not ours."}
        )
        missing = client.post(
            f"/api/v1/outcomes/{'0' * 32}/withdraw", headers=b.headers("supervisor"), json={"reason": "Not ours."}
        )
        assert (other.status_code, other.json()) == (missing.status_code, missing.json()) == (404, missing.json())
        on_a = client.post(f"/api/v1/youth/{youth_a}/outcomes", headers=b.headers("supervisor"), json=_outcome())
        assert on_a.status_code == 404


def test_an_outcome_follows_its_record_when_a_link_is_undone(client: TestClient, world: World) -> None:
    """B records an outcome on its record linked to A's person, then undoes the wrong link: the outcome stays on
    B's record (listed, withdrawable) and is no longer about A's person (A sees nothing of it, consent or not)."""
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "LSA-1", LENA)
    consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", LENA)
    linked = link(client, b, youth_b)
    assert linked.status_code == 201
    consent(client, b, youth_b, a, categories=("result_summary", "notes"))
    made = client.post(f"/api/v1/youth/{youth_b}/outcomes", headers=b.headers("supervisor"), json=_outcome())
    assert made.status_code == 201
    assert (
        client.post(f"/api/v1/links/{linked.json()['id']}/undo", headers=b.headers("agency_admin")).status_code == 200
    )

    listed = client.get(f"/api/v1/youth/{youth_b}/outcomes", headers=b.api).json()
    assert [o["id"] for o in listed] == [made.json()["id"]]
    assert client.get(f"/api/v1/youth/{youth_a}/outcomes", headers=a.api).json() == []  # no longer A's person
    withdrawn = client.post(
        f"/api/v1/outcomes/{made.json()['id']}/withdraw",
        headers=b.headers("supervisor"),
        json={"reason": "Wrong link."},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_reason"] == "Wrong link."


def test_a_missing_follow_up_is_located_on_its_field(client: TestClient, world: World) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    youth = add_youth(client, a, "LSA-1", LENA)
    refused = client.post(
        f"/api/v1/youth/{youth}/outcomes", headers=a.headers("supervisor"), json=_outcome(kind="not_indicated")
    )
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", "follow_up_months"]]


def test_the_outcome_form_speaks_spanish(client: TestClient, world: World) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    youth = add_youth(client, a, "LSA-1", LENA)
    csrf = sign_in(client, a.users["supervisor"])
    assert client.post("/account/language", data={"csrf_token": csrf, "language": "es", "next": "/"}).status_code == 200
    refused = client.post(f"/youth/{youth}/outcomes", data={"csrf_token": csrf, "kind": "not_indicated"})
    assert refused.status_code == 400
    part = section(refused.text, "outcomes")
    assert "Elija de dónde se supo." in part and "Escriba la fecha en que se supo" in part
    assert "Choose where it was learned from." not in part and "Lo que se supo después" in part
