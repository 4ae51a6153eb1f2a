"""Tell once across two hops, probed from outside [issue 10, "Done when" 1; DESIGN §7].

A (a victim-service agency) shares a youth's answers with B; B's check-in carries them and B's staff confirm
them; B then shares with C. A never consented to C, so C must get none of A's answers, never learn A's name
or A's screening, and the ledger must hold no view of A's data by C (every entry of C's cites a grant). Once A
consents to C, C's next check-in carries A's answers, names A, and the ledger cites that consent.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.app.conftest import World, sign_in
from tests.app.sharing_support import (
    add_youth,
    consent,
    form_pages,
    ledger,
    link,
    screen,
    shown_answers,
    side,
    start,
    told,
)

SELF_REPORT = "tellonce-youth-self-report"
LENA = {"given_name": "Lena", "family_name": "Okafor", "birth_date": "2011-06-14"}  # synthetic
# What the youth told A: things from before, which keep carrying (no present-state question).
A_SAID = {"hurt_by_caregiver": "yes", "unwanted_touch": "not_sure", "stayed_away": "yes", "taken_far": "yes"}
B_SAID = {"given_drugs": "yes", "made_to_break_law": "yes"}  # told B for the first time
QUESTIONS = {
    "hurt_by_caregiver": "Has an adult who took care of you ever hit you, hurt you, or not given you the food or "
    "care you needed?",
    "unwanted_touch": "Has anyone ever touched you in a sexual way when you did not want them to?",
    "stayed_away": "Have you ever run away, or stayed away from home for a night or more without telling the "
    "adults who take care of you?",
    "taken_far": "Has someone taken you to another city or town, and you did not know why or could not get back "
    "on your own?",
    "given_drugs": "Has anyone given you alcohol or drugs to get you to do things you did not want to do?",
    "made_to_break_law": "Has anyone made you do something against the law for them, like sell drugs or steal?",
}
LABELS = {"yes": "Yes", "not_sure": "Not sure"}
DIRECTORY = re.compile(r'<select[^>]*name="to_agency_id".*?</select>', re.S)


def _origins(screening: dict[str, Any]) -> dict[str, tuple[Any, str, str | None]]:
    return {k: (v["value"], v["source"], v["carried_from"]) for k, v in screening["answers"].items()}


def test_a_third_agency_gets_an_answer_only_under_a_consent_from_where_it_was_given(
    client: TestClient, world: World, subtests: Any
) -> None:
    a = side(client, world, "Lantern Survivor Advocates", "victim_service")
    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    c = side(client, world, "Westside Health Clinic", "health")
    youth_a = add_youth(client, a, "LSA-0042", LENA)
    at_a = screen(client, a, youth_a, A_SAID, instrument=SELF_REPORT, mode="interview")
    consent(client, a, youth_a, b)

    # B: its own record, linked; its check-in carries A's answers, B's staff confirm them, the youth adds two.
    youth_b = add_youth(client, b, "ES-0420", LENA)
    assert link(client, b, youth_b).status_code == 201
    started = start(client, b, youth_b)
    assert _origins(started) == {k: (v, "carried", at_a["id"]) for k, v in A_SAID.items()}
    saved = client.put(
        f"/api/v1/screenings/{started['id']}/answers",
        headers=b.api,
        json={"version": started["version"], "answers": A_SAID | B_SAID, "confirm": list(A_SAID)},
    )
    assert saved.status_code == 200, saved.text
    done = client.post(
        f"/api/v1/screenings/{started['id']}/complete", headers=b.api, json={"version": saved.json()["version"]}
    )
    assert done.status_code == 200, done.text
    at_b = done.json()
    assert {k: o[2] for k, o in _origins(at_b).items() if k in A_SAID} == dict.fromkeys(A_SAID, at_a["id"])

    # C: B's release (answers too), C's own record linked, a new check-in. Nothing of A's may reach C.
    consent(client, b, youth_b, c)
    youth_c = add_youth(client, c, "WH-77", LENA)
    assert link(client, c, youth_c).status_code == 201
    at_c = start(client, c, youth_c)
    with subtests.test("C's new check-in holds no answer of A's"):
        from_a = {
            k for k, v in at_c["answers"].items() if A_SAID.get(k) == v["value"] or v["carried_from"] == at_a["id"]
        }
        assert from_a == set()

    api = {
        "C's new screening": f"/api/v1/screenings/{at_c['id']}",
        "C's timeline": f"/api/v1/youth/{youth_c}/timeline",
        "C's youth record": f"/api/v1/youth/{youth_c}",
        "C's consents": f"/api/v1/youth/{youth_c}/consents",
        "C's disclosures": f"/api/v1/youth/{youth_c}/disclosures",
        "B's result": f"/api/v1/screenings/{at_b['id']}/result",
        "B's revision 1": f"/api/v1/screenings/{at_b['id']}/revisions/1",
        "B's FHIR export": f"/api/v1/screenings/{at_b['id']}/fhir",
    }
    seen = {name: client.get(path, headers=c.api) for name, path in api.items()}
    seen["B's FHIR NDJSON"] = client.get(api["B's FHIR export"], headers=c.api, params={"format": "ndjson"})
    sign_in(client, c.users["screener"])
    pages = {
        "C's youth page": f"/youth/{youth_c}",
        "C's disclosures page": f"/youth/{youth_c}/disclosures",
        "B's result page": f"/screenings/{at_b['id']}/result",
        "B's revision page": f"/screenings/{at_b['id']}/revisions/1",
        "B's summary": f"/screenings/{at_b['id']}/summary",
    }
    seen |= {name: client.get(path) for name, path in pages.items()}
    texts = {name: response.text for name, response in seen.items()} | {"C's form": form_pages(client, at_c["id"])}
    # The consent form's list of agencies names every agency of the deployment, whoever serves the youth.
    texts["C's youth page"] = DIRECTORY.sub("", texts["C's youth page"])
    assert {name: r.status_code for name, r in seen.items() if r.status_code != 200} == {}
    # B's export to C, as C receives it (B's supervisor runs it; it is C's copy).
    today = at_b["completed_at"][:10]
    for fmt in ("json", "fhir-bundle"):
        terms = {"recipient": c.agency.id, "from": today, "to": today, "format": fmt}
        export = client.get(
            "/api/v1/exports",
            headers=b.headers("supervisor"),
            params=terms | {"categories": "result_summary,item_answers"},
        )
        assert export.status_code == 200, export.text
        texts[f"B's {fmt} export to C"] = export.text

    secrets = {
        "A's name": a.agency.name,
        "A's screening": at_a["id"],
        "A's record": youth_a,
        "A's case number": "LSA-0042",
    }
    with subtests.test("no response to C names A or A's screening"):
        named = {(where, what) for where, text in texts.items() for what, secret in secrets.items() if secret in text}
        assert not named, sorted(named)

    # What C reads of B's answers: B's own, and none of those whose origin is A.
    documents = {k: seen[k].json() for k in ("B's result", "B's revision 1", "B's FHIR export")}
    documents |= {k: json.loads(v) for k, v in texts.items() if k.endswith("export to C")}
    for where, document in documents.items():
        with subtests.test("C reads B's own answers, none of A's", where=where):
            pairs = told(document)
            quoted = sorted(k for k in A_SAID if (k, A_SAID[k]) in pairs)
            left_out = sorted(k for k in B_SAID if (k, B_SAID[k]) not in pairs)
            assert (quoted, left_out) == ([], []), "(A's answers quoted, B's own left out)"
    for where in ("B's result page", "B's revision page", "B's summary"):
        with subtests.test("C reads B's own answers, none of A's", where=where):
            shown = {item: shown_answers(texts[where], QUESTIONS[item]) for item in QUESTIONS}
            quoted = sorted(k for k in A_SAID if LABELS[A_SAID[k]] in shown[k])
            left_out = sorted(k for k in B_SAID if LABELS[B_SAID[k]] not in shown[k])
            assert (quoted, left_out) == ([], []), "(A's answers quoted, B's own left out)"

    # The ledger: nothing of A's was shown to C, and every entry of what C was shown cites its grant.
    rows = ledger(world, c.agency.id)
    with subtests.test("the ledger: nothing of A's shown to C, and each entry of C's cites its grant"):
        assert rows, "C's views of B's screening are in the ledger"
        of_a = [(r.kind, r.categories) for r in rows if r.owner_agency_id == a.agency.id]
        grantless = [(r.kind, r.categories) for r in rows if not (r.consent_id or r.break_glass_id)]
        assert (of_a, grantless) == ([], []), "(entries of A's data shown to C, entries of C's without a grant)"

    # A consents to C: C's next check-in carries A's answers, unconfirmed, naming A; the ledger cites the consent.
    to_c = consent(client, a, youth_a, c)
    again = start(client, c, youth_c)
    assert {k: v for k, v in _origins(again).items() if k in A_SAID} == {
        k: (v, "carried", at_a["id"]) for k, v in A_SAID.items()
    }
    assert not [k for k in A_SAID if again["answers"][k].get("confirmed_at") or again["answers"][k].get("confirmed")]
    assert a.agency.name in form_pages(client, again["id"])
    earlier = {r.id for r in rows}
    carried = [r for r in ledger(world, c.agency.id) if r.id not in earlier and r.owner_agency_id == a.agency.id]
    assert ("carry_forward", to_c["id"]) in {(r.kind, r.consent_id) for r in carried}
    assert {r.consent_id for r in carried} == {to_c["id"]}
