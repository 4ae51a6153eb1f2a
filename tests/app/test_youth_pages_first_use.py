"""Issue 16, youth pages: tappable hotlines, the hand-off end, the keyboard-only Esc hint, Back before Next,
the progress line in the sticky bar, and resuming where the youth stopped."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Agency, Screening
from app.portal.hotlines import phone_links
from tests.app.conftest import PASSWORD, World
from tests.app.test_portal import issue_link, paused_link_and_code, self_screening, youth_csrf


def finish(youth: TestClient, token: str) -> str:
    """Skip every page to the end; returns the done page."""
    number = 1
    for _ in range(40):
        reply = youth.post(f"/s/{number}", data={"csrf_token": token, "action": "next"}, follow_redirects=False)
        location = reply.headers["location"]
        if location == "/s/done":
            return youth.get("/s/done").text
        number = int(location.split("/s/")[1].split("?")[0])
    raise AssertionError("never reached the end")


def test_hotline_numbers_are_tel_and_sms_links_and_a_street_number_is_not() -> None:
    line = "988 Lifeline: call or text 988. Drop-in: 412 Alder Street. Office: (555) 123-4567 <b>"
    html = str(phone_links(line))
    assert '<a class="phone" href="tel:988">988</a>' in html
    assert 'href="sms:988"' in html
    assert 'href="tel:+15551234567">(555) 123-4567</a>' in html
    assert "412 Alder" in html and "tel:412" not in html
    assert "&lt;b&gt;" in html  # the agency's text stays escaped
    spanish = str(phone_links("llama al 1-888-373-7888 o envía un mensaje de texto al 233733."))
    assert 'href="tel:+18883737888"' in spanish and 'href="sms:233733"' in spanish
    both = str(phone_links("988 Suicide & Crisis Lifeline: call or text 988"))  # the line's own words link
    assert both.endswith('call or <a class="phone" href="sms:988">text</a> <a class="phone" href="tel:988">988</a>')
    spanish_both = str(phone_links("Línea 988: llama o envía un texto al 988"))
    assert spanish_both.endswith(
        'llama o envía un <a class="phone" href="sms:988">texto</a> al <a class="phone" href="tel:988">988</a>'
    )


def test_the_last_page_makes_every_hotline_tappable(client: TestClient, world: World, session: Session) -> None:
    screening_id, _, csrf = self_screening(client, world)
    agency = session.get(Agency, session.get(Screening, screening_id).agency_id)  # type: ignore[union-attr]
    assert agency is not None
    agency.resources = {"en": ["Crisis line: call or text 988"]}
    session.add(agency)
    session.commit()
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    done = finish(youth, youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text))
    assert 'href="tel:+18883737888"' in done and 'href="sms:233733"' in done and 'href="tel:911"' in done
    assert 'href="tel:988"' in done and 'href="sms:988"' in done
    assert 'call or <a class="phone" href="sms:988">text</a> <a class="phone" href="tel:988">988</a>' in done
    assert "send a text" not in done
    assert "give this device back" not in done  # a youth on their own phone has nothing to give back


def test_a_hand_off_ends_with_please_give_the_device_back(client: TestClient, world: World) -> None:
    screening_id, _, csrf = self_screening(client, world)
    client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf})
    done = finish(client, youth_csrf(client.get("/s/0").text))
    assert "please give this device back" in done
    handback = client.get(re.search(r'href="(/s/handback[^"]*)"', done).group(1))  # type: ignore[union-attr]
    assert handback.status_code == 200
    assert "Please give this device back to the person who gave it to you." in handback.text
    assert "Por favor devuelve este dispositivo" in client.get("/s/handback?lang=es").text


def test_a_paused_hand_off_shows_the_code_once_then_hides_it(client: TestClient, world: World) -> None:
    screening_id, _, csrf = self_screening(client, world)
    client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf})
    token = youth_csrf(client.get("/s/1?seen=1").text)
    paused = client.post("/s/1", data={"csrf_token": token, "action": "pause", "q_no_safe_place": "no"})
    link, code = paused_link_and_code(paused.text)
    assert paused.headers["cache-control"] == "no-store"
    assert "This device will not show the code again." in paused.text
    hidden = client.get(re.search(r'href="(/s/handback[^"]*)"', paused.text).group(1))  # type: ignore[union-attr]
    assert code not in hidden.text and link not in hidden.text
    assert "give this device back" in hidden.text
    again = client.post("/s/1", data={"csrf_token": token, "action": "pause"}, follow_redirects=False)
    assert again.headers["location"] == "/go?ended=1"  # the session ended: no second showing of a code
    assert client.post("/unlock", data={"password": PASSWORD}, follow_redirects=False).status_code == 303
    later = TestClient(client.app)  # the youth can still resume, on their own phone
    assert later.post("/go", data={"code": code, "link_token": link}).status_code == 200


def test_the_esc_hint_is_marked_keyboard_only_and_leave_now_always_shows(client: TestClient, world: World) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    welcome = youth.post("/go", data={"code": code, "link_token": link}).text
    assert re.search(r'<span class="exit-hint keyboard-only">or press Esc three times</span>', welcome)
    assert '<span class="keyboard-only">On a keyboard, you can also press the Esc key three times.</span>' in welcome
    assert 'id="quick-exit"' in welcome
    css = youth.get("/static/portal.css").text
    assert ".keyboard-only { display: none; }" in css
    assert "@media (hover: hover) and (pointer: fine) { html.js .keyboard-only" in css


def test_back_comes_before_next_and_the_progress_line_is_in_the_sticky_bar(client: TestClient, world: World) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    youth.post("/go", data={"code": code, "link_token": link})
    page = youth.get("/s/2?seen=1").text
    actions = page[page.index('<div class="actions">') :]
    assert actions.index('value="back"') < actions.index('value="next"')
    assert not re.search(r'tabindex="[1-9]', page)
    bar = page[page.index('<div class="exit-bar">') : page.index("<main")]
    assert 'id="progress-label"' in bar and "Page 2 /" in bar


def test_resume_returns_to_the_page_where_the_youth_stopped(client: TestClient, world: World, session: Session) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = TestClient(client.app)
    token = youth_csrf(youth.post("/go", data={"code": code, "link_token": link}).text)
    assert (
        youth.post("/s/1", data={"csrf_token": token, "action": "next"}, follow_redirects=False).headers["location"]
        == "/s/2"
    )
    youth.get("/s/2?seen=1")
    youth.post("/s/2", data={"csrf_token": token, "action": "pause"})
    later = TestClient(client.app)
    opened = later.post("/go", data={"code": code, "link_token": link}, follow_redirects=False)
    assert opened.headers["location"] == "/s/2?seen=1&resumed=1"  # not the welcome page
    page = later.get(opened.headers["location"]).text
    assert "Page 2 /" in page and "This is where you stopped" in page
    welcome = later.get("/s/0").text  # the welcome page, gone back to, goes on from there too
    going_on = re.search(r'id="start" href="([^"]+)">Continue where you stopped<', welcome)
    assert going_on and going_on.group(1) == "/s/2?seen=1&amp;resumed=1", welcome
