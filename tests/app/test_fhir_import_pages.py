"""The staff pages for a partner's file (issue 12 §2): "Import a partner's file" previews each response under the
youth its own subject is, saves nothing, then imports exactly that; and the youth record's panel of identifiers
from partner systems, which lists systems and never a value."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import crypto
from app.interop import fhir
from app.main import loaded_instruments
from app.models import AuditEvent, Screening, User, Youth
from app.models_sharing import YouthIdentifier
from app.records import service as records
from app.records.identifiers import value_index
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from tests.app import fhir_support as support
from tests.app.conftest import World, bearer, sign_in

PAGE = "/imports/fhir-import"
PARTNER_SYSTEM = "https://partner.example.org/fhir/client-number"
NAMES = [("Ana", "Brightwater"), ("Beto", "Cloudsley"), ("Cora", "Dunmore"), ("Dario", "Elmsworth")]


def _youth(session: Session, user: User, given: str, family: str, case: str) -> Youth:
    data = YouthCreate(given_name=given, family_name=family, birth_date=date(2009, 3, 4), case_number=case)
    record = records.create(session, crypto.get_key_ring(), user, data)
    session.commit()
    session.refresh(record)
    return record


def _response(session: Session, sender: User, name: str, subject: dict[str, Any] | None) -> dict[str, Any]:
    """North's completed screening as a QuestionnaireResponse named `name`, about `subject`."""
    done = session.exec(select(Screening).where(Screening.agency_id == sender.agency_id)).first()
    assert done is not None
    instrument = loaded_instruments().get(support.SELF_REPORT, done.instrument_version)
    answers = screenings.stored_answers(session, crypto.get_key_ring(), done)
    response = fhir.questionnaire_response(done, answers, instrument, "x")
    response |= {"id": name, "identifier": {"value": name}, "authored": "2025-02-03T10:00:00Z"}
    response.pop("subject", None)
    return response | ({"subject": subject} if subject is not None else {})


def _patient(pseudonym: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pseudonym,
        "identifier": [{"system": fhir.PSEUDONYM_SYSTEM, "value": pseudonym}],
    }


class Partners:
    """North sends files; South imports them and holds four youth (the fourth known by North's client number)."""

    def __init__(self, world: World, session: Session) -> None:
        north, south = world.agency("North"), world.agency("South", "shelter")
        self.session = session
        self.sender, self.importer = world.user(north), world.user(south, "supervisor")
        self.stranger = _youth(session, self.sender, "Zeno", "Farraday", "N-1")  # North's only: South holds none
        support.completed(session, self.sender, self.stranger, support.SELF_REPORT, "interview", support.SELF_ANSWERS)
        self.people = [_youth(session, self.importer, g, f, f"S-{n}") for n, (g, f) in enumerate(NAMES, start=1)]
        keys = crypto.get_key_ring()
        session.add(
            YouthIdentifier(
                agency_id=south.id,
                youth_id=self.people[3].id,
                system=PARTNER_SYSTEM,
                value_index=value_index(keys, south.id, PARTNER_SYSTEM, "C-4"),
                recorded_by=self.importer.id,
            )
        )
        session.commit()

    def pseudonym(self, youth: Youth) -> str:
        return support.pseudonym_for(self.session, youth, self.importer.agency_id)

    def mixed(self) -> tuple[dict[str, Any], dict[str, str]]:
        """A Bundle of five responses about South's four youth, each named another FHIR way, and three that match
        none of them (no subject; North's own youth; a subject naming two of South's youth); and whose each is."""
        ids = [self.pseudonym(y) for y in self.people]
        contained = {
            "resourceType": "Patient",
            "id": "who",
            "identifier": [{"system": fhir.PSEUDONYM_SYSTEM, "value": ids[2]}],
        }
        both = {
            "identifier": [
                {"system": PARTNER_SYSTEM, "value": "C-4"},
                {"system": fhir.PSEUDONYM_SYSTEM, "value": ids[0]},
            ]
        }
        north_own = support.pseudonym_for(self.session, self.stranger, self.importer.agency_id)
        r = self.session, self.sender
        entries = [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": _patient(ids[0])},
            {"resource": _response(*r, "r-1a", {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"})},
            {"resource": _response(*r, "r-1b", {"reference": f"Patient/{ids[0]}"})},
            {"resource": _response(*r, "r-2", {"reference": f"https://partner.example.org/fhir/Patient/{ids[1]}"})},
            {"resource": _response(*r, "r-3", {"reference": "#who"}) | {"contained": [contained]}},
            {"resource": _response(*r, "r-4", {"identifier": {"system": PARTNER_SYSTEM, "value": "C-4"}})},
            {"resource": _response(*r, "no-subject", None)},
            {"resource": _response(*r, "stranger", {"reference": f"Patient/{north_own}"})},
            {"resource": _response(*r, "twice", both)},
        ]
        whose = {"r-1a": 0, "r-1b": 0, "r-2": 1, "r-3": 2, "r-4": 3}
        return {"resourceType": "Bundle", "type": "batch", "entry": entries}, {
            k: self.people[v].id for k, v in whose.items()
        }

    def screenings(self) -> list[Screening]:
        self.session.expire_all()
        return list(self.session.exec(select(Screening).where(Screening.agency_id == self.importer.agency_id)))

    def imports(self) -> list[AuditEvent]:
        self.session.expire_all()
        return list(
            self.session.exec(
                select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "screening.import")
            )
        )


def _upload(client: TestClient, token: str, content: bytes, name: str = "partner.json", **fields: str) -> Any:
    kind = "application/fhir+ndjson" if name.endswith(".ndjson") else "application/json"
    return client.post(PAGE, data={"csrf_token": token, **fields}, files={"file": (name, content, kind)})


def _sealed(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="sealed" value="([^"]+)"', page)]


def _import(client: TestClient, token: str, sealed: list[str]) -> Any:
    return client.post(PAGE, data={"csrf_token": token, "action": "import", "sealed": sealed})


def _sections(page: str) -> list[str]:
    """Each matched youth's part of the page (a section per youth)."""
    return page.split('<section class="import-person"')[1:]


def test_a_mixed_file_is_previewed_per_youth_saving_nothing_then_each_response_lands_on_its_own_youth(
    client: TestClient, world: World, session: Session
) -> None:
    partners = Partners(world, session)
    bundle, whose = partners.mixed()
    token = sign_in(client, partners.importer)
    assert 'href="/imports/fhir-import"' in client.get("/youth").text  # the nav links the page

    preview = _upload(client, token, json.dumps(bundle).encode())
    assert preview.status_code == 200, preview.text
    page = preview.text
    sections = _sections(page.split('id="unmatched-heading"')[0])
    assert len(sections) == 4
    for youth, (given, family), section in zip(partners.people, NAMES, sections, strict=True):
        assert f'<a href="/youth/{youth.id}">{given} {family}</a>' in section
        listed = set(re.findall(r"<code>([^<]+)</code>", section))
        assert listed == {ref for ref, youth_id in whose.items() if youth_id == youth.id}, given
        assert section.count("Ready to import") == len(listed)
    unmatched = page.split('id="unmatched-heading"')[1]
    for ref, where, why in (
        ("no-subject", "entry 6", "has no subject"),
        ("stranger", "entry 7", "is none of your agency&#39;s youth"),
        ("twice", "entry 8", "matches 2 of your agency&#39;s youth"),
    ):
        row = next(r for r in unmatched.split("<tr>") if f"<code>{ref}</code>" in r)
        assert where in row and why in row, row
    assert "Import 5 responses" in page
    assert "Zeno" not in page and "Farraday" not in page and partners.stranger.id not in page  # not South's youth
    assert partners.screenings() == [] and partners.imports() == []  # a preview saves nothing

    done = _import(client, token, _sealed(page))
    assert done.status_code == 200, done.text
    assert "5 responses were imported." in done.text
    saved = {e.detail["response"]: (e.detail["youth"], str(e.object_id)) for e in partners.imports()}
    assert {ref: youth_id for ref, (youth_id, _s) in saved.items()} == whose  # each on its own youth, none elsewhere
    assert {(s.id, s.youth_id) for s in partners.screenings()} == {(s, y) for y, s in saved.values()}
    for section, youth in zip(_sections(done.text), partners.people, strict=True):
        shown = set(re.findall(r'href="/screenings/([^/]+)/result"', section))
        assert shown == {s for y, s in saved.values() if y == youth.id}

    again = _import(client, token, _sealed(page))  # the same import sent twice (a second click)
    assert again.status_code == 200 and "0 responses were imported." in again.text
    assert again.text.count("Already imported, so skipped") == 5 and len(partners.screenings()) == 5
    anew = _upload(client, token, json.dumps(bundle).encode())  # the same file uploaded again
    assert anew.text.count("Already imported, so skipped") == 5 and "Nothing in this file can be imported." in anew.text
    assert _sealed(anew.text) == [] and len(partners.screenings()) == 5


def test_the_import_saves_nothing_the_preview_did_not_show(client: TestClient, world: World, session: Session) -> None:
    partners = Partners(world, session)
    youth = partners.people[1]
    late = _response(session, partners.sender, "late", {"identifier": {"system": PARTNER_SYSTEM, "value": "C-2"}})
    mine = _response(session, partners.sender, "mine", {"reference": f"Patient/{partners.pseudonym(youth)}"})
    lines = "\n".join(json.dumps(r) for r in (mine, late)).encode()
    token = sign_in(client, partners.importer)
    preview = _upload(client, token, lines, "partner.ndjson")
    assert preview.status_code == 200 and "Import 1 response" in preview.text and "line 2" in preview.text
    sealed = _sealed(preview.text)

    # The hidden field is the sealed file: changed, or sent by another session, it imports nothing.
    tampered = [sealed[0][:-8] + ("A" * 8 if not sealed[0].endswith("A" * 8) else "B" * 8), *sealed[1:]]
    refused = _import(client, token, tampered)
    assert refused.status_code == 400 and "Upload the file again" in refused.text
    other = TestClient(client.app, base_url="http://testserver")
    with other:
        colleague = world.user(_agency_of(session, partners.importer), "screener")
        other_token = sign_in(other, colleague)
        assert _import(other, other_token, sealed).status_code == 400
    assert partners.screenings() == []

    # Since the preview, North's client number C-2 was recorded for the youth: `late` would now be imported too.
    recorded = {"csrf_token": token, "system": PARTNER_SYSTEM, "value": "C-2"}
    added = client.post(f"/youth/{youth.id}/identifiers", data=recorded, follow_redirects=False)
    assert added.status_code == 303
    changed = _import(client, token, sealed)
    assert (
        changed.status_code == 409 and "Nothing was imported" in changed.text and "Import 2 responses" in changed.text
    )
    assert partners.screenings() == []
    done = _import(client, token, _sealed(changed.text))
    assert done.status_code == 200 and "2 responses were imported." in done.text
    assert sorted(s.youth_id for s in partners.screenings()) == [youth.id, youth.id]


def _agency_of(session: Session, user: User) -> Any:
    from app.models import Agency

    return session.get(Agency, user.agency_id)


def test_a_bad_file_is_refused_plainly_and_saves_nothing(client: TestClient, world: World, session: Session) -> None:
    partners = Partners(world, session)
    bundle, _whose = partners.mixed()
    token = sign_in(client, partners.importer)
    line = json.dumps(bundle["entry"][1]["resource"])
    for content, name, status, said in (
        (b'{"resourceType": "Bundle", "entry": [', "partner.json", 400, "is not valid JSON"),
        (f"{line}\nnot json at all\n".encode(), "partner.ndjson", 400, "line 2: is not valid JSON"),
        (b'{"resourceType": "Patient"}', "partner.json", 400, "Send a FHIR Bundle"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
            "partner.json",
            422,
            "no QuestionnaireResponses",
        ),
    ):
        refused = _upload(client, token, content, name)
        assert refused.status_code == status, (name, refused.text)
        assert said in refused.text and "Nothing was imported." in refused.text and _sealed(refused.text) == []
    assert "must have a name ending in .ndjson" in _upload(client, token, f"{line}\n{line}\n".encode()).text
    no_file = client.post(PAGE, data={"csrf_token": token, "action": "preview"})
    assert no_file.status_code == 400 and "Choose the partner&#39;s file" in no_file.text
    unknown = _upload(client, token, json.dumps(bundle).encode(), partner="no-such-agency")
    assert unknown.status_code == 400 and "No such partner agency" in unknown.text
    too_large = _upload(client, token, b" " * (8 * 1024 * 1024 + 1))
    assert too_large.status_code == 413 and "larger than this server accepts" in too_large.text
    assert partners.screenings() == [] and partners.imports() == []


def test_the_page_needs_a_signed_in_form_of_this_session_and_shows_another_agency_none_of_its_youth(
    client: TestClient, world: World, session: Session
) -> None:
    partners = Partners(world, session)
    bundle, _whose = partners.mixed()
    content = json.dumps(bundle).encode()
    assert client.get(PAGE, follow_redirects=False).status_code == 303  # to sign in
    token = sign_in(client, partners.importer)
    preview = _upload(client, token, content)
    assert _upload(client, "not-the-token", content).status_code == 403
    cross_site = client.post(
        PAGE,
        data={"csrf_token": token, "action": "import", "sealed": _sealed(preview.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert client.post(PAGE, data={"action": "import", "sealed": _sealed(preview.text)}).status_code == 403
    assert partners.screenings() == [] and partners.imports() == []

    # The same users as the API: a screener of North may preview the file, and none of South's youth is named.
    client.cookies.clear()
    north = sign_in(client, partners.sender)
    theirs = _upload(client, north, content)
    assert theirs.status_code == 200 and _sections(theirs.text) == [] and _sealed(theirs.text) == []
    assert not any(
        f"{g} {f}" in theirs.text or y.id in theirs.text for (g, f), y in zip(NAMES, partners.people, strict=True)
    )
    assert theirs.text.count("is none of your agency&#39;s youth") == 7


def test_the_identifier_panel_adds_lists_and_removes_and_never_shows_the_value(
    client: TestClient, world: World, session: Session
) -> None:
    partners = Partners(world, session)
    youth, other = partners.people[0], partners.people[1]
    token = sign_in(client, partners.importer)
    record = client.get(f"/youth/{youth.id}").text
    assert "Identifiers from partner systems" in record and "None recorded." in record.split('id="identifiers"')[1]
    system = "https://county.example.org/client"
    added = client.post(
        f"/youth/{youth.id}/identifiers",
        data={"csrf_token": token, "system": system, "value": "ZX-90817"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == f"/youth/{youth.id}#identifiers"
    panel = client.get(f"/youth/{youth.id}").text.split('id="identifiers"')[1]
    assert f"<code>{system}</code>" in panel and "ZX-90817" not in panel
    row = session.exec(select(YouthIdentifier).where(YouthIdentifier.system == system)).one()
    assert "ZX-90817" not in json.dumps(row.model_dump(mode="json"))

    taken = client.post(
        f"/youth/{other.id}/identifiers", data={"csrf_token": token, "system": system, "value": "ZX-90817"}
    )
    assert taken.status_code == 409 and "for another youth already" in taken.text and "ZX-90817" not in taken.text
    own = client.post(
        f"/youth/{other.id}/identifiers", data={"csrf_token": token, "system": fhir.PSEUDONYM_SYSTEM, "value": "x"}
    )
    assert own.status_code == 400 and "pseudonyms are matched without being recorded" in own.text
    blank = client.post(f"/youth/{other.id}/identifiers", data={"csrf_token": token, "system": " ", "value": "x"})
    assert blank.status_code == 400
    not_uri = {"csrf_token": token, "system": "client number", "value": "ZX-1"}
    vague = client.post(f"/youth/{other.id}/identifiers", data=not_uri)
    assert vague.status_code == 400 and "e.g. https://partner.example.org/client-number" in vague.text
    assert "ZX-1" not in vague.text
    forged = client.post(f"/youth/{other.id}/identifiers", data={"csrf_token": "x", "system": system, "value": "Q"})
    assert forged.status_code == 403
    north = world.user(_agency_of(session, partners.sender), "supervisor")  # another agency: not its youth
    with TestClient(client.app, base_url="http://testserver") as outsider:
        north_token = sign_in(outsider, north)
        theirs = outsider.post(
            f"/youth/{youth.id}/identifiers", data={"csrf_token": north_token, "system": system, "value": "Q"}
        )
        assert theirs.status_code == 404
        removal = outsider.post(f"/youth/{youth.id}/identifiers/{row.id}/remove", data={"csrf_token": north_token})
        assert removal.status_code == 404
    session.expire_all()
    assert [r.youth_id for r in session.exec(select(YouthIdentifier).where(YouthIdentifier.system == system))] == [
        youth.id
    ]

    gone = client.post(
        f"/youth/{youth.id}/identifiers/{row.id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert system not in client.get(f"/youth/{youth.id}").text
    session.expire_all()
    assert session.exec(select(YouthIdentifier).where(YouthIdentifier.system == system)).all() == []
    actions = [
        e.action
        for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.object_id == youth.id))
    ]
    assert actions.count("youth.identifier.add") == 1 and actions.count("youth.identifier.remove") == 1


def test_the_import_page_speaks_spanish(client: TestClient, world: World, session: Session) -> None:
    partners = Partners(world, session)
    partners.importer.language = "es"
    session.add(partners.importer)
    session.commit()
    bundle, _whose = partners.mixed()
    token = sign_in(client, partners.importer)
    form = client.get(PAGE).text
    assert "Importar el archivo de un socio" in form
    preview = _upload(client, token, json.dumps(bundle).encode()).text
    assert "Importar 5 respuestas" in preview and "Listo para importar" in preview
    assert "Identificadores de sistemas de socios" in client.get(f"/youth/{partners.people[0].id}").text


def test_each_responses_problems_are_listed_in_the_viewers_language(
    client: TestClient, world: World, session: Session
) -> None:
    partners = Partners(world, session)
    partners.importer.language = "es"
    session.add(partners.importer)
    session.commit()
    youth = partners.people[0]
    unfinished = _response(session, partners.sender, "r-open", {"reference": f"Patient/{partners.pseudonym(youth)}"})
    unfinished["status"] = "in-progress"
    nobody = _response(session, partners.sender, "r-nobody", None)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": unfinished}, {"resource": nobody}]}
    token = sign_in(client, partners.importer)
    page = _upload(client, token, json.dumps(bundle).encode()).text
    row = next(r for r in _sections(page)[0].split("<tr>") if "<code>r-open</code>" in r)
    assert "solo se importan las respuestas completadas" in row and "only completed" not in page
    unmatched = page.split('id="unmatched-heading"')[1]
    assert "entrada 1" in unmatched and "no tiene sujeto, así que no puede asociarse a ningún joven" in unmatched
    # The API says the same in English, with a stable code.
    api = client.post("/api/v1/fhir-import", headers=bearer(client, partners.importer), json=bundle).json()
    [problem] = api["subjects"][0]["responses"][0]["problems"]
    assert problem == {"link_id": None, "message": "only completed responses are imported", "code": "not_completed"}
