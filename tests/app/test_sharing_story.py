"""The tell-once story across two agencies, through the API and the pages [DESIGN §7; SECURITY.md Access 1-3].

A screens a youth and records the youth's release to B; B adds the same youth under a nickname, sees only
that a possible match exists, links it, reads A's result, and starts its own screening with A's answers
as context (staff ratings are never carried as the youth's words); A revokes and B sees nothing more on its
very next request; the account lists every view.
"""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    KATE,
    REVOKE_REASON,
    add_youth,
    candidates,
    consent,
    link,
    screen,
    section,
    side,
    timeline_ids,
)

PRACTITIONER_CHOICE = "tellonce-practitioner-indicators|1.0.0|practitioner"


def test_the_whole_story(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-0001")
    done = screen(client, a, youth_a)
    given = consent(client, a, youth_a, b)
    assert given["categories"] == ["result_summary", "item_answers"] and given["active"]

    # B adds the youth under a nickname: a possible match, and nothing about whose or where.
    youth_b = add_youth(client, b, "ES-7", KATE)
    (handle,) = candidates(client, b, youth_b)
    assert youth_a not in handle and len(handle) == 32
    b_csrf = sign_in(client, b.users["screener"])
    page = client.get(f"/youth/{youth_b}").text
    notice = html.unescape(section(page, "possible-matches"))
    assert "A record that may be this youth exists at another program. Linking needs the youth's consent." in notice
    assert "Possible match 1" in notice and handle in notice
    for secret in ("Northside", "Katherine", youth_a, "NS-0001", done["id"]):
        assert secret not in notice
    assert "Break glass" not in notice  # a screener is not offered break-glass

    linked = client.post(
        f"/youth/{youth_b}/links", data={"csrf_token": b_csrf, "candidate": handle}, follow_redirects=False
    )
    assert linked.status_code == 303, linked.text
    assert candidates(client, b, youth_b) == []  # the same person now: no longer a possible match

    # B sees A's result in the timeline and on A's result page, answers included (the consent covers them).
    assert timeline_ids(client, b, youth_b) == [done["id"]]
    page = client.get(f"/youth/{youth_b}").text
    timeline = section(page, "timeline")
    assert "Northside Youth Services" in timeline and f"/screenings/{done['id']}/result" in timeline
    assert "Undo link" in section(page, "links")
    result = client.get(f"/screenings/{done['id']}/result")
    assert result.status_code == 200, result.text
    assert "A result from Northside Youth Services, shared with your agency." in result.text
    assert "Evidence" in result.text and f'href="/youth/{youth_a}"' not in result.text
    assert client.get(f"/screenings/{done['id']}?page=1").status_code == 404  # the working copy stays A's
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 200

    # B's own rating starts empty: A's staff ratings are context beside each question, never ticked or counted.
    started = client.post(
        f"/youth/{youth_b}/screenings",
        data={"csrf_token": b_csrf, "instrument": PRACTITIONER_CHOICE, "language": "en"},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    own = started.headers["location"].split("/screenings/")[1].split("?")[0]
    mine = client.get(f"/api/v1/screenings/{own}", headers=b.api).json()
    assert mine["answers"] == {}
    form = html.unescape(client.get(f"/screenings/{own}?page=1").text)
    day = done["completed_at"][:10]
    assert f"Northside Youth Services staff rated “Possible concern” on {day}. For context only" in form
    assert not re.search(r'id="q-rate_housing_unstable-possible_concern"[^>]*checked', form)
    finished = client.post(f"/api/v1/screenings/{own}/complete", headers=b.api, json={"version": mine["version"]})
    assert finished.status_code == 200, finished.text
    assert finished.json()["overall_level"] != done["overall_level"] == "clear_concern"  # A's ratings never counted

    # A revokes: B's very next request finds nothing (the page says that the consent ended).
    revoked = client.post(f"/api/v1/consents/{given['id']}/revoke", headers=a.api, json={"reason": REVOKE_REASON})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] and not revoked.json()["active"]
    ended = client.get(f"/screenings/{done['id']}/result")
    assert ended.status_code == 403 and "Northside Youth Services stopped sharing on" in ended.text
    assert client.get(f"/api/v1/screenings/{done['id']}/result", headers=b.api).status_code == 404
    assert timeline_ids(client, b, youth_b) == [own]
    assert "Northside Youth Services" not in section(client.get(f"/youth/{youth_b}").text, "timeline")

    # The account, per person: the same at A and at B; every view under the consent, the context included.
    at_a = client.get(f"/api/v1/youth/{youth_a}/disclosures", headers=a.api).json()
    assert client.get(f"/api/v1/youth/{youth_b}/disclosures", headers=b.api).json() == at_a
    assert {line["kind"] for line in at_a} == {"view"}
    assert {line["consent_id"] for line in at_a} == {given["id"]}
    assert {(line["viewer_agency"], line["owner_agency"]) for line in at_a} == {
        ("Eastside Child Welfare", "Northside Youth Services")
    }
    categories = [line["categories"] for line in at_a]
    # The timeline twice (API, page): summaries; the result page and the API's result: the summary with the
    # answers its evidence quotes (one consent, one line); the form's context: answers. All before the revocation.
    assert categories.count(["result_summary"]) == 2
    assert categories.count(["result_summary", "item_answers"]) == 2
    assert categories.count(["item_answers"]) == 1
    printable = client.get(f"/youth/{youth_b}/disclosures")
    assert printable.status_code == 200
    # each line names the consent as the youth's, from its first day (no internal id for a guardian to puzzle over)
    assert printable.text.count(f"from {given['starts_at'][:10]}") == len(at_a) and given["id"] not in printable.text
    assert "Test screener (Screener)" in printable.text and "/static/print.css" in printable.text


def test_consents_show_on_both_sides_and_only_the_giver_may_change_them(client: TestClient, world: World) -> None:
    a = side(client, world, "Northside Youth Services")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_a = add_youth(client, a, "NS-1")
    given = consent(client, a, youth_a, b)
    youth_b = add_youth(client, b, "ES-1", KATE)
    assert link(client, b, youth_b).status_code == 201
    received = client.get(f"/api/v1/youth/{youth_b}/consents", headers=b.api).json()
    assert [c["id"] for c in received] == [given["id"]]
    refused = client.post(f"/api/v1/consents/{given['id']}/revoke", headers=b.api, json={"reason": REVOKE_REASON})
    assert refused.status_code == 404

    sign_in(client, b.users["screener"])
    listed = section(client.get(f"/youth/{youth_b}").text, "consents")
    assert "Northside Youth Services" in listed and "Eastside Child Welfare" in listed and "Active" in listed
    assert "Revoke" not in listed and "/change" not in listed
    sign_in(client, a.users["screener"])
    listed = section(client.get(f"/youth/{youth_a}").text, "consents")
    assert "Revoke" in listed and f"/youth/{youth_a}/consents/{given['id']}/change" in listed
    assert "Result summary, Answers" in listed and "Care coordination" in listed and "Written and signed" in listed
