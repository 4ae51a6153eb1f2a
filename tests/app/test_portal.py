"""Youth self-administered screening through the pages: link and code, pages, skip, pause, exit, finish."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Screening, YouthAccess, YouthSession, utcnow
from app.portal.service import CODE_ALPHABET, LABELLING
from tests.app.conftest import World, bearer, sign_in

SELF_REPORT = "tellonce-youth-self-report"


def self_screening(client: TestClient, world: World) -> tuple[str, dict[str, str], str]:
    """A screener's agency, a youth, and a self-administered screening; returns its id, API auth, CSRF."""
    agency = world.agency()
    screener = world.user(agency)
    auth = bearer(client, screener)
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Sam", "family_name": "Portaltest", "birth_date": "2009-05-05", "case_number": "P-1"},
    ).json()
    screening = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth["id"], "instrument_id": SELF_REPORT, "mode": "self", "language": "en"},
    ).json()
    csrf = sign_in(client, screener)
    return screening["id"], auth, csrf


def issue_link(client: TestClient, screening_id: str, csrf: str) -> tuple[str, str]:
    page = client.post(f"/screenings/{screening_id}/self/link", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    link = re.search(r'id="link">[^<]*/go/([^<]+)<', page.text)
    code = re.search(r'id="code" class="code">([A-Z0-9-]+)<', page.text)
    assert link and code
    return link.group(1), code.group(1)


def youth_csrf(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match
    return match.group(1)


def test_youth_completes_with_link_and_code_and_never_sees_a_result(client: TestClient, world: World) -> None:
    screening_id, auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    client.cookies.clear()

    landing = client.get(f"/go/{link}")
    assert landing.status_code == 200
    assert "trafficking" not in landing.text.lower()
    assert client.get("/s/0", follow_redirects=False).headers["location"] == "/go?ended=1"

    opened = client.post("/go", data={"code": code.lower().replace("-", " "), "link_token": link})
    assert opened.status_code == 200 and "You can skip any question." in opened.text
    token = youth_csrf(opened.text)

    first = client.get("/s/1")
    assert first.status_code == 200
    notice_or_page = first.text
    if "Skip this part" in notice_or_page:  # a sensitive section starts with a notice
        first = client.get("/s/1?seen=1")
    assert 'name="q_no_safe_place"' in first.text and "Prefer not to answer" in first.text
    assert 'name="q_stay_in_return"' not in first.text  # the follow-up waits for its gate
    saved = client.post(
        "/s/1",
        data={"csrf_token": token, "action": "next", "q_no_safe_place": "yes", "q_stayed_away": "declined"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/s/1?seen=1&more=1#more"  # the follow-up is asked next
    again = client.get("/s/1?seen=1&more=1")
    assert 'name="q_stay_in_return"' in again.text and "one more question" in again.text
    saved = client.post(
        "/s/1",
        data={"csrf_token": token, "action": "next", "q_no_safe_place": "yes", "q_stayed_away": "declined"},
        follow_redirects=False,
    )

    state = client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()
    assert state["answers"]["no_safe_place"]["value"] == "yes"
    assert state["answers"]["stayed_away"]["value"] == "declined"

    page = int(saved.headers["location"].split("/")[-1])
    while True:
        response = client.post(f"/s/{page}", data={"csrf_token": token, "action": "next"}, follow_redirects=False)
        assert response.status_code == 303, response.text
        target = response.headers["location"]
        if target == "/s/done":
            break
        page = int(target.split("/")[-1].split("?")[0])
    done = client.get("/s/done")
    assert "Thank you" in done.text
    for word in ("concern", "score", "flag", "risk"):
        assert word not in done.text.lower()

    result = client.get(f"/api/v1/screenings/{screening_id}/result", headers=auth).json()
    unstable = next(i for i in result["indicators"] if i["id"] == "housing.unstable")
    assert unstable["level"] == "clear_concern"
    assert unstable["evidence"] == [{"item_id": "no_safe_place", "answer": "yes", "level": "clear_concern"}]
    assert result["completeness"]["declined"] == 1


def test_a_link_or_code_never_spells_a_word_that_labels_the_youth(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both show on the youth's screen, the link in the browser's history too: a random draw that spells such a word
    is drawn again (a browser test met a link holding "Sex": about one link in a thousand does)."""
    screening_id, _auth, csrf = self_screening(client, world)
    token_urlsafe, choice = secrets.token_urlsafe, secrets.choice
    links = ["Qz7-aSeXq" + "k" * 23]  # what the first draw of a link gives, then the real draws
    letters = list("RAPE2345")  # and of a code
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: links.pop() if links and n == 24 else token_urlsafe(n))
    monkeypatch.setattr(
        secrets, "choice", lambda seq: letters.pop(0) if letters and seq == CODE_ALPHABET else choice(seq)
    )
    link, code = issue_link(client, screening_id, csrf)
    assert not links and not letters  # both labelling draws were made, and thrown away
    assert not LABELLING.search(link) and not LABELLING.search(code.replace("-", ""))
    assert link != "Qz7-aSeXq" + "k" * 23 and code.replace("-", "") != "RAPE2345"
    client.cookies.clear()
    assert client.get(f"/go/{link}").status_code == 200  # the link drawn instead is the one that works


def test_wrong_expired_and_revoked_codes_are_refused_and_guessing_slows_down(
    client: TestClient, world: World, session: Session
) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)

    wrong = client.post("/go", data={"code": "AAAA-AAAA", "link_token": link})
    assert wrong.status_code == 400 and "does not work" in wrong.text
    for _ in range(4):
        client.post("/go", data={"code": "BBBB-BBBB", "link_token": link})
    blocked = client.post("/go", data={"code": code, "link_token": link})
    assert blocked.status_code == 429 and "Too many tries" in blocked.text

    link2, code2 = issue_link(client, screening_id, csrf)
    grant = session.exec(select(YouthAccess).order_by(col(YouthAccess.created_at).desc())).first()
    assert grant is not None
    grant.expires_at = utcnow() - timedelta(minutes=1)
    session.add(grant)
    session.commit()
    assert client.post("/go", data={"code": code2, "link_token": link2}).status_code == 400

    link3, code3 = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    assert youth.post("/go", data={"code": code3, "link_token": link3}).status_code == 200
    newest = session.exec(select(YouthAccess).order_by(col(YouthAccess.created_at).desc())).first()
    assert newest is not None
    access_id = newest.id
    revoked = client.post(f"/self-access/{access_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    assert youth.get("/s/1", follow_redirects=False).headers["location"] == "/go?ended=1"
    assert youth.post("/go", data={"code": code3, "link_token": link3}).status_code == 400


def paused_link_and_code(html: str) -> tuple[str, str]:
    """The address and code "save and finish later" shows."""
    link = re.search(r'id="link">[^<]*/go/([A-Z0-9-]+)<', html)
    code = re.search(r'class="code"[^>]*>([A-Z0-9-]+)<', html)
    assert link and code, html
    return link.group(1), code.group(1)


def test_pause_on_a_private_link_keeps_its_link_and_code(client: TestClient, world: World) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    token = youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text)
    paused = youth.post("/s/1", data={"csrf_token": token, "action": "pause", "q_no_safe_place": "no"})
    assert "open the same link again and type the same code" in paused.text
    assert f"/go/{link}<" in paused.text and code not in paused.text  # the link again, never the code
    assert youth.get("/s/1", follow_redirects=False).status_code == 303
    assert youth.post("/go", data={"code": code}).status_code == 400  # not without its link
    resumed = youth.post("/go", data={"code": code, "link_token": link})  # the same pair, as on the slip
    assert resumed.status_code == 200
    assert re.search(r'value="no"\s+checked', resumed.text)  # straight back to the page, answers kept
    token = youth_csrf(resumed.text)
    again = youth.post("/s/1", data={"csrf_token": token, "action": "pause"})  # a second pause keeps them too
    assert "open the same link again" in again.text
    assert youth.post("/go", data={"code": code, "link_token": link}).status_code == 200


def test_a_youth_who_pauses_a_hand_off_finishes_later_on_their_own(
    client: TestClient, world: World, session: Session
) -> None:
    screening_id, _, csrf = self_screening(client, world)
    client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf})
    token = youth_csrf(client.get("/s/1?seen=1").text)
    paused = client.post("/s/1", data={"csrf_token": token, "action": "pause", "q_no_safe_place": "no"})
    link, code = paused_link_and_code(paused.text)
    from tests.app.conftest import PASSWORD

    assert client.post("/unlock", data={"password": PASSWORD}, follow_redirects=False).status_code == 303
    later = TestClient(client.app)  # the youth's own phone, later
    assert f'name="link_token" value="{link}"' in later.get(f"/go/{link}").text
    assert later.post("/go", data={"code": code}).status_code == 400
    assert later.post("/go", data={"code": code, "link_token": link}).status_code == 200
    assert re.search(r'value="no"\s+checked', later.get("/s/1?seen=1").text)


def test_quick_exit_ends_the_session_without_javascript(client: TestClient, world: World, session: Session) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    page = youth.post("/go", data={"code": code, "link_token": link}).text
    assert page.index('id="quick-exit"') < page.index("<main")
    left = youth.get("/exit", follow_redirects=False)
    assert left.status_code == 303 and left.headers["location"] == "https://www.google.com/"
    assert youth.get("/s/1", follow_redirects=False).headers["location"] == "/go?ended=1"
    ended = session.exec(select(YouthSession)).all()
    assert [s.ended_reason for s in ended] == ["exit"]


def test_skip_a_sensitive_section_declines_its_questions(client: TestClient, world: World, session: Session) -> None:
    screening_id, auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    token = youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text)
    notice = youth.get("/s/1")
    assert "Skip this part" in notice.text
    skipped = youth.post("/s/1", data={"csrf_token": token, "action": "skip_section"}, follow_redirects=False)
    assert skipped.status_code == 303
    answers = client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()["answers"]
    assert {k: v["value"] for k, v in answers.items()} == {
        "no_safe_place": "declined",
        "stayed_away": "declined",
        "unsafe_at_home": "declined",
        "stay_in_return": "declined",
    }


def test_hand_off_locks_staff_pages_until_the_password(client: TestClient, world: World, session: Session) -> None:
    screening_id, _, csrf = self_screening(client, world)
    handed = client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf}, follow_redirects=False)
    assert handed.headers["location"] == "/s/0"
    assert "You can skip any question." in client.get("/s/0").text
    assert client.get("/youth", follow_redirects=False).headers["location"] == "/unlock"
    assert client.post("/unlock", data={"password": "wrong password!"}).status_code == 403
    from tests.app.conftest import PASSWORD

    unlocked = client.post("/unlock", data={"password": PASSWORD}, follow_redirects=False)
    assert unlocked.status_code == 303
    assert client.get("/youth").status_code == 200
    assert client.get("/s/1", follow_redirects=False).headers["location"] == "/go?ended=1"
    assert session.exec(select(Screening)).one().language == "en"


def test_spanish_pages_show_spanish_interface_and_questions(client: TestClient, world: World) -> None:
    screening_id, auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    token = youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text)
    chosen = youth.post("/s/language", data={"csrf_token": token, "lang": "es"})
    assert '<html lang="es">' in chosen.text and "Salir ahora" in chosen.text and "Leave now" not in chosen.text
    page = youth.get("/s/1?seen=1").text
    assert "Prefiero no responder" in page and "Siguiente" in page
    assert "¿" in page  # the instrument's Spanish wording
    assert client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()["language"] == "es"


def test_inactivity_ends_the_session_and_keeps_the_answers(client: TestClient, world: World, session: Session) -> None:
    screening_id, auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    token = youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text)
    youth.post("/s/1", data={"csrf_token": token, "action": "next", "q_no_safe_place": "not_sure"})
    record = session.exec(select(YouthSession)).one()
    record.last_seen_at = utcnow() - timedelta(minutes=16)
    session.add(record)
    session.commit()
    assert youth.get("/s/2", follow_redirects=False).headers["location"] == "/go?ended=1"
    session.expire_all()
    assert session.exec(select(YouthSession)).one().ended_reason == "idle"
    answers = client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()["answers"]
    assert answers["no_safe_place"]["value"] == "not_sure"
