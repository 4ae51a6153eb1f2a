"""The referral summary of a screening: a readable page and a PDF, with only what the viewer may see."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.exports import summary
from app.main import loaded_instruments
from app.models import Screening, User
from app.models_sharing import Category, Disclosure
from tests.app.conftest import World, sign_in
from tests.app.exports_support import Scene, make_scene, practitioner

CONFIDENTIAL = "Confidential: contains information about a young person, shared under their consent. Do not redisclose."
NOTES = "Canary note 7d2a: met at the bus station"


@pytest.fixture
def scene(world: World) -> Scene:
    return make_scene(world, loaded_instruments())  # the app's own registry, compiled once per process


def _done(scene: Scene, client: TestClient, *categories: Category) -> Screening:
    """A's completed practitioner screening (Clear concern, with notes); a consent to B of the categories."""
    done, _ = practitioner(scene, client, consent=False, notes=NOTES)
    if categories:
        scene.consent(*categories)
    return done


def _b_user(scene: Scene, world: World, role: str = "screener") -> User:
    """A user at B (B's screener already exists in the scene)."""
    found = scene.db.exec(select(User).where(User.agency_id == scene.b.id, User.role == role)).first()
    return found or world.user(scene.b, role)


def _views(scene: Scene) -> list[Disclosure]:
    scene.db.expire_all()
    return list(scene.db.exec(select(Disclosure).where(Disclosure.kind == "view")))


def test_the_own_agency_sees_everything_under_the_confidentiality_header(scene: Scene, client: TestClient) -> None:
    done = _done(scene, client)
    sign_in(client, scene.screener)
    page = client.get(f"/screenings/{done.id}/summary")
    assert page.status_code == 200, page.text
    text = page.text
    assert CONFIDENTIAL in text and text.index(CONFIDENTIAL) < text.index("Referral summary</h1>")
    assert text.count(CONFIDENTIAL) == 1  # once, at the top: not again in a box or at the bottom
    assert "Clear concern" in text and "Practitioner" in text and "version</" not in text
    # Who, in a layout that reads as a referral: the youth as the agency's own record has them, and who prepared it.
    assert "Avery Testcase" in text and "2010-04-02" in text and "A-1 (Northside Youth Services)" in text
    assert "Test screener, Northside Youth Services" in text
    # How it was taken, in words; the instrument's id, version and content hash only in the technical details.
    assert "Rated by staff from what they know" in text and "Mode and language" not in text
    technical = text.index("Technical details")
    assert text.index(done.content_hash[:16]) > technical and text.count(done.content_hash[:16]) == 1
    assert text.index("tellonce-practitioner-indicators, version 1.3.0") > technical
    assert "Not validated." in text and "Next steps" in text and "Domains and reasons" in text
    assert NOTES in text and "Answers</h2>" in text and "→" in text  # answers, evidence and notes
    assert page.headers["cache-control"] == "no-store"
    assert _views(scene) == []  # the agency's own record: not a disclosure


def test_another_agency_with_a_summary_consent_sees_no_answers_and_is_in_the_ledger(
    scene: Scene, client: TestClient, world: World
) -> None:
    done = _done(scene, client, Category.result_summary)
    reader = _b_user(scene, world)
    sign_in(client, reader)
    page = client.get(f"/screenings/{done.id}/summary")
    assert page.status_code == 200, page.text
    assert CONFIDENTIAL in page.text and "Clear concern" in page.text and "Shared with" in page.text
    assert "Answers</h2>" not in page.text and "→" not in page.text  # no answers, no evidence quoting them
    assert NOTES not in page.text
    # B knows the youth from its own record: its own case number, never A's.
    assert "Avery Testcase" in page.text and "B-1 (Eastside Child Welfare)" in page.text and "A-1" not in page.text
    [entry] = _views(scene)
    assert (entry.viewer_id, entry.owner_agency_id, entry.screening_id) == (reader.id, scene.a.id, done.id)
    assert entry.categories == ["result_summary"] and entry.consent_id is not None


def test_another_agency_with_an_answers_consent_sees_the_answers(
    scene: Scene, client: TestClient, world: World
) -> None:
    done = _done(scene, client, Category.result_summary, Category.item_answers)
    sign_in(client, _b_user(scene, world))
    page = client.get(f"/screenings/{done.id}/summary")
    assert "Answers</h2>" in page.text and "→" in page.text and NOTES not in page.text
    assert _views(scene)[0].categories == ["result_summary", "item_answers"]


def test_without_consent_the_summary_and_its_pdf_are_not_found(scene: Scene, client: TestClient, world: World) -> None:
    done = _done(scene, client)
    scene.consent(Category.item_answers)  # answers without the summary: still no summary
    sign_in(client, _b_user(scene, world))
    assert client.get(f"/screenings/{done.id}/summary").status_code == 404
    assert client.get(f"/screenings/{done.id}/summary.pdf").status_code == 404
    assert client.get(f"/screenings/{done.id}/summary?purpose=referral").status_code == 404
    assert _views(scene) == []


def test_an_unfinished_screening_has_no_summary(scene: Scene, client: TestClient) -> None:
    scene.registry = client.app.state.registry  # type: ignore[attr-defined]
    from app.screenings import service as screenings
    from app.screenings.schemas import ScreeningCreate

    data = ScreeningCreate(youth_id=scene.youth.id, instrument_id="tellonce-brief-screen", mode="practitioner")
    started = screenings.start(scene.db, scene.keys, scene.registry, scene.screener, data)
    scene.db.commit()
    sign_in(client, scene.screener)
    assert client.get(f"/screenings/{started.id}/summary").status_code == 404


def _pdf_text(document: Any) -> str:
    """The text laid out on a WeasyPrint document's pages (its margin boxes too)."""
    found: list[str] = []

    def walk(box: Any) -> None:
        if getattr(box, "text", None):
            found.append(box.text)
        for child in getattr(box, "children", ()):
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return " ".join(found)


def test_the_pdf_is_a_pdf_with_the_level_and_the_header(scene: Scene, client: TestClient, world: World) -> None:
    done = _done(scene, client, Category.result_summary)
    sign_in(client, _b_user(scene, world))
    response = client.get(f"/screenings/{done.id}/summary.pdf")
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    from weasyprint import HTML

    reader = _b_user(scene, world, "supervisor")
    built = summary.build(scene.db, scene.keys, client.app.state.registry, reader, done.id)  # type: ignore[attr-defined]
    document = HTML(string=summary.html(built, pdf=True), url_fetcher=summary._no_fetch).render()
    text = " ".join(_pdf_text(document).split())
    assert "Clear concern" in text and "Referral summary" in text
    assert text.count(CONFIDENTIAL) == len(document.pages)  # atop every page, and nowhere else
    assert NOTES not in text and "version 1.3.0" in text
