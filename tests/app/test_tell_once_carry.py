"""What carries from one agency's screening into another's, and when it counts (issue 10, §3).

Only the youth's words carry (self-report or interview answers), from an agency that consents now, within
the look-back the instrument allows for that question; a carried answer counts once confirmed; staff
ratings and staff corrections never carry; a repeat screening at the same agency asks again; a revoked or
expired consent takes unconfirmed carried answers out of the recipient's open drafts on the next request.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from app.main import loaded_instruments
from app.models import Screening, utcnow
from app.models_sharing import Consent
from app.screenings import service as screenings
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    PRACTITIONER,
    SELF_REPORT,
    Side,
    add_youth,
    consent,
    link,
    screen,
    side,
    start,
)

# What the youth said in A's check-in: past events (they carry) and a present-state question (never).
CHECK_IN = {"hurt_by_caregiver": "yes", "saw_violence": "no", "unwanted_touch": "not_sure", "unsafe_at_home": "yes"}
RATINGS = {"rate_housing_unstable": "possible_concern", "rate_coercion_debt": "clear_concern"}


def _latest_self_report() -> Any:
    return loaded_instruments().get(SELF_REPORT)


def _two_agencies(client: TestClient, world: World) -> tuple[Side, Side, str, str, dict[str, Any]]:
    """A screened the youth (an interview check-in) and consented to share with B; B linked its own record.
    Returns A, B, A's youth id, B's youth id, and the consent (with A's check-in under "check_in")."""
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    check_in = screen(client, a, youth_a, CHECK_IN, instrument=SELF_REPORT, mode="interview")
    given = consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    return a, b, youth_a, youth_b, {**given, "check_in": check_in["id"]}


def _carrying() -> set[str]:
    instrument = _latest_self_report()
    return {item for item in CHECK_IN if instrument.carry_days(item) is not None}


def test_the_bundled_check_in_never_carries_a_present_state_question() -> None:
    instrument = _latest_self_report()
    assert instrument.carry_days("unsafe_at_home") is None
    assert {"hurt_by_caregiver", "saw_violence"} <= _carrying()


def test_carried_answers_wait_for_confirmation_and_only_confirmed_ones_count(client: TestClient, world: World) -> None:
    _a, b, _ya, youth_b, _given = _two_agencies(client, world)
    started = start(client, b, youth_b)
    answers = started["answers"]
    assert set(answers) == _carrying()  # the present-state question is asked again, not carried
    assert all(v["source"] == "carried" and v["confirmed"] is False for v in answers.values())
    assert {v["given_by"] for v in answers.values()} == {"interview"}

    # Confirm one; change none: only the confirmed one is in the result and stays in the completed screening.
    saved = b.client.put(
        f"/api/v1/screenings/{started['id']}/answers",
        headers=b.api,
        json={"version": started["version"], "answers": {}, "confirm": ["hurt_by_caregiver"]},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["answers"]["hurt_by_caregiver"]["confirmed"] is True
    done = b.client.post(
        f"/api/v1/screenings/{started['id']}/complete", headers=b.api, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    kept = done.json()["answers"]
    assert set(kept) == {"hurt_by_caregiver"} and kept["hurt_by_caregiver"]["source"] == "carried"
    result = b.client.get(f"/api/v1/screenings/{started['id']}/result", headers=b.api).json()
    evidence = {e["item_id"] for i in result["indicators"] for e in i.get("evidence", ())}
    assert "hurt_by_caregiver" in evidence and "saw_violence" not in evidence

    # Confirming an answer that was not carried is refused, saying which and why; nothing changes.
    again = start(client, b, youth_b)
    refused = b.client.put(
        f"/api/v1/screenings/{again['id']}/answers",
        headers=b.api,
        json={"version": again["version"], "answers": {"saw_violence": "yes"}, "confirm": ["pictures"]},
    )
    assert refused.status_code == 400
    assert "pictures" in refused.text and "no carried answer to confirm" in refused.text
    unchanged = b.client.get(f"/api/v1/screenings/{again['id']}", headers=b.api).json()
    assert unchanged["answers"]["saw_violence"]["value"] == "no"


def test_staff_ratings_and_corrections_never_carry_as_the_youths_words(client: TestClient, world: World) -> None:
    a, b, youth_a, youth_b, given = _two_agencies(client, world)
    rated = screen(client, a, youth_a, RATINGS)
    check_in = given["check_in"]
    # A's staff correct one of the youth's answers after completion: the correction is not the youth's words.
    current = client.get(f"/api/v1/screenings/{check_in}", headers=a.api).json()
    amended = client.post(
        f"/api/v1/screenings/{check_in}/revisions",
        headers=a.api,
        json={"version": current["version"], "answers": {"saw_violence": "yes"}, "reason": "Told staff later."},
    )
    assert amended.status_code == 201, amended.text

    rating = start(client, b, youth_b, PRACTITIONER, "practitioner")
    assert rating["answers"] == {}  # A's staff ratings are never prefilled
    sign_in(client, b.users["screener"])
    page = html.unescape(client.get(f"/screenings/{rating['id']}?page=1").text)
    day = rated["completed_at"][:10]
    assert f"Northside Youth Services staff rated “Possible concern” on {day}. For context only" in page

    interview = start(client, b, youth_b)
    assert "saw_violence" not in interview["answers"]  # corrected by staff: not carried
    assert "hurt_by_caregiver" in interview["answers"]


def test_a_repeat_screening_at_the_same_agency_asks_every_question_again(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-1")
    first = screen(client, a, youth, CHECK_IN, instrument=SELF_REPORT, mode="interview")
    again = start(client, a, youth)
    assert again["answers"] == {}
    sign_in(client, a.users["screener"])
    page = html.unescape(client.get(f"/screenings/{again['id']}?page=2").text)
    day = first["completed_at"][:10]
    assert f"Your program recorded “Yes” on {day}. Ask again" in page  # staff see the earlier answer beside it
    assert 'value="yes" checked' not in page  # and nothing is ticked


def test_revoking_takes_unconfirmed_carried_answers_out_of_open_drafts(client: TestClient, world: World) -> None:
    a, b, _ya, youth_b, given = _two_agencies(client, world)
    draft = start(client, b, youth_b)
    confirmed = b.client.put(
        f"/api/v1/screenings/{draft['id']}/answers",
        headers=b.api,
        json={"version": draft["version"], "answers": {}, "confirm": ["hurt_by_caregiver"]},
    ).json()
    assert confirmed["answers"]["saw_violence"]["confirmed"] is False

    revoked = client.post(
        f"/api/v1/consents/{given['id']}/revoke", headers=a.api, json={"reason": "The youth asked to stop sharing."}
    )
    assert revoked.status_code == 200, revoked.text
    left = b.client.get(f"/api/v1/screenings/{draft['id']}", headers=b.api).json()["answers"]
    assert set(left) == {"hurt_by_caregiver"}  # confirmed with the youth: it stays, with where it was told
    assert left["hurt_by_caregiver"]["origin_agency_id"] == a.agency.id


def test_an_expired_consent_takes_unconfirmed_answers_out_on_the_next_page(client: TestClient, world: World) -> None:
    _a, b, _ya, youth_b, given = _two_agencies(client, world)
    draft = start(client, b, youth_b)
    assert draft["answers"]
    db = world.session
    row = db.get(Consent, given["id"])
    assert row is not None
    row.ends_at = utcnow() - timedelta(minutes=1)  # it ran out: nobody revoked it
    db.add(row)
    db.commit()
    sign_in(client, b.users["screener"])
    page = client.get(f"/screenings/{draft['id']}?page=1")
    assert page.status_code == 200 and "Northside Youth Services" not in page.text
    assert b.client.get(f"/api/v1/screenings/{draft['id']}", headers=b.api).json()["answers"] == {}
    screening = db.exec(select(Screening).where(Screening.id == draft["id"])).one()
    assert screenings.prune_carried(db, screening) == 0  # nothing left to take out


def test_an_ended_consent_leaves_nothing_unconfirmed_to_read_confirm_or_score(client: TestClient, world: World) -> None:
    """Expiry needs no request of its own: the next read of the draft, by any route, no longer has them."""
    _a, b, _ya, youth_b, given = _two_agencies(client, world)
    draft = start(client, b, youth_b)
    row = world.session.get(Consent, given["id"])
    assert row is not None
    row.ends_at = utcnow() - timedelta(minutes=1)
    world.session.add(row)
    world.session.commit()
    confirm = b.client.put(
        f"/api/v1/screenings/{draft['id']}/answers",
        headers=b.api,
        json={"version": draft["version"], "answers": {}, "confirm": ["hurt_by_caregiver"]},
    )
    assert confirm.status_code == 400 and "hurt_by_caregiver" in confirm.text  # nothing left to confirm
    sign_in(client, b.users["screener"])
    review = html.unescape(client.get(f"/screenings/{draft['id']}/review").text)
    assert "Northside" not in review and "Not sure" not in review
    done = b.client.post(
        f"/api/v1/screenings/{draft['id']}/complete", headers=b.api, json={"version": draft["version"]}
    )
    assert done.status_code == 200, done.text
    assert done.json()["answers"] == {}


def test_a_consent_narrowed_to_the_summary_withdraws_unconfirmed_answers(client: TestClient, world: World) -> None:
    a, b, youth_a, youth_b, given = _two_agencies(client, world)
    draft = start(client, b, youth_b)
    narrowed = client.post(
        f"/api/v1/consents/{given['id']}/supersede",
        headers=a.api,
        json={
            "youth_id": youth_a,
            "to_agency_id": b.agency.id,
            "grantor": "youth",
            "authority": "Youth's own signed release",
            "categories": ["result_summary"],
            "purpose": "care_coordination",
            "ends_at": (utcnow() + timedelta(days=30)).isoformat(),
            "method": "written",
        },
    )
    assert narrowed.status_code == 201, narrowed.text
    assert b.client.get(f"/api/v1/screenings/{draft['id']}", headers=b.api).json()["answers"] == {}


def test_revoking_one_of_two_consents_from_a_program_withdraws_nothing(client: TestClient, world: World) -> None:
    a, b, youth_a, youth_b, given = _two_agencies(client, world)
    second = consent(client, a, youth_a, b)
    draft = start(client, b, youth_b)
    why = {"reason": "Replaced by the newer release."}
    assert client.post(f"/api/v1/consents/{given['id']}/revoke", headers=a.api, json=why).status_code == 200
    assert set(b.client.get(f"/api/v1/screenings/{draft['id']}", headers=b.api).json()["answers"]) == _carrying()
    assert client.post(f"/api/v1/consents/{second['id']}/revoke", headers=a.api, json=why).status_code == 200
    assert b.client.get(f"/api/v1/screenings/{draft['id']}", headers=b.api).json()["answers"] == {}


def test_an_agency_sees_its_own_answers_inside_a_partners_screening(client: TestClient, world: World) -> None:
    """B confirmed what the youth told A; A, reading B's screening under B's consent, sees its own answers."""
    a, b, _youth_a, youth_b, _given = _two_agencies(client, world)
    draft = start(client, b, youth_b)
    saved = b.client.put(
        f"/api/v1/screenings/{draft['id']}/answers",
        headers=b.api,
        json={"version": draft["version"], "answers": {}, "confirm": ["hurt_by_caregiver"]},
    ).json()
    b.client.post(f"/api/v1/screenings/{draft['id']}/complete", headers=b.api, json={"version": saved["version"]})
    consent(client, b, youth_b, a)
    result = client.get(f"/api/v1/screenings/{draft['id']}/result", headers=a.api)
    assert result.status_code == 200, result.text
    evidence = {e["item_id"] for i in result.json()["indicators"] for e in i.get("evidence", ())}
    assert "hurt_by_caregiver" in evidence
