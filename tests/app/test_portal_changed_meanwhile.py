"""A youth's page whose answers changed somewhere else while it was saved (another tab, the same code on a
second device): the page comes back (409) with what the youth chose still chosen, the answers as they are
now, and on the last page still "Finish"; trying again saves both (issue 15, the audit's item 6).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import Conflict
from app.models import Screening
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave
from tests.app.conftest import World
from tests.app.test_portal import issue_link, self_screening, youth_csrf

LAST_PAGE = 9  # the bundled youth self-report's last page: cant_leave, threatened, ...


def _chosen(html: str, item: str) -> list[str]:
    return re.findall(rf'name="q_{item}" value="([^"]+)"\s*checked', html)


def _finish_button(html: str) -> str:
    found = re.search(r'name="action" value="next">([^<]+)<', html)
    assert found
    return found.group(1)


def test_a_page_changed_elsewhere_comes_back_with_the_youths_answers_and_finish(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    screening_id, auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    client.cookies.clear()
    opened = client.post("/go", data={"code": code, "link_token": link})
    token = youth_csrf(opened.text)
    last = client.get(f"/s/{LAST_PAGE}?seen=1")
    assert _finish_button(last.text) == "Finish" and f"Page {LAST_PAGE} / {LAST_PAGE}" in last.text

    real = screenings.store_answers

    def another_tab_saves_first(db: Session, *args: Any) -> Screening:
        """While this page is saved, another tab saves an answer on the same page (committed first)."""
        monkeypatch.setattr(screenings, "store_answers", real)
        keys, registry, screening, *_rest = args
        db.commit()  # this request's writes so far: SQLite lets one writer in at a time
        with Session(db.get_bind()) as other:
            fresh = other.get(Screening, screening.id)
            assert fresh is not None
            real(other, keys, registry, fresh, AnswersSave(version=fresh.version, answers={"threatened": "no"}), None)
            other.commit()
        return real(db, *args)

    monkeypatch.setattr(screenings, "store_answers", another_tab_saves_first)
    form = {"csrf_token": token, "action": "next", "q_cant_leave": "yes"}
    again = client.post(f"/s/{LAST_PAGE}", data=form, follow_redirects=False)
    assert again.status_code == 409, again.text
    assert "Your answers changed somewhere else" in again.text
    assert _chosen(again.text, "cant_leave") == ["yes"]  # what the youth chose is still chosen
    assert _chosen(again.text, "threatened") == ["no"]  # and the page shows what was saved meanwhile
    assert _finish_button(again.text) == "Finish"
    assert "cant_leave" not in client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()["answers"]

    form["q_threatened"] = "no"
    finished = client.post(f"/s/{LAST_PAGE}", data=form, follow_redirects=False)
    assert finished.status_code == 303 and finished.headers["location"] == "/s/done"
    answers = client.get(f"/api/v1/screenings/{screening_id}", headers=auth).json()["answers"]
    assert answers["cant_leave"]["value"] == "yes" and answers["threatened"]["value"] == "no"


def test_a_page_changed_elsewhere_in_spanish_says_so_in_spanish(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    screening_id, _auth, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    client.cookies.clear()
    opened = client.post("/go", data={"code": code, "link_token": link})
    token = youth_csrf(opened.text)
    client.post("/s/language", data={"csrf_token": token, "lang": "es"})

    def changed_elsewhere(*_args: Any) -> Screening:
        raise Conflict("changed")

    monkeypatch.setattr(screenings, "store_answers", changed_elsewhere)
    again = client.post(
        f"/s/{LAST_PAGE}", data={"csrf_token": token, "action": "next", "q_cant_leave": "yes"}, follow_redirects=False
    )
    assert again.status_code == 409
    assert "Tus respuestas cambiaron en otro lugar." in again.text
    assert _chosen(again.text, "cant_leave") == ["yes"] and _finish_button(again.text) == "Terminar"
