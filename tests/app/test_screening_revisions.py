"""Corrections after completion: amending a completed screening as a new revision, and discarding a draft.

A correction is rescored on the same instrument version, keeps the earlier revision readable with who
amended it, when and why, refuses a stale version with 409, and is the owning agency's alone; a partner
sees which revision it is reading, and the ledger records it. A discarded draft leaves every list and
cannot be resumed. Reasons are free text: encrypted, and never in the audit log or the logs.
[DESIGN §5, §7; SECURITY.md 13-16]
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from app.main import loaded_instruments
from app.models import AuditEvent, ScreeningRevision
from app.models_sharing import Category
from app.screenings import revisions
from app.screenings.schemas import Amend
from tests.app.accounts_support import dump_database, reload
from tests.app.conftest import World, sign_in
from tests.app.exports_support import PRACTITIONER, make_scene
from tests.app.sharing_support import Side, add_youth, consent, link, screen, side

AMEND_REASON = "Canary amend 7e2d: the debt line was rated for a different youth"
DISCARD_REASON = "Canary discard 91ab: started for the wrong youth by mistake"
CORRECTION = {"rate_coercion_debt": "no_concern"}  # the clear-concern line of sharing_support.ANSWERS
PRACTITIONER_CHOICE = "tellonce-practitioner-indicators|1.0.0|practitioner"
SELF_REPORT = "tellonce-youth-self-report"


def _result(client: TestClient, at: Side, screening_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/screenings/{screening_id}/result", headers=at.api)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _version(client: TestClient, at: Side, screening_id: str) -> int:
    response = client.get(f"/api/v1/screenings/{screening_id}", headers=at.api)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def _amend_api(
    client: TestClient,
    at: Side,
    screening_id: str,
    version: int,
    answers: dict[str, Any] = CORRECTION,
    role: str = "screener",
) -> Any:
    body = {"version": version, "answers": answers, "reason": AMEND_REASON}
    return client.post(f"/api/v1/screenings/{screening_id}/revisions", headers=at.headers(role), json=body)


def _checked(page: str, item_id: str, code: str) -> bool:
    return f'id="q-{item_id}-{code}" name="answer.{item_id}" value="{code}" checked' in page


def _amend_form(page: str) -> dict[str, Any]:
    """What the amend page's form would post unchanged: its hidden fields and every checked answer."""
    fields: dict[str, Any] = {}
    for name in ("csrf_token", "version", "shown"):
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        assert match, name
        fields[name] = html.unescape(match.group(1))
    fields.update(re.findall(r'name="(answer\.[^"]+)" value="([^"]+)" checked', page))
    return fields


def _text(page: str) -> str:
    """A page's text, tags dropped and whitespace collapsed, for asserting on what a person reads."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_an_amendment_rescores_and_keeps_the_earlier_revision_readable(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-0001"))
    assert _result(client, a, done["id"])["overall"] == "clear_concern"
    sign_in(client, a.users["supervisor"])

    page = client.get(f"/screenings/{done['id']}/amend")
    assert page.status_code == 200
    assert "This result is revision 1." in _text(page.text)
    form = _amend_form(page.text)
    assert form["answer.rate_coercion_debt"] == "clear_concern"  # the form opens on the answers as they are
    form |= {"answer.rate_coercion_debt": "no_concern", "reason": AMEND_REASON}
    saved = client.post(f"/screenings/{done['id']}/amend", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/screenings/{done['id']}/result"

    # Rescored on the same instrument version; the API's result is the new one and says its revision.
    result = client.get(f"/api/v1/screenings/{done['id']}/result", headers=a.api)
    assert result.json()["overall"] != "clear_concern"
    assert result.json()["instrument_version"] == done["instrument_version"]
    assert result.headers["TellOnce-Revision"] == "2"

    # The result page lists both revisions, with who amended it and why (read here by a colleague).
    sign_in(client, a.users["agency_admin"])
    shown = _text(client.get(f"/screenings/{done['id']}/result").text)
    assert "Revision 2 of 2. The answers were corrected after completion:" in shown
    assert AMEND_REASON in shown and "The result as first completed" in shown
    assert "Test supervisor" in shown and "Test screener" in shown  # who amended it, and who completed it

    # Revision 1 is still readable as it was: its level, its answer, and that it is no longer current.
    first = _text(client.get(f"/screenings/{done['id']}/revisions/1").text)
    assert "Result: revision 1 of 2" in first and "This is not the current result" in first
    assert "Overall: Clear concern" in first
    assert "The youth is made to work or do things to pay off a debt. Clear concern" in first
    second = _text(client.get(f"/screenings/{done['id']}/revisions/2").text)
    assert "Overall: Clear concern" not in second and AMEND_REASON in second and "Test supervisor" in second
    assert "The youth is made to work or do things to pay off a debt. No concern" in second

    listed = client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=a.api).json()
    assert [(r["number"], r["amended"], r["reason"]) for r in listed] == [(1, False, None), (2, True, AMEND_REASON)]
    assert listed[1]["author_id"] == a.users["supervisor"].id and listed[0]["author_id"] == a.users["screener"].id
    old = client.get(f"/api/v1/screenings/{done['id']}/revisions/1", headers=a.api).json()
    assert (old["of"], old["overall_level"], old["answers"]["rate_coercion_debt"]) == (
        2,
        "clear_concern",
        "clear_concern",
    )


def test_an_amendment_needs_a_reason_and_a_change(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-0001"))
    sign_in(client, a.users["screener"])
    form = _amend_form(client.get(f"/screenings/{done['id']}/amend").text) | {"answer.rate_coercion_debt": "no_concern"}
    no_reason = client.post(f"/screenings/{done['id']}/amend", data=form | {"reason": "  "})
    assert no_reason.status_code == 400 and "Say why the answers are being corrected." in no_reason.text
    assert _checked(no_reason.text, "rate_coercion_debt", "no_concern")  # the change is kept to send again
    unchanged = _amend_api(client, a, done["id"], _version(client, a, done["id"]), {})
    assert unchanged.status_code == 422  # an empty correction is not a correction
    same = _amend_api(client, a, done["id"], _version(client, a, done["id"]), {"rate_coercion_debt": "clear_concern"})
    assert same.status_code == 400 and "changes nothing" in same.json()["message"]
    assert _result(client, a, done["id"])["overall"] == "clear_concern"
    assert len(client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=a.api).json()) == 1


def test_a_correction_that_opens_a_follow_up_question_asks_it_before_saving(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(
        client, a, add_youth(client, a, "NS-0001"), {"owes_money": "no"}, instrument=SELF_REPORT, mode="interview"
    )
    sign_in(client, a.users["screener"])
    page = client.get(f"/screenings/{done['id']}/amend").text
    follow_up = "Have you had to work, or do things you did not want to do, to pay it back?"
    assert follow_up not in page

    form = _amend_form(page) | {"answer.owes_money": "yes", "reason": AMEND_REASON}
    asked = client.post(f"/screenings/{done['id']}/amend", data=form)
    assert asked.status_code == 200 and "Your changes opened more questions" in asked.text
    assert follow_up in asked.text and _checked(asked.text, "owes_money", "yes") and AMEND_REASON in asked.text
    assert len(client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=a.api).json()) == 1  # not saved yet

    again = _amend_form(asked.text) | {"answer.work_to_pay": "yes", "reason": AMEND_REASON}
    saved = client.post(f"/screenings/{done['id']}/amend", data=again, follow_redirects=False)
    assert saved.status_code == 303
    latest = client.get(f"/api/v1/screenings/{done['id']}/revisions/2", headers=a.api).json()
    assert (latest["answers"]["owes_money"], latest["answers"]["work_to_pay"]) == ("yes", "yes")


def test_a_stale_amendment_answers_409_and_changes_nothing(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-0001"))
    read = _version(client, a, done["id"])
    sign_in(client, a.users["screener"])
    form = _amend_form(client.get(f"/screenings/{done['id']}/amend").text)

    assert _amend_api(client, a, done["id"], read).status_code == 201  # someone else corrects it first
    after = _result(client, a, done["id"])
    stale = _amend_api(client, a, done["id"], read, {"rate_housing_unstable": "clear_concern"})
    assert stale.status_code == 409 and stale.json()["error"] == "conflict"

    page = client.post(
        f"/screenings/{done['id']}/amend",
        data=form | {"answer.rate_housing_unstable": "clear_concern", "reason": "A second, late correction"},
    )
    assert page.status_code == 409
    assert "Someone else changed this screening after you opened this page" in page.text
    assert _checked(page.text, "rate_coercion_debt", "no_concern")  # the form now shows the latest answers
    assert _checked(page.text, "rate_housing_unstable", "possible_concern")

    assert _result(client, a, done["id"]) == after
    listed = client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=a.api).json()
    assert [r["number"] for r in listed] == [1, 2]
    answers = client.get(f"/api/v1/screenings/{done['id']}", headers=a.api).json()["answers"]
    assert answers["rate_housing_unstable"]["value"] == "possible_concern"


def test_another_agency_cannot_amend_and_sees_which_revision_it_reads(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-0001")
    done = screen(client, a, youth_a)
    consent(client, a, youth_a, b, categories=("result_summary",))
    youth_b = add_youth(client, b, "ES-7")
    assert link(client, b, youth_b).status_code == 201

    # B may read A's result under the consent, and still never correct it.
    version = _version(client, a, done["id"])
    refused = _amend_api(client, b, done["id"], version)
    assert refused.status_code == 404 and refused.json()["detail"] == "No such screening."
    b_csrf = sign_in(client, b.users["screener"])
    form = {"csrf_token": b_csrf, "version": str(version), "reason": "x", "answer.rate_coercion_debt": "no_concern"}
    assert client.post(f"/screenings/{done['id']}/amend", data=form).status_code == 404
    assert client.get(f"/screenings/{done['id']}/amend").status_code == 404
    assert client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=b.api).status_code == 404

    seen = _text(client.get(f"/screenings/{done['id']}/result").text)
    assert "Revision 1 of 1. Not corrected since it was completed." in seen and "Correct the answers" not in seen

    assert _amend_api(client, a, done["id"], version, role="supervisor").status_code == 201
    seen = _text(client.get(f"/screenings/{done['id']}/result").text)
    assert "Revision 2 of 2. The answers were corrected after completion:" in seen
    assert "Your agency last saw revision 1 of this result" in seen and "It has been corrected since." in seen
    assert AMEND_REASON not in seen and "Test supervisor" not in seen  # why and by whom stay with A
    again = _text(client.get(f"/screenings/{done['id']}/result").text)
    assert "Your agency last saw revision 1" not in again  # B has now seen the current revision

    earlier = _text(client.get(f"/screenings/{done['id']}/revisions/1").text)
    assert "Result: revision 1 of 2" in earlier and "Overall: Clear concern" in earlier
    assert "The answers are not shared with your agency." in earlier  # the consent covers the result only
    assert AMEND_REASON not in earlier
    api = client.get(f"/api/v1/screenings/{done['id']}/revisions/1", headers=b.api).json()
    assert (api["number"], api["of"], api["overall_level"]) == (1, 2, "clear_concern")
    assert api["answers"] is None and api["reason"] is None and api["author_id"] is None

    # The ledger names the revision each view disclosed; A's account of disclosures shows it.
    account = client.get(f"/api/v1/youth/{youth_a}/disclosures", headers=a.api).json()
    views = [(e["viewer_agency"], e["revision"]) for e in account if e["kind"] == "view"]
    assert views == [("Eastside Child Welfare", n) for n in (1, 2, 2, 1, 1)]
    sign_in(client, a.users["screener"])
    listed = _text(client.get(f"/youth/{youth_a}/disclosures").text)
    assert "Revision 1 of the result" in listed and "Revision 2 of the result" in listed


def test_an_export_to_a_partner_records_the_revision_it_sent(world: World) -> None:
    scene = make_scene(world, loaded_instruments())
    done = scene.screen({"rate_coercion_debt": "clear_concern"}, instrument=PRACTITIONER, version=None)
    correction = Amend(version=done.version, answers=CORRECTION, reason=AMEND_REASON)
    revisions.amend(scene.db, scene.keys, scene.registry, scene.screener, done.id, correction)
    scene.db.commit()
    scene.consent(Category.result_summary)
    sent = scene.export("csv", categories=[Category.result_summary.value])
    assert done.id in sent and AMEND_REASON not in sent
    assert [(e.screening_id, e.revision) for e in scene.ledger()] == [(done.id, 2)]


def test_a_discarded_draft_leaves_the_lists_and_cannot_be_resumed(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth = add_youth(client, a, "NS-0001")
    kept = screen(client, a, youth)
    csrf = sign_in(client, a.users["screener"])
    started = client.post(
        f"/youth/{youth}/screenings", data={"csrf_token": csrf, "instrument": PRACTITIONER_CHOICE, "language": "en"}
    )
    draft = re.search(r'action="/screenings/([0-9a-f]{32})\?page=1"', started.text)
    assert started.status_code == 200 and draft
    draft_id = draft.group(1)
    assert draft_id in client.get("/").text and f"/screenings/{draft_id}/discard" in client.get(f"/youth/{youth}").text

    # Another agency's staff cannot discard it (as if it did not exist); nor can anyone without a reason.
    version = _version(client, a, draft_id)
    refused = client.post(
        f"/api/v1/screenings/{draft_id}/discard", headers=b.api, json={"version": version, "reason": "x"}
    )
    assert refused.status_code == 404
    confirm = client.get(f"/screenings/{draft_id}/discard")
    assert confirm.status_code == 200 and "It is not erased" in confirm.text
    blank = client.post(f"/screenings/{draft_id}/discard", data={"csrf_token": csrf, "version": version, "reason": ""})
    assert blank.status_code == 400 and "Say why the draft is being discarded." in blank.text

    gone = client.post(
        f"/screenings/{draft_id}/discard",
        data={"csrf_token": csrf, "version": version, "reason": DISCARD_REASON},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == f"/youth/{youth}"

    # Gone from the dashboard, the youth's record and the timeline; the completed screening stays.
    dashboard, record = client.get("/").text, client.get(f"/youth/{youth}").text
    assert draft_id not in dashboard and draft_id not in record and kept["id"] in record
    timeline = client.get(f"/api/v1/youth/{youth}/timeline", headers=a.api).json()
    assert [e["screening_id"] for e in timeline] == [kept["id"]]

    # Not resumable, by page or API; its agency can still read that, when and why it was discarded.
    resumed = client.get(f"/screenings/{draft_id}?page=1")
    assert resumed.status_code == 410 and "This draft was discarded, so it cannot be resumed." in resumed.text
    put = client.put(
        f"/api/v1/screenings/{draft_id}/answers",
        headers=a.api,
        json={"version": version + 1, "answers": {"rate_housing_unstable": "clear_concern"}},
    )
    assert put.status_code == 409
    complete = client.post(f"/api/v1/screenings/{draft_id}/complete", headers=a.api, json={"version": version + 1})
    assert complete.status_code == 409
    stored = client.get(f"/api/v1/screenings/{draft_id}", headers=a.api).json()
    assert (stored["status"], stored["discard_reason"]) == ("discarded", DISCARD_REASON)
    assert stored["discarded_at"] is not None


def test_a_discarded_self_screening_closes_the_youth_code(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-0001")
    started = client.post(
        "/api/v1/screenings", headers=a.api, json={"youth_id": youth, "instrument_id": SELF_REPORT, "mode": "self"}
    )
    draft = started.json()
    csrf = sign_in(client, a.users["screener"])
    issued = client.post(f"/screenings/{draft['id']}/self/link", data={"csrf_token": csrf})
    code = re.search(r'id="code" class="code">([A-Z0-9-]+)<', issued.text)
    assert issued.status_code == 200 and code

    body = {"version": _version(client, a, draft["id"]), "reason": DISCARD_REASON}
    discarded = client.post(f"/api/v1/screenings/{draft['id']}/discard", headers=a.api, json=body)
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    youth_client = TestClient(client.app)
    assert youth_client.post("/go", data={"code": code.group(1)}).status_code == 400
    again = client.post(f"/screenings/{draft['id']}/self/link", data={"csrf_token": csrf})
    assert again.status_code == 409  # and no new code can be issued for it
    twice = client.post(f"/api/v1/screenings/{draft['id']}/discard", headers=a.api, json=body | {"version": 99})
    assert twice.status_code == 409


def test_a_screening_completed_before_revisions_were_kept_can_be_amended(
    client: TestClient, world: World, session: Session
) -> None:
    a = side(client, world, "Northside Youth Services")
    done = screen(client, a, add_youth(client, a, "NS-0001"))
    session.exec(delete(ScreeningRevision).where(col(ScreeningRevision.screening_id) == done["id"]))  # type: ignore[call-overload]
    session.commit()
    only = client.get(f"/api/v1/screenings/{done['id']}/revisions", headers=a.api).json()
    assert [(r["number"], r["overall_level"]) for r in only] == [(1, "clear_concern")]

    assert _amend_api(client, a, done["id"], _version(client, a, done["id"])).status_code == 201
    first = client.get(f"/api/v1/screenings/{done['id']}/revisions/1", headers=a.api).json()
    assert (first["overall_level"], first["answers"]["rate_coercion_debt"]) == ("clear_concern", "clear_concern")
    assert first["author_id"] is None  # who completed it was not recorded then
    sign_in(client, a.users["screener"])
    assert "Not recorded" in _text(client.get(f"/screenings/{done['id']}/result").text)


def test_reasons_never_reach_the_audit_log_or_the_logs(
    client: TestClient, world: World, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-0001")
    with caplog.at_level(logging.DEBUG):
        done = screen(client, a, youth)
        assert _amend_api(client, a, done["id"], _version(client, a, done["id"])).status_code == 201
        draft = client.post(
            "/api/v1/screenings",
            headers=a.api,
            json={"youth_id": youth, "instrument_id": "tellonce-practitioner-indicators", "mode": "practitioner"},
        ).json()
        body = {"version": draft["version"], "reason": DISCARD_REASON}
        assert client.post(f"/api/v1/screenings/{draft['id']}/discard", headers=a.api, json=body).status_code == 200
    reload(session)
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))]
    assert "screening.amend" in actions and "screening.discard" in actions
    rows = session.execute(text("SELECT * FROM audit_event ORDER BY seq")).all()
    audited = "\n".join(json.dumps([str(v) for v in row]) for row in rows)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    stored = dump_database(session)
    for canary in (AMEND_REASON, DISCARD_REASON):
        assert canary not in audited and canary not in logged, canary
        assert not [table for table, content in stored.items() if canary in content], canary  # encrypted at rest
