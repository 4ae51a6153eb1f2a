"""Linked records both sides can understand (issue 10 §4): each side names the other program, its case number
only as the consent allows, when and under which consent the records were linked; a victim-service provider
is never named without its consent; revoking asks for a reason; a former recipient is told plainly that
sharing ended, while everyone else still gets "not found". [DESIGN §7; SECURITY.md Access 1, 2, 5]"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.audit import AuditEvent
from app.models import utcnow
from app.models_sharing import BreakGlass, Consent
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    KATHERINE,
    REVOKE_REASON,
    Side,
    add_youth,
    candidates,
    consent,
    link,
    screen,
    section,
    side,
)

MISSING = "0" * 32


def _text(page: str) -> str:
    """What a reader sees: the words of the page, without tags."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def _links(client: TestClient, youth_id: str) -> str:
    return _text(section(client.get(f"/youth/{youth_id}").text, "links"))


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _linked(client: TestClient, world: World) -> tuple[Side, Side, str, str, dict[str, Any]]:
    """Riverbend holds a screened record and releases it to Harbor; Harbor links its own record of the youth."""
    river = side(client, world, "Riverbend Youth Services")
    harbor = side(client, world, "Harbor Drop-In Center")
    youth_r = add_youth(client, river, "RB-1001", KATHERINE)
    done = screen(client, river, youth_r)
    given = consent(client, river, youth_r, harbor, categories=("result_summary",))
    youth_h = add_youth(client, harbor, "HD-2002", KATE)
    assert link(client, harbor, youth_h).status_code == 201
    return river, harbor, youth_r, youth_h, {"consent": given, "screening": done}


def test_each_side_names_the_other_program_and_its_case_number_only_as_the_consent_allows(
    client: TestClient, world: World
) -> None:
    river, harbor, youth_r, youth_h, made = _linked(client, world)

    sign_in(client, harbor.users["screener"])  # the side that linked: Riverbend's release covers result summaries
    seen = _links(client, youth_h)
    assert "Riverbend Youth Services Case number: RB-1001" in seen
    assert f"{_today()}" in seen and "by your agency" in seen
    assert "Consent from Riverbend Youth Services to Harbor Drop-In Center" in seen and "Linked" in seen
    assert "Undo link" in seen

    sign_in(client, river.users["screener"])  # the other side: Harbor has released nothing to Riverbend
    seen = _links(client, youth_r)
    assert "Harbor Drop-In Center Case number not shared" in seen and "HD-2002" not in seen
    assert "by the other program" in seen and "Consent from Riverbend Youth Services to Harbor Drop-In Center" in seen
    assert "Undo link" not in seen  # only the agency that linked may undo it
    assert "RB-1001" in _text(client.get(f"/youth/{youth_r}").text)  # its own case number, as always

    consent(client, harbor, youth_h, river, categories=("item_answers",))  # answers, but not the result summary
    assert "HD-2002" not in _links(client, youth_r)
    consent(client, harbor, youth_h, river, categories=("result_summary",))
    assert "Harbor Drop-In Center Case number: HD-2002" in _links(client, youth_r)

    revoked = client.post(
        f"/api/v1/consents/{made['consent']['id']}/revoke", headers=river.api, json={"reason": REVOKE_REASON}
    )
    assert revoked.status_code == 200
    sign_in(client, harbor.users["screener"])  # the consent is over: Riverbend is still named, its number is not
    seen = _links(client, youth_h)
    assert "Riverbend Youth Services Case number not shared" in seen and "RB-1001" not in seen
    assert f"Revoked on {_today()} by Test screener (Riverbend Youth Services)" in seen
    assert f"Reason: {REVOKE_REASON}" in seen


def test_a_victim_service_provider_is_not_named_to_an_agency_it_has_not_consented_to(
    client: TestClient, world: World
) -> None:
    eastside = side(client, world, "Eastside Child Welfare", "child_welfare")
    shelter = side(client, world, "Harbor Safe Shelter", "victim_service")
    youth_e = add_youth(client, eastside, "ES-1", KATHERINE)
    consent(client, eastside, youth_e, shelter)  # Eastside releases to the shelter, which links its own record
    youth_s = add_youth(client, shelter, "HS-1", KATE)
    assert link(client, shelter, youth_s).status_code == 201

    sign_in(client, shelter.users["screener"])
    assert "Eastside Child Welfare Case number: ES-1" in _links(client, youth_s)

    sign_in(client, eastside.users["screener"])  # the link would tell Eastside that the shelter serves the youth
    page = client.get(f"/youth/{youth_e}").text
    assert "This record is not linked to a record at another program." in _links(client, youth_e)
    assert "HS-1" not in page and "Harbor Safe Shelter" not in _text(section(page, "links"))

    consent(client, shelter, youth_s, eastside, categories=("notes",))  # the shelter consents: now it is named
    seen = _links(client, youth_e)
    assert "Harbor Safe Shelter Case number not shared" in seen and "by the other program" in seen
    consent(client, shelter, youth_s, eastside, categories=("result_summary",))
    assert "Harbor Safe Shelter Case number: HS-1" in _links(client, youth_e)


def test_revoking_on_the_page_confirms_and_needs_a_reason_that_both_sides_see(client: TestClient, world: World) -> None:
    river, harbor, youth_r, youth_h, made = _linked(client, world)
    consent_id = made["consent"]["id"]
    csrf = sign_in(client, river.users["supervisor"])
    listed = section(client.get(f"/youth/{youth_r}").text, "consents")
    assert f'href="/youth/{youth_r}/consents/{consent_id}/revoke"' in listed  # a link to the confirm step

    confirm = client.get(f"/youth/{youth_r}/consents/{consent_id}/revoke")
    assert confirm.status_code == 200
    shown = _text(confirm.text)
    assert "Revoke the consent to share with Harbor Drop-In Center?" in shown
    assert "from its next request on, Harbor Drop-In Center can no longer open" in shown
    assert "Answers already disclosed in screenings that Harbor Drop-In Center has completed stay with" in shown
    assert 'name="reason"' in confirm.text and "required" in confirm.text

    for blank in ("", "   \n  ", "x" * 1001):
        refused = client.post(
            f"/youth/{youth_r}/consents/{consent_id}/revoke", data={"csrf_token": csrf, "reason": blank}
        )
        assert refused.status_code == 400
        assert "Write why the consent is revoked, in at most 1000 characters." in _text(refused.text)
    world.session.expire_all()
    assert world.session.get(Consent, consent_id).revoked_at is None  # type: ignore[union-attr]
    sign_in(client, harbor.users["screener"])
    assert client.get(f"/screenings/{made['screening']['id']}/result").status_code == 200  # still shared

    csrf = sign_in(client, river.users["supervisor"])
    done = client.post(
        f"/youth/{youth_r}/consents/{consent_id}/revoke",
        data={"csrf_token": csrf, "reason": f"  {REVOKE_REASON}  "},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/youth/{youth_r}#consent-{consent_id}"
    mine = _text(section(client.get(f"/youth/{youth_r}").text, "consents"))
    told = f"Revoked on {_today()} by Test supervisor (Riverbend Youth Services) Reason: {REVOKE_REASON}"
    assert told in mine
    assert client.get(f"/youth/{youth_r}/consents/{consent_id}/revoke", follow_redirects=False).status_code == 303

    sign_in(client, harbor.users["screener"])  # the recipient knew of the consent: it sees the same
    assert told in _text(section(client.get(f"/youth/{youth_h}").text, "consents"))

    world.session.expire_all()
    stored = world.session.get(Consent, consent_id)
    assert stored is not None and stored.revoke_reason_enc and REVOKE_REASON not in stored.revoke_reason_enc
    (event,) = world.session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "consent.revoke")
    ).all()
    assert event.object_id == consent_id and REVOKE_REASON not in str(event.detail)


def test_the_api_refuses_a_revocation_without_a_reason_and_changes_nothing(client: TestClient, world: World) -> None:
    river, harbor, youth_r, youth_h, made = _linked(client, world)
    url = f"/api/v1/consents/{made['consent']['id']}/revoke"
    for body in (None, {}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 1001}):
        refused = client.post(url, headers=river.api, json=body)
        assert refused.status_code == 400, (body, refused.text)
        problem = refused.json()
        assert problem["error"] == "invalid_input" and problem["detail"]["field"] == "reason"
        assert "reason" in problem["message"] and "1000 characters" in problem["message"]
    (still,) = client.get(f"/api/v1/youth/{youth_r}/consents", headers=river.api).json()
    assert still["active"] is True and still["revoked_at"] is None

    revoked = client.post(url, headers=river.api, json={"reason": REVOKE_REASON})
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoke_reason"] == REVOKE_REASON
    (received,) = client.get(f"/api/v1/youth/{youth_h}/consents", headers=harbor.api).json()
    assert received["revoke_reason"] == REVOKE_REASON and received["revoked_by"] == river.users["screener"].id


def test_the_recipient_is_told_on_its_own_record_when_sharing_stopped(client: TestClient, world: World) -> None:
    river, harbor, youth_r, youth_h, made = _linked(client, world)
    sign_in(client, harbor.users["screener"])
    assert 'id="sharing-ended"' not in client.get(f"/youth/{youth_h}").text

    given = world.session.get(Consent, made["consent"]["id"])
    assert given is not None
    given.starts_at, given.ends_at = utcnow() - timedelta(days=30), utcnow() - timedelta(days=2)
    world.session.commit()
    expired_on = given.ends_at.date().isoformat()
    page = client.get(f"/youth/{youth_h}").text
    told = f"Riverbend Youth Services stopped sharing on {expired_on} (consent expired)."
    assert f"{told} Your agency no longer sees what that program shared about this youth." in _text(
        section(page, "sharing-ended")
    )
    stale = client.get(f"/screenings/{made['screening']['id']}/result")
    assert f"Riverbend Youth Services stopped sharing on {expired_on} (consent expired)." in _text(stale.text)

    renewed = consent(client, river, youth_r, harbor)  # a new release: nothing has ended any more
    assert 'id="sharing-ended"' not in client.get(f"/youth/{youth_h}").text
    client.post(f"/api/v1/consents/{renewed['id']}/revoke", headers=river.api, json={"reason": REVOKE_REASON})
    seen = _text(section(client.get(f"/youth/{youth_h}").text, "sharing-ended"))
    assert f"Riverbend Youth Services stopped sharing on {_today()} (consent revoked)." in seen

    sign_in(client, river.users["screener"])  # the program that stopped sharing is not told it stopped
    assert 'id="sharing-ended"' not in client.get(f"/youth/{youth_r}").text


def test_a_stale_link_tells_the_former_recipient_and_nobody_else(client: TestClient, world: World) -> None:
    river, harbor, _, youth_h, made = _linked(client, world)
    eastside = side(client, world, "Eastside Child Welfare", "child_welfare")  # never given anything
    youth_e = add_youth(client, eastside, "ES-7", KATE)
    screening = made["screening"]["id"]
    pages = [
        f"/screenings/{screening}/result",
        f"/screenings/{screening}/summary",
        f"/screenings/{screening}/revisions/1",
    ]
    sign_in(client, harbor.users["screener"])
    assert [client.get(page).status_code for page in pages] == [200, 200, 200]

    client.post(f"/api/v1/consents/{made['consent']['id']}/revoke", headers=river.api, json={"reason": REVOKE_REASON})
    for page in pages:
        stale = client.get(page)
        shown = _text(stale.text)
        assert stale.status_code == 403, page
        assert "Your agency no longer has access to this screening" in shown
        assert f"Riverbend Youth Services stopped sharing on {_today()} (consent revoked)." in shown
        assert "Something went wrong" not in shown and "Clear concern" not in shown  # no result, no error page
        assert f'href="/youth/{youth_h}#links"' in stale.text
    assert client.get(f"/api/v1/screenings/{screening}/result", headers=harbor.api).status_code == 404
    missing_here = client.get(f"/screenings/{MISSING}/result")
    assert missing_here.status_code == 404 and "Riverbend" not in missing_here.text

    sign_in(client, eastside.users["screener"])  # an outsider: exactly what a screening that does not exist gives
    for page in pages:
        outsider, missing = client.get(page), client.get(page.replace(screening, MISSING))
        assert outsider.status_code == missing.status_code == 404
        assert outsider.text.replace(screening, MISSING) == missing.text
    assert "Riverbend" not in _links(client, youth_e)


def test_a_record_linked_to_one_program_is_not_split_from_it_by_a_link_to_another(
    client: TestClient, world: World
) -> None:
    """Harbor's record is one youth with Riverbend's; linking it to a third program's record would have moved it
    to that program's person alone, so Riverbend's screening left Harbor's record while the links still said
    "shared". The link is refused, says what to do instead, and changes nothing; the other program can still
    link its record to the youth."""
    river, harbor, youth_r, youth_h, made = _linked(client, world)
    shelter = side(client, world, "Eastside Shelter")
    youth_s = add_youth(client, shelter, "ES-3003", KATHERINE)
    screen(client, shelter, youth_s)
    consent(client, shelter, youth_s, harbor, categories=("result_summary",))
    timeline = client.get(f"/api/v1/youth/{youth_h}/timeline", headers=harbor.api)
    assert made["screening"]["id"] in [e["screening_id"] for e in timeline.json()]
    record_before = client.get(f"/api/v1/youth/{youth_h}", headers=harbor.api).json()

    refused = link(client, harbor, youth_h)

    assert refused.status_code == 400, refused.text
    assert "already linked" in refused.json()["detail"]
    assert "that program can link its record to this youth" in refused.json()["detail"]
    after = client.get(f"/api/v1/youth/{youth_h}/timeline", headers=harbor.api)
    assert [e["screening_id"] for e in after.json()] == [e["screening_id"] for e in timeline.json()]
    assert client.get(f"/api/v1/youth/{youth_h}", headers=harbor.api).json() == record_before
    csrf = sign_in(client, harbor.users["screener"])
    matches = section(client.get(f"/youth/{youth_h}").text, "possible-matches")
    assert "that program can link its record to this youth" in _text(matches)  # said before anyone tries
    assert "/links" not in matches and "Break glass" not in matches  # and nothing offers the link
    (handle,) = candidates(client, harbor, youth_h)
    refused_page = client.post(f"/youth/{youth_h}/links", data={"csrf_token": csrf, "candidate": handle})
    assert refused_page.status_code == 400
    assert "that program can link its record to this youth" in _text(refused_page.text)
    assert "Eastside" not in _links(client, youth_h)
    glass = {"reason": "Youth arrived in crisis overnight; the shelter's screening is needed now.", "hours": 24}
    refused_glass = link(client, harbor, youth_h, role="supervisor", glass=glass)
    assert refused_glass.status_code == 400 and "already linked" in refused_glass.json()["detail"]
    assert world.session.exec(select(BreakGlass)).all() == []  # a refused link opens no break-glass
    river_sees = client.get(f"/api/v1/youth/{youth_r}/timeline", headers=river.api).json()
    assert [e["screening_id"] for e in river_sees] == [made["screening"]["id"]]

    # The way the message gives: Harbor records the youth's release to the shelter, and the shelter links its record.
    consent(client, harbor, youth_h, shelter, categories=("result_summary",))
    handles = candidates(client, shelter, youth_s)
    assert handles
    joined = client.post(f"/api/v1/youth/{youth_s}/links", headers=shelter.api, json={"candidate": handles[0]})
    assert joined.status_code == 201, joined.text
    consent(client, shelter, youth_s, harbor, categories=("result_summary",))  # about the youth it now belongs to
    together = client.get(f"/api/v1/youth/{youth_h}/timeline", headers=harbor.api).json()
    assert {made["screening"]["id"], *[e["screening_id"] for e in timeline.json()]} <= {
        e["screening_id"] for e in together
    }
    assert len(together) == len(timeline.json()) + 1  # and the shelter's screening, under its release to Harbor
