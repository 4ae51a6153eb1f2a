"""Issue 16, what an outside tester found on the youth's side: "save and finish later" keeps the link and
code of the printed slip, the pages after a Spanish session stay in Spanish, resuming opens the page where
the youth stopped, and reloading the staff invitation page never creates a second link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Agency, Screening
from tests.app.conftest import PASSWORD, World, bearer, sign_in
from tests.app.test_portal import youth_csrf
from tests.app.test_youth_pages_first_use import finish

SELF_REPORT = "tellonce-youth-self-report"
WORDS = {
    "en": {
        "start": "Start",
        "continue": "Continue",
        "pause": "Save and finish later",
        "saved": "Your answers are saved",
        "same": "open the same link again and type the same code you were given",
        "slip": "You can stop at any time, and come back later before it stops working.",
        "where": "This is where you stopped",
        "closed": "This page was closed to keep your answers private.",
    },
    "es": {
        "start": "Empezar",
        "continue": "Continuar",
        "pause": "Guardar y terminar después",
        "saved": "Tus respuestas están guardadas",
        "same": "abre el mismo enlace otra vez y escribe el mismo código que te dieron",
        "slip": "Puedes parar cuando quieras y volver más tarde, antes de que deje de funcionar.",
        "where": "Aquí es donde te quedaste",
        "closed": "Esta página se cerró para mantener tus respuestas en privado.",
    },
}


def check_in(client: TestClient, world: World, language: str) -> tuple[str, str]:
    """A screener's self-administered check-in for Camila Duarte in `language`; returns its id and a CSRF token."""
    screener = world.user(world.agency("Riverbend Outreach Shelter"))
    auth = bearer(client, screener)
    youth = client.post(
        "/api/v1/youth",
        headers=auth,
        json={"given_name": "Camila", "family_name": "Duarte", "birth_date": "2009-05-05", "case_number": "R-16"},
    ).json()
    screening = client.post(
        "/api/v1/screenings",
        headers=auth,
        json={"youth_id": youth["id"], "instrument_id": SELF_REPORT, "mode": "self", "language": language},
    ).json()
    return screening["id"], sign_in(client, screener)


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, html
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def create_link(staff: TestClient, screening_id: str) -> str:
    """Press "Create a link and code" on the check-in's page; returns the page that answers."""
    action = f"/screenings/{screening_id}/self/link"
    fields = form_fields(staff.get(f"/screenings/{screening_id}/self").text, action)
    assert "issue_token" in fields
    issued = staff.post(action, data=fields)
    assert issued.status_code == 200 and "Give these to the youth" in issued.text, issued.text
    return issued.text


def shown(html: str, element: str) -> str:
    match = re.search(rf'id="{element}"[^>]*>([^<]+)<', html)
    assert match, html
    return match.group(1).strip()


def local(address: str) -> str:
    """A full link as the test client requests it (path and query)."""
    parts = urlsplit(address)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def open_link(youth: TestClient, link: str, code: str, language: str) -> str:
    """Open the link, type the code; returns where it leads."""
    page = youth.get(local(link))
    assert page.status_code == 200 and f'<html lang="{language}">' in page.text
    fields = form_fields(page.text, "/go")
    opened = youth.post("/go", data={**fields, "code": code}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    return opened.headers["location"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_link_and_code_on_the_slip_still_work_after_save_and_finish_later(
    client: TestClient, world: World, language: str
) -> None:
    """The tester's steps: create a link, print the slip, start, pause, come back with the slip."""
    words = WORDS[language]
    screening_id, _csrf = check_in(client, world, language)
    issued = create_link(client, screening_id)
    link, code = shown(issued, "link"), shown(issued, "code")
    slip_fields = form_fields(issued, f"/screenings/{screening_id}/self/slip")
    slip = client.post(f"/screenings/{screening_id}/self/slip", data=slip_fields).text
    assert words["slip"] in slip and link in slip and code in slip

    youth = TestClient(client.app)
    assert open_link(youth, link, code, language) == "/s/0"
    welcome = youth.get("/s/0").text
    start = re.search(rf'<a class="button" id="start" href="([^"]+)">{words["start"]}</a>', welcome)
    assert start, welcome
    notice = youth.get(start.group(1)).text
    go_on = re.search(rf'<a class="button" href="([^"]+)">{words["continue"]}</a>', notice)
    assert go_on, notice
    questions = youth.get(go_on.group(1))
    assert 'name="q_no_safe_place"' in questions.text and words["pause"] in questions.text
    paused = youth.post(
        "/s/1", data={"csrf_token": youth_csrf(questions.text), "action": "pause", "q_no_safe_place": "no"}
    )
    assert paused.status_code == 200 and words["saved"] in paused.text and words["same"] in paused.text
    assert shown(paused.text, "link") == link  # the link again, as on the slip
    assert code not in paused.text and 'class="code"' not in paused.text  # the code is never shown again
    assert youth.get("/s/1?seen=1", follow_redirects=False).status_code == 303  # this session is over

    later = TestClient(client.app)  # the youth's phone, another day, with the slip
    back = open_link(later, link, code, language)
    assert back == "/s/1?seen=1&resumed=1"  # straight to the page where they stopped
    page = later.get(back).text
    assert words["where"] in page and re.search(r'value="no"\s+checked', page)
    assert 'href="/exit"' in page and words["pause"] in page  # leave now and pause are on the page itself


def test_a_link_alone_opens_nothing_after_a_pause(client: TestClient, world: World) -> None:
    screening_id, _csrf = check_in(client, world, "en")
    issued = create_link(client, screening_id)
    link, code = shown(issued, "link"), shown(issued, "code")
    youth = TestClient(client.app)
    open_link(youth, link, code, "en")
    token = youth_csrf(youth.get("/s/1?seen=1").text)
    youth.post("/s/1", data={"csrf_token": token, "action": "pause", "q_no_safe_place": "no"})
    token_of_link = urlsplit(link).path.rsplit("/", 1)[1]
    later = TestClient(client.app)
    assert "no_safe_place" not in later.get(local(link)).text
    refused = later.post("/go", data={"link_token": token_of_link, "code": "ABCD-EFGH"})
    assert refused.status_code == 400 and "does not work" in refused.text
    assert later.post("/go", data={"code": code}).status_code == 400  # nor a code alone


def test_a_paused_hand_off_in_spanish_stays_in_spanish_after_the_code_is_hidden(
    client: TestClient, world: World
) -> None:
    screening_id, csrf = check_in(client, world, "es")
    client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf})
    token = youth_csrf(client.get("/s/1?seen=1").text)
    paused = client.post("/s/1", data={"csrf_token": token, "action": "pause"})
    assert "Tus respuestas están guardadas" in paused.text and 'class="code"' in paused.text  # a new code, once
    hidden = client.get(re.search(r'href="(/s/handback[^"]*)"', paused.text).group(1))  # type: ignore[union-attr]
    assert '<html lang="es">' in hidden.text and "devuelve este dispositivo" in hidden.text
    for again in (  # Back to the questions, or the pause sent again (a reload)
        client.get("/s/1?seen=1", follow_redirects=False),
        client.post("/s/1", data={"csrf_token": token, "action": "pause"}, follow_redirects=False),
    ):
        assert again.headers["location"] == "/go?ended=1&lang=es"
        ended = client.get(again.headers["location"]).text
        assert '<html lang="es">' in ended and WORDS["es"]["closed"] in ended and "Leave now" not in ended
    assert "devuelve este dispositivo" in client.get("/s/handback").text  # no language given: still Spanish
    assert client.post("/unlock", data={"password": PASSWORD}, follow_redirects=False).status_code == 303


def test_an_english_session_ends_on_the_english_code_page(client: TestClient, world: World) -> None:
    screening_id, _csrf = check_in(client, world, "en")
    issued = create_link(client, screening_id)
    youth = TestClient(client.app)
    open_link(youth, shown(issued, "link"), shown(issued, "code"), "en")
    token = youth_csrf(youth.get("/s/0").text)
    youth.post("/s/1", data={"csrf_token": token, "action": "pause"})
    again = youth.get("/s/1", follow_redirects=False)
    assert again.headers["location"] == "/go?ended=1"
    assert WORDS["en"]["closed"] in youth.get("/go?ended=1").text


def test_the_spanish_done_page_reads_its_hotlines_naturally(client: TestClient, world: World, session: Session) -> None:
    screening_id, _csrf = check_in(client, world, "es")
    agency = session.get(Agency, session.get(Screening, screening_id).agency_id)  # type: ignore[union-attr]
    assert agency is not None
    agency.resources = {"es": ["Línea 988 de Prevención del Suicidio y Crisis: llama o envía un texto al 988"]}
    session.add(agency)
    session.commit()
    issued = create_link(client, screening_id)
    youth = TestClient(client.app)
    open_link(youth, shown(issued, "link"), shown(issued, "code"), "es")
    done = finish(youth, youth_csrf(youth.get("/s/0").text))
    assert "Gracias" in done
    assert 'envía un <a class="phone" href="sms:988">texto</a> al <a class="phone" href="tel:988">988</a>' in done
    assert "enviar un mensaje de texto" not in done
    assert 'href="tel:911"' in done


def test_reloading_the_invitation_page_creates_no_second_link(client: TestClient, world: World) -> None:
    screening_id, _csrf = check_in(client, world, "en")
    action = f"/screenings/{screening_id}/self/link"
    fields = form_fields(client.get(f"/screenings/{screening_id}/self").text, action)
    first = client.post(action, data=fields)
    assert first.status_code == 200 and 'id="code" class="code"' in first.text
    reload = client.post(action, data=fields, follow_redirects=False)  # what a reload sends again
    assert reload.status_code == 303 and 'id="code"' not in reload.text
    listed = client.get(reload.headers["location"]).text
    assert "already created, so no new one was made" in listed
    assert listed.count(">Active<") == 1
    second = create_link(client, screening_id)  # a new press on the page as it is now does create one
    assert shown(second, "code") != shown(first.text, "code")
    assert client.get(f"/screenings/{screening_id}/self").text.count(">Active<") == 2


def test_the_code_on_the_invitation_page_is_large(client: TestClient, world: World) -> None:
    screening_id, _csrf = check_in(client, world, "en")
    assert '<code id="code" class="code">' in create_link(client, screening_id)
    css = client.get("/static/invite.css").text
    rule = re.search(r"\.invitation code\.code \{([^}]*)\}", css)
    assert rule and "font-size: 2rem" in rule.group(1), css
