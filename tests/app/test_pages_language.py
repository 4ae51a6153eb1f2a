"""Staff read every page in their own language, whatever language the youth answered in; youth pages keep
the youth's. A staff member chooses the language in the page header, without JavaScript.
[issue: staff pages in the staff's language, youth pages in the youth's]"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app.crypto import get_key_ring
from app.exports import summary
from app.i18n import LANGUAGE_COOKIE, LOCALE_DIR, rendering_in
from app.main import loaded_instruments
from app.models import User
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import ANSWERS, PRACTITIONER, SELF_REPORT, Side, add_youth, consent, side

# (page, Spanish heading, English heading): every kind of staff page, from the dashboard to the exports.
PAGES = [
    ("/", "Evaluaciones recientes", "Recent screenings"),
    ("/youth", "Añadir una persona joven", "Add a youth"),
    ("/youth/{youth}", "Empezar una evaluación", "Start a screening"),
    ("/screenings/{open}?page=1", "Guardar y continuar", "Save and continue"),
    ("/screenings/{open}/review", "Revise las respuestas", "Check the answers"),
    ("/screenings/{done}/result", "Resultado de la evaluación", "Screening result"),
    ("/screenings/{done}/summary", "Este resumen contiene", "This summary contains"),
    ("/screenings/{self}/self", "Registro autoadministrado", "Self-administered check-in"),
    ("/youth/{youth}/consents/{consent}/change", "Cambiar un consentimiento", "Change a consent"),
    ("/youth/{youth}/disclosures", "Relación de divulgaciones", "Account of disclosures"),
    ("/admin/users", "Personas que pueden iniciar sesión", "People who can sign in"),
    ("/admin/break-glass", "Accesos de emergencia a los expedientes de su agencia", "Break-glass access to your"),
    ("/reports", "Informe agregado", "Aggregate report"),
    ("/exports", "Exportar evaluaciones", "Export screenings"),
]
# What the bundled practitioner instrument says about the answers in ANSWERS, in each language.
RESULT_EXPLAINED = {
    "en": "A key indicator (one serious enough on its own) was rated clear concern",
    "es": "Un indicador clave (uno lo bastante grave por sí solo) se calificó como preocupación clara",
}


@dataclass
class Scene:
    client: TestClient
    home: Side
    ids: dict[str, str]

    @property
    def admin(self) -> User:
        return self.home.users["agency_admin"]


def _started(client: TestClient, at: Side, youth_id: str, instrument: str, mode: str, language: str) -> dict[str, Any]:
    body = {"youth_id": youth_id, "instrument_id": instrument, "mode": mode, "language": language}
    response = client.post("/api/v1/screenings", headers=at.api, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _completed_in(client: TestClient, at: Side, youth_id: str, language: str) -> str:
    """A practitioner screening given in `language`, answered and completed through the API."""
    screening = _started(client, at, youth_id, PRACTITIONER, "practitioner", language)
    url = f"/api/v1/screenings/{screening['id']}"
    saved = client.put(f"{url}/answers", headers=at.api, json={"version": screening["version"], "answers": ANSWERS})
    assert saved.status_code == 200, saved.text
    done = client.post(f"{url}/complete", headers=at.api, json={"version": saved.json()["version"]})
    assert done.status_code == 200, done.text
    return str(screening["id"])


@pytest.fixture
def scene(client: TestClient, world: World) -> Scene:
    """An agency with a youth who answered in Spanish, one open and one self-administered screening, and a
    consent to share with a second agency."""
    home = side(client, world, "Northside Youth Services")
    other = side(client, world, "Harbor County Probation", "probation")
    youth = add_youth(client, home, "NS-1001")
    ids = {
        "youth": youth,
        "done": _completed_in(client, home, youth, "es"),
        "open": _started(client, home, youth, PRACTITIONER, "practitioner", "es")["id"],
        "self": _started(client, home, youth, SELF_REPORT, "self", "es")["id"],
        "consent": consent(client, home, youth, other)["id"],
    }
    return Scene(client, home, ids)


def reads(world: World, user: User, language: str) -> None:
    """Save the user's language as their choice in the header would."""
    user.language = language
    world.session.add(user)
    world.session.commit()


def visible(page: str) -> str:
    """A page's text as a person meets it: tags gone, entities decoded, attribute values kept (aria, title)."""
    attributes = " ".join(re.findall(r'(?:aria-label|title|alt|placeholder)="([^"]*)"', page))
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + attributes)


@lru_cache
def _translated_phrases() -> list[str]:
    """English interface phrases (more than one word, no placeholder) whose Spanish differs."""
    with (LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    return [
        entry.id
        for entry in catalog
        if isinstance(entry.id, str) and " " in entry.id and "%" not in entry.id and entry.string != entry.id
    ]


def english_left_in(text: str) -> list[str]:
    """Interface phrases shown in English on a page although they have Spanish."""
    return [english for english in _translated_phrases() if english in text]


def test_every_staff_page_is_in_spanish_for_a_spanish_reader_and_in_english_for_an_english_one(
    scene: Scene, world: World
) -> None:
    reads(world, scene.admin, "es")
    sign_in(scene.client, scene.admin)
    for path, spanish, english in PAGES:
        response = scene.client.get(path.format(**scene.ids))
        assert response.status_code == 200, (path, response.text[:300])
        text = visible(response.text)
        assert '<html lang="es">' in response.text, path
        assert spanish in text and english not in text, path
        assert "Cerrar sesión" in text and "Sign out" not in text, path
        assert english_left_in(text) == [], path

    reads(world, scene.admin, "en")
    for path, spanish, english in PAGES:
        response = scene.client.get(path.format(**scene.ids))
        text = visible(response.text)
        assert '<html lang="en">' in response.text, path
        assert english in text and spanish not in text, path


def test_the_result_explains_in_the_readers_language_whatever_language_the_youth_answered_in(
    scene: Scene, world: World
) -> None:
    sign_in(scene.client, scene.admin)
    result = f"/screenings/{scene.ids['done']}/result"  # the youth answered in Spanish
    for language in ("en", "es"):
        reads(world, scene.admin, language)
        page = scene.client.get(result).text
        assert RESULT_EXPLAINED[language] in html.unescape(page)
        other = "es" if language == "en" else "en"
        assert RESULT_EXPLAINED[other] not in html.unescape(page)
        assert f'<h3 lang="{language}">' in page  # the instrument's words say which language they are in

    reads(world, scene.admin, "es")
    summary = html.unescape(scene.client.get(f"/screenings/{scene.ids['done']}/summary").text)
    assert "Confidencial: contiene información sobre una persona joven" in summary
    assert "Preocupación clara" in summary and RESULT_EXPLAINED["es"] in summary


def test_the_language_switch_saves_the_choice_and_returns_to_the_page(
    scene: Scene, world: World, client: TestClient
) -> None:
    csrf = sign_in(client, scene.admin)
    page = client.get("/youth").text
    assert '<button type="submit" name="language" value="es" lang="es" class="link">Español</button>' in page

    switched = client.post(
        "/account/language", data={"csrf_token": csrf, "language": "es", "next": "/youth"}, follow_redirects=False
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/youth"
    world.session.refresh(scene.admin)
    assert scene.admin.language == "es"
    spanish = client.get("/youth").text
    assert "<h1>Jóvenes</h1>" in spanish and 'value="en" lang="en" class="link">English</button>' in spanish

    # Signed out, the sign-in page still opens in Spanish on this browser.
    client.post("/logout", data={"csrf_token": csrf})
    assert client.cookies.get(LANGUAGE_COOKIE) == "es"
    assert "<h1>Iniciar sesión</h1>" in client.get("/login").text


def test_the_switch_refuses_a_post_without_its_token_or_with_an_unknown_language(
    scene: Scene, world: World, client: TestClient
) -> None:
    csrf = sign_in(client, scene.admin)
    forged = client.post("/account/language", data={"language": "es", "next": "/"}, follow_redirects=False)
    assert forged.status_code == 403
    unknown = client.post("/account/language", data={"csrf_token": csrf, "language": "fr"}, follow_redirects=False)
    assert unknown.status_code == 400 and "Choose English or Spanish." in unknown.text
    away = client.post(
        "/account/language",
        data={"csrf_token": csrf, "language": "es", "next": "https://elsewhere.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"  # only this site's pages
    world.session.refresh(scene.admin)
    assert scene.admin.language == "es"


def test_before_sign_in_the_page_follows_the_browser(client: TestClient) -> None:
    spanish = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).text
    assert '<html lang="es">' in spanish and "<h1>Iniciar sesión</h1>" in spanish
    other = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    assert '<html lang="en">' in other and "<h1>Sign in</h1>" in other


def test_errors_read_in_spanish_on_pages_and_stay_english_in_the_api(scene: Scene, world: World) -> None:
    reads(world, scene.admin, "es")
    sign_in(scene.client, scene.admin)
    page = scene.client.get("/screenings/nothing-here/result")
    assert page.status_code == 404 and "<h1>No existe esa evaluación.</h1>" in page.text
    api = scene.client.get("/api/v1/screenings/nothing-here", headers=scene.home.headers("agency_admin"))
    assert api.status_code == 404 and api.json()["detail"] == "No such screening."


def test_a_form_error_built_in_python_reads_in_the_viewers_language(scene: Scene, world: World) -> None:
    reads(world, scene.admin, "es")
    csrf = sign_in(scene.client, scene.admin)
    empty = scene.client.post("/youth", data={"csrf_token": csrf, "given_name": "", "family_name": "Nowak"})
    assert empty.status_code == 400
    text = visible(empty.text)
    assert "Introduzca el nombre." in text and "Enter the given name." not in text
    assert english_left_in(text) == []

    new_user = {"agency_id": scene.home.agency.id, "display_name": "Robin Example", "role": "screener"}
    bad_email = scene.client.post(
        "/admin/users", data={"csrf_token": csrf, **new_user, "email": "robin", "password": "a long enough password"}
    )
    assert bad_email.status_code == 400 and "Correo electrónico: el valor no es válido." in visible(bad_email.text)
    weak = scene.client.post(
        "/admin/users", data={"csrf_token": csrf, **new_user, "email": "robin@example.org", "password": "short"}
    )
    assert weak.status_code == 400 and "Use al menos 8 caracteres (mejor 15 o más)." in visible(weak.text)


def test_the_api_lets_a_person_choose_their_language(scene: Scene, world: World) -> None:
    headers = scene.home.headers("agency_admin")
    changed = scene.client.patch("/api/v1/me", headers=headers, json={"language": "es"})
    assert changed.status_code == 200 and changed.json()["language"] == "es"
    assert scene.client.get("/api/v1/me", headers=headers).json()["language"] == "es"
    refused = scene.client.patch("/api/v1/me", headers=headers, json={"language": "fr"})
    assert refused.status_code == 422


def test_youth_pages_keep_the_youths_language_whatever_the_staff_reads(scene: Scene, world: World) -> None:
    reads(world, scene.admin, "es")
    csrf = sign_in(scene.client, scene.admin)
    english_check_in = _started(scene.client, scene.home, scene.ids["youth"], SELF_REPORT, "self", "en")["id"]
    handed = scene.client.post(
        f"/screenings/{english_check_in}/self/handoff", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert handed.status_code == 200
    assert '<html lang="en">' in handed.text and "Leave now" in handed.text and "Salir ahora" not in handed.text


def test_the_codebook_download_is_in_the_readers_language_and_the_api_one_in_english(
    scene: Scene, world: World
) -> None:
    reads(world, scene.admin, "es")
    csrf = sign_in(scene.client, scene.admin)
    today = datetime.now(UTC).date().isoformat()
    terms = {"recipient": scene.home.agency.id, "from": today, "to": today, "purpose": "care_coordination"}
    book = scene.client.post("/exports/codebook", data={**terms, "csrf_token": csrf, "categories": "result_summary"})
    assert book.status_code == 200
    assert "Clave seudónima de la persona" in book.text and "clear_concern=Preocupación clara" in book.text
    assert book.text.startswith("column,kind,description,codes")  # the header names columns: it stays as it is

    query = {**terms, "categories": "result_summary"}
    api = scene.client.get("/api/v1/exports/codebook", params=query, headers=scene.home.headers("agency_admin"))
    assert api.status_code == 200 and "Pseudonymous person key" in api.text


def test_the_referral_summary_pdf_is_laid_out_in_the_readers_language(scene: Scene, world: World) -> None:
    reads(world, scene.admin, "es")
    sign_in(scene.client, scene.admin)
    response = scene.client.get(f"/screenings/{scene.ids['done']}/summary.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")

    # The PDF's text is compressed: check the document WeasyPrint lays out, as the route renders it.
    built = summary.build(world.session, get_key_ring(), loaded_instruments(), scene.admin, scene.ids["done"])
    with rendering_in("es"):
        document = summary.html(built, pdf=True)
    assert '<html lang="es">' in document
    assert 'content: "Página " counter(page) " de " counter(pages)' in document
    assert "Resumen de derivación de TellOnce" in document and "Confidencial: contiene información" in document
