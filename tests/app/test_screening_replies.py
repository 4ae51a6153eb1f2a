"""The API's reply to completing a screening is built from the answers completion already read (issue 14: no
second read and decryption of every answer), and says exactly what reading the screening again says — carried
answers with their origin, confirmed or dropped, and the answers given here."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import World
from tests.app.sharing_support import start
from tests.app.test_tell_once_carry import _two_agencies


def test_the_reply_to_complete_is_the_screening_as_read_again(client: TestClient, world: World) -> None:
    _a, b, _ya, youth_b, _given = _two_agencies(client, world)
    started = start(client, b, youth_b)
    carried = sorted(item for item, answer in started["answers"].items() if answer["source"] == "carried")
    assert len(carried) >= 2  # what A was told, waiting to be confirmed at B
    saved = b.client.put(
        f"/api/v1/screenings/{started['id']}/answers",
        headers=b.api,
        json={"version": started["version"], "answers": {"unsafe_at_home": "no"}, "confirm": carried[:1]},
    )
    assert saved.status_code == 200, saved.text
    done = b.client.post(
        f"/api/v1/screenings/{started['id']}/complete", headers=b.api, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    again = b.client.get(f"/api/v1/screenings/{started['id']}", headers=b.api)
    assert done.json() == again.json()
    answers = done.json()["answers"]
    assert set(answers) == {carried[0], "unsafe_at_home"}  # the unconfirmed carried answers were dropped
    assert (answers[carried[0]]["source"], answers["unsafe_at_home"]["source"]) == ("carried", "given")
