"""Referrals close the loop: sent only under a covering consent, answered by the partner through the FHIR Task
lifecycle, every change seen by the sender, every view in the ledger, cancelled when the consent is revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import col, func, select

from app import access
from app.models import Agency, AuditEvent, Youth, YouthLink
from app.models_referrals import Referral, ReferralEvent
from app.models_sharing import Category, Consent
from tests.app.conftest import World, bearer, sign_in
from tests.app.sharing_support import REVOKE_REASON, Side, add_youth, ledger, screen, side

WHY = "Needs a safe place to stay and a health check this week."


def release(
    client: TestClient,
    at: Side,
    youth_id: str,
    to: Side,
    categories: tuple[str, ...] = ("result_summary",),
    purpose: str = "referral",
) -> dict[str, Any]:
    """The youth's release from `at` to `to` for `purpose`."""
    ends = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    body = {"to_agency_id": to.agency.id, "grantor": "youth", "authority": "Youth's signed release"}
    body |= {"categories": list(categories), "purpose": purpose, "ends_at": ends, "method": "written"}
    response = client.post(f"/api/v1/youth/{youth_id}/consents", headers=at.api, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def refer(client: TestClient, at: Side, youth_id: str, to: Side, screening_ids: list[str], **more: Any) -> Any:
    body = {"youth_id": youth_id, "to_agency_id": to.agency.id, "screening_ids": screening_ids, "reason": WHY}
    body |= {"preparer_contact": "555-0142, ask for the intake desk"} | more
    return client.post("/api/v1/referrals", headers=at.api, json=body)


def move(client: TestClient, at: Side, referral_id: str, status: str, **more: Any) -> Any:
    return client.post(f"/api/v1/referrals/{referral_id}/status", headers=at.api, json={"status": status, **more})


@pytest.fixture
def parties(client: TestClient, world: World) -> tuple[Side, Side, Side, str, str]:
    """Riverside (sends), Bayview (receives, holds no record of the youth), Hilltop (a third program)."""
    a = side(client, world, "Riverside Youth Services")
    b = side(client, world, "Bayview Shelter", "shelter")
    c = side(client, world, "Hilltop Clinic", "health")
    youth = add_youth(client, a, "RS-77")
    done = screen(client, a, youth)
    return a, b, c, youth, done["id"]


def count(world: World, model: Any) -> int:
    return int(world.session.exec(select(func.count()).select_from(model)).one())


def test_a_referral_needs_a_consent_that_covers_it(client: TestClient, world: World, parties: Any) -> None:
    """No consent, the wrong purpose, too few categories: each refused with a message that says what is missing,
    through the API and the page, and nothing is written."""
    a, b, _c, youth, done = parties
    refused = refer(client, a, youth, b, [done])
    assert refused.status_code == 400
    assert refused.json()["detail"] == {"field": "consent"}
    assert "No consent in force" in refused.json()["message"] and "Bayview Shelter" in refused.json()["message"]
    release(client, a, youth, b, purpose="care_coordination")
    wrong_purpose = refer(client, a, youth, b, [done])
    assert wrong_purpose.status_code == 400 and "does not cover this purpose" in wrong_purpose.json()["message"]
    release(client, a, youth, b)
    too_much = refer(client, a, youth, b, [done], categories=["result_summary", "item_answers"])
    assert too_much.status_code == 400 and "does not cover everything" in too_much.json()["message"]
    assert count(world, Referral) == 0

    csrf = sign_in(client, a.users["screener"])
    form = {"csrf_token": csrf, "to_agency_id": b.agency.id, "screening_ids": done, "categories": "item_answers"}
    form |= {"reason": WHY, "preparer_contact": "555-0142", "purpose": "referral", "urgency": "urgent"}
    page = client.post(f"/youth/{youth}/referrals", data=form, follow_redirects=False)
    assert page.status_code == 400
    assert "does not cover everything" in page.text and WHY in page.text  # the form comes back with what was typed
    assert count(world, Referral) == 0
    sent = client.post(
        f"/youth/{youth}/referrals", data=form | {"categories": "result_summary"}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith("/referrals/")
    assert count(world, Referral) == 1


def test_the_whole_loop(client: TestClient, world: World, parties: Any) -> None:
    """Sent, seen in the partner's inbox, accepted (the partner gains a record), in progress, completed;
    the sender sees each change, every change is audited, every view by the partner is in the ledger."""
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    sent = refer(client, a, youth, b, [done], urgency="urgent")
    assert sent.status_code == 201, sent.text
    rid = sent.json()["id"]
    assert sent.json()["status"] == "requested" and sent.json()["sender_case_ref"] == "RS-77"

    inbox = client.get("/api/v1/referrals?box=inbox", headers=b.api).json()
    assert inbox["counts"]["requested"] == 1 and sum(inbox["counts"].values()) == 1
    (row,) = inbox["items"]
    assert (row["given_name"], row["family_name"], row["reason"]) == ("Katherine", "Nowak", WHY)
    assert row["from_agency"] == "Riverside Youth Services" and row["youth_id"] is None
    assert any(d.categories == ["referral"] for d in ledger(world, b.agency.id))
    assert access.may_read(world.session, b.users["screener"], done, Category.result_summary, "referral")
    assert not access.may_read(world.session, b.users["screener"], done, Category.item_answers, "referral")

    assert client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()["status"] == "requested"
    opened = client.get(f"/api/v1/referrals/{rid}", headers=b.api).json()  # the partner's first look
    assert opened["status"] == "received" and opened["events"][-1]["by_agency"] == "Bayview Shelter"
    refused = move(client, b, rid, "accepted")
    assert refused.status_code == 400 and "case number" in refused.json()["message"]
    accepted = move(client, b, rid, "accepted", recipient_case_ref="BV-9")
    assert accepted.status_code == 200, accepted.text
    own = accepted.json()["youth_id"]
    record = world.session.get(Youth, own)
    assert record is not None and record.person_id == world.session.get(Youth, youth).person_id  # type: ignore[union-attr]
    assert world.session.exec(select(YouthLink).where(YouthLink.youth_id == own)).one().agency_id == b.agency.id

    seen = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    assert seen["status"] == "accepted" and seen["recipient_case_ref"] == "BV-9"
    assert move(client, b, rid, "in-progress").status_code == 200
    assert move(client, b, rid, "completed").status_code == 200
    seen = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    steps = ["requested", "received", "accepted", "in-progress", "completed"]
    assert [e["to_status"] for e in seen["events"]] == steps
    assert [e["by_agency"] for e in seen["events"][1:]] == ["Bayview Shelter"] * 4
    audited = world.session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "referral.status")
    ).all()
    assert [e.detail["to"] for e in audited] == steps[1:]
    assert client.get("/api/v1/referrals?box=sent", headers=a.api).json()["counts"]["completed"] == 1


def test_each_side_moves_only_its_own_steps(client: TestClient, world: World, parties: Any) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    rid = refer(client, a, youth, b, [done]).json()["id"]
    assert move(client, a, rid, "accepted").status_code == 400  # the partner accepts, not the sender
    assert move(client, b, rid, "cancelled", reason="x").status_code == 400  # the sender cancels
    assert move(client, b, rid, "completed").status_code == 400  # not before accepting
    no_reason = move(client, b, rid, "rejected")
    assert no_reason.status_code == 400 and no_reason.json()["detail"] == {"field": "reason"}
    stale = move(client, b, rid, "received", version=99)
    assert stale.status_code == 409
    assert world.session.exec(select(Referral)).one().status == "requested"  # nothing changed
    declined = move(client, b, rid, "rejected", reason="We have no bed for a 14-year-old; try Hilltop.")
    assert declined.status_code == 200
    assert move(client, b, rid, "accepted", recipient_case_ref="BV-1").status_code == 400  # a decline is final
    seen = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    assert seen["status"] == "rejected" and seen["status_reason"].startswith("We have no bed")
    after = client.get(f"/api/v1/referrals/{rid}", headers=b.api).json()  # the partner declined: identity closed
    assert after["status"] == "rejected" and after["given_name"] == "" and after["reason"] == ""
    assert after["screening_ids"] == []


def test_a_third_agency_sees_nothing(client: TestClient, world: World, parties: Any) -> None:
    """Hilltop holds a record of the same youth and a consent from Riverside, and still sees no referral
    to Bayview; nor can Bayview pass Riverside's screening on in a referral of its own."""
    a, b, c, youth, done = parties
    release(client, a, youth, b)
    release(client, a, youth, c, categories=("result_summary", "item_answers"))
    rid = refer(client, a, youth, b, [done]).json()["id"]
    assert client.get(f"/api/v1/referrals/{rid}", headers=c.api).status_code == 404
    assert client.get("/api/v1/referrals?box=inbox", headers=c.api).json()["items"] == []
    assert move(client, c, rid, "received").status_code == 404
    accepted = move(client, b, rid, "accepted", recipient_case_ref="BV-2").json()
    onward = refer(client, b, accepted["youth_id"], c, [done])
    assert onward.status_code == 400 and onward.json()["detail"] == {"field": "screening_ids"}


def test_revoking_the_consent_cancels_the_referral(client: TestClient, world: World, parties: Any) -> None:
    a, b, _c, youth, done = parties
    given = release(client, a, youth, b)
    rid = refer(client, a, youth, b, [done]).json()["id"]
    move(client, b, rid, "received")
    assert access.may_read(world.session, b.users["screener"], done, Category.result_summary, "referral")
    revoked = client.post(f"/api/v1/consents/{given['id']}/revoke", headers=a.api, json={"reason": REVOKE_REASON})
    assert revoked.status_code == 200
    world.session.expire_all()
    assert not access.may_read(world.session, b.users["screener"], done, Category.result_summary, "referral")
    seen = client.get(f"/api/v1/referrals/{rid}", headers=b.api).json()
    assert seen["status"] == "cancelled" and seen["given_name"] == "" and WHY not in str(seen)
    last = world.session.exec(select(ReferralEvent).order_by(col(ReferralEvent.at).desc())).first()
    assert last is not None and (last.to_status, last.via) == ("cancelled", "consent")
    sender = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    assert sender["status"] == "cancelled" and sender["given_name"] == "Katherine"


def test_an_outside_partner_is_answered_by_hand(client: TestClient, world: World, parties: Any) -> None:
    """A partner outside TellOnce has no accounts: the sender records what it says back."""
    a, _b, _c, youth, done = parties
    outside = Side(client, world.agency("Lakeside Community Clinic", "health"))
    outside.agency.external, outside.agency.contact = True, "Intake line 555-0199"
    world.session.add(outside.agency)
    world.session.commit()
    release(client, a, youth, outside)
    rid = refer(client, a, youth, outside, [done], recipient_contact="Dr. Example").json()["id"]
    seen = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    assert seen["to_external"] and seen["recipient_contact"] == "Dr. Example; Intake line 555-0199"
    assert move(client, a, rid, "accepted", recipient_case_ref="LK-1").status_code == 200
    seen = client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()
    events = seen["events"]
    assert events[-1]["via"] == "by_hand" and events[-1]["by_agency"] == "Riverside Youth Services"
    assert seen["recipient_case_ref"] == "LK-1"  # what the partner told the sender


def test_dashboard_and_record_show_where_referrals_stand(client: TestClient, world: World, parties: Any) -> None:
    a, b, c, youth, done = parties
    release(client, a, youth, b)
    release(client, a, youth, c)
    first = refer(client, a, youth, c, [done]).json()["id"]
    second = refer(client, a, youth, b, [done]).json()["id"]
    move(client, b, second, "rejected", reason="Outside our county.")
    third = refer(client, a, youth, b, [done]).json()["id"]
    move(client, b, third, "accepted", recipient_case_ref="BV-3")
    old = world.session.get(Referral, first)
    assert old is not None
    old.status_changed_at = datetime.now(UTC) - timedelta(days=20)
    world.session.add(old)
    world.session.commit()
    sign_in(client, a.users["screener"])
    page = client.get("/").text
    assert "Referrals waiting on a partner (1)" in page and "Referrals declined (1)" in page
    assert "Referrals with no change for 14 days (1)" in page and "Partners' answers this week (1)" in page
    record = client.get(f"/youth/{youth}").text
    assert record.count('id="referral-') == 3 and "Declined" in record and "Accepted" in record
    sign_in(client, c.users["screener"])
    assert "New referrals to your agency (1)" in client.get("/").text


def test_the_inbox_reads_in_a_constant_number_of_queries(client: TestClient, world: World, parties: Any) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    engine = world.session.get_bind()
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    def inbox_queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert client.get("/api/v1/referrals?box=inbox", headers=b.api).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    def send_again() -> None:  # one open referral per partner at a time: cancel, then send anew
        rid = refer(client, a, youth, b, [done]).json()["id"]
        assert move(client, a, rid, "cancelled", reason="Sent again with a new reason.").status_code == 200

    send_again()
    b.api  # noqa: B018  (sign in before counting)
    few = inbox_queries()
    for _ in range(6):
        send_again()
    assert inbox_queries() == few
    assert len(client.get("/api/v1/referrals?box=inbox", headers=b.api).json()["items"]) == 7


def test_a_system_admin_adds_a_partner_outside_tellonce(client: TestClient, world: World) -> None:
    """Such a partner can be named in consents and referrals, and never gets an account."""
    home = world.agency("Riverside Youth Services")
    admin = world.user(home, "system_admin")
    csrf = sign_in(client, admin)
    form = {"csrf_token": csrf, "name": "Lakeside Community Clinic", "kind": "health", "external": "on"}
    added = client.post("/admin/agencies", data=form | {"contact": "Intake 555-0199"}, follow_redirects=False)
    assert added.status_code == 303
    page = client.get("/admin/agencies").text
    assert "No: a partner outside TellOnce" in page and "Intake 555-0199" in page
    clinic = world.session.exec(select(Agency).where(Agency.name == "Lakeside Community Clinic")).one()
    assert clinic.external and clinic.contact == "Intake 555-0199"
    body = {"agency_id": clinic.id, "email": "someone@lakeside.example.org", "display_name": "Someone"}
    body |= {"role": "screener", "password": "a long and unusual passphrase 9"}
    refused = client.post("/api/v1/users", headers=bearer(client, admin), json=body)
    assert refused.status_code == 400 and "outside TellOnce" in refused.json()["message"]


def test_the_partner_reads_what_the_referral_shares_and_no_more(client: TestClient, world: World, parties: Any) -> None:
    """The consent covers the answers, the referral shares only the result: the partner's summary (page and PDF)
    names the youth and the reason and holds no answer; each read is in the ledger."""
    a, b, _c, youth, done = parties
    release(client, a, youth, b, categories=("result_summary", "item_answers"))
    rid = refer(client, a, youth, b, [done], categories=["result_summary"]).json()["id"]
    sign_in(client, b.users["screener"])
    before = len(ledger(world, b.agency.id))
    page = client.get(f"/referrals/{rid}/screenings/{done}/summary")
    assert page.status_code == 200, page.text
    assert "Katherine" in page.text and WHY in page.text and "RS-77" in page.text
    assert 'id="s-answers"' not in page.text and 'class="evidence"' not in page.text
    pdf = client.get(f"/referrals/{rid}/screenings/{done}/summary.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    shown = ledger(world, b.agency.id)[before:]
    assert shown and all(d.categories in (["result_summary"], ["referral"]) for d in shown)
    other = screen(client, a, youth)["id"]  # not shared by this referral
    assert client.get(f"/referrals/{rid}/screenings/{other}/summary").status_code == 404


def test_the_partner_reads_nothing_beyond_the_referral(client: TestClient, world: World, parties: Any) -> None:
    """The consent covers answers and notes; the referral shares the result of one screening. Through any route
    and any purpose, before and after accepting, the partner reads that result and nothing more."""
    a, b, _c, youth, done = parties
    second = screen(client, a, youth)["id"]
    release(client, a, youth, b, categories=("result_summary", "item_answers", "notes"))
    rid = refer(client, a, youth, b, [done]).json()["id"]
    sign_in(client, b.users["screener"])
    general = client.get(f"/screenings/{done}/summary?purpose=referral")
    assert general.status_code == 200 and 'id="s-answers"' not in general.text  # the result only
    assert client.get(f"/screenings/{second}/summary?purpose=referral").status_code == 404  # not in the referral
    assert client.get(f"/screenings/{done}/summary").status_code == 404  # another purpose: no consent for it
    move(client, b, rid, "accepted", recipient_case_ref="BV-4")
    assert client.get(f"/screenings/{second}/summary?purpose=referral").status_code == 404  # accepting opens no more
    after = client.get(f"/screenings/{done}/summary?purpose=referral")
    assert after.status_code == 200 and 'id="s-answers"' not in after.text


def test_a_declined_referral_opens_nothing_even_to_a_linked_partner(
    client: TestClient, world: World, parties: Any
) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    rid = refer(client, a, youth, b, [done]).json()["id"]
    move(client, b, rid, "accepted", recipient_case_ref="BV-5")  # Bayview now holds a linked record
    move(client, b, rid, "completed")
    again = refer(client, a, youth, b, [done]).json()["id"]
    assert move(client, b, again, "rejected", reason="Already served.").status_code == 200
    sign_in(client, b.users["screener"])
    assert client.get(f"/referrals/{again}/screenings/{done}/summary").status_code == 404
    assert client.get(f"/referrals/{again}/screenings/{done}/summary.pdf").status_code == 404


def test_a_consent_that_ends_any_way_cancels_the_referral(client: TestClient, world: World, parties: Any) -> None:
    """Changed and then revoked, or simply expired: the referral is cancelled, and says why."""
    a, b, c, youth, done = parties
    given = release(client, a, youth, b)
    changed = client.post(
        f"/api/v1/consents/{given['id']}/supersede",
        headers=a.api,
        json={
            **{k: given[k] for k in ("to_agency_id", "grantor", "authority", "categories", "purpose", "method")},
            "ends_at": given["ends_at"],
            "youth_id": youth,
        },
    )
    assert changed.status_code == 201, changed.text
    rid = refer(client, a, youth, b, [done]).json()["id"]
    assert client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()["status"] == "requested"
    client.post(f"/api/v1/consents/{changed.json()['id']}/revoke", headers=a.api, json={"reason": REVOKE_REASON})
    assert client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()["status"] == "cancelled"

    short = release(client, a, youth, c)
    rid = refer(client, a, youth, c, [done]).json()["id"]
    lapsed = world.session.get(Consent, short["id"])
    assert lapsed is not None
    lapsed.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    world.session.add(lapsed)
    world.session.commit()
    seen = client.get(f"/api/v1/referrals/{rid}", headers=c.api).json()
    assert seen["status"] == "cancelled" and seen["given_name"] == ""
    assert seen["events"][-1]["via"] == "consent"


def test_a_double_click_changes_nothing_and_each_side_keeps_its_own_case_number(
    client: TestClient, world: World, parties: Any
) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    rid = refer(client, a, youth, b, [done]).json()["id"]
    version = client.get(f"/api/v1/referrals/{rid}", headers=b.api).json()["version"]
    first = move(client, b, rid, "accepted", recipient_case_ref="BV-6", version=version)
    twice = move(client, b, rid, "accepted", recipient_case_ref="BV-6", version=version)
    assert first.status_code == twice.status_code == 200 and len(twice.json()["events"]) == 3
    assert move(client, a, rid, "accepted").status_code == 400  # the partner's answer is not the sender's to repeat
    overwrite = move(client, b, rid, "in-progress", recipient_case_ref="HC-BOGUS")
    assert overwrite.status_code == 400 and overwrite.json()["detail"] == {"field": "recipient_case_ref"}
    cancel = move(client, a, rid, "cancelled", reason="x", recipient_case_ref="SENDER-FAKE")
    assert cancel.status_code == 400
    assert client.get(f"/api/v1/referrals/{rid}", headers=a.api).json()["recipient_case_ref"] == "BV-6"


def test_one_open_referral_per_partner_and_clean_text(client: TestClient, world: World, parties: Any) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    assert refer(client, a, youth, b, [done]).status_code == 201
    again = refer(client, a, youth, b, [done])
    assert again.status_code == 400 and "still open" in again.json()["message"]
    assert again.json()["detail"] == {"field": "to_agency_id"}
    nul = refer(client, a, youth, b, [done], reason="Needs help\x00 now")
    assert nul.status_code in (400, 422) and "reason" in nul.text
    assert count(world, Referral) == 1
    partners = client.get("/api/v1/referrals/partners", headers=a.api).json()
    assert {p["name"] for p in partners} == {"Bayview Shelter", "Hilltop Clinic"}


def test_errors_read_in_the_readers_language(client: TestClient, world: World, parties: Any) -> None:
    a, b, _c, youth, done = parties
    release(client, a, youth, b)
    rid = refer(client, a, youth, b, [done]).json()["id"]
    assert client.patch("/api/v1/me", headers=b.api, json={"language": "es"}).status_code == 200
    sign_in(client, b.users["screener"])
    page = client.get(f"/referrals/{rid}")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(f"/referrals/{rid}/status", data={"csrf_token": csrf, "status": "completed"})
    assert refused.status_code == 400
    assert "«Completada»" in refused.text and "«Recibida»" in refused.text and "Completed" not in refused.text
