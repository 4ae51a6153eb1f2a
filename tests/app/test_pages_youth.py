"""The youth pages, the dashboard, and what every practitioner page guarantees (escaping, no-store, agency walls)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.app.conftest import World, sign_in
from tests.app.test_pages_screening import add_youth, save_page, start, version_on


def _complete(client: TestClient, csrf: str, screening_id: str) -> None:
    review = client.get(f"/screenings/{screening_id}/review").text
    done = client.post(
        f"/screenings/{screening_id}/complete", data={"csrf_token": csrf, "version": str(version_on(review))}
    )
    assert done.status_code == 200 and "Screening result" in done.text


def test_bad_youth_input_shows_the_errors_keeps_the_values_and_creates_nothing(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    base = {"csrf_token": csrf, "given_name": "Robin", "family_name": "Example", "case_number": "NS-7"}
    future = client.post("/youth", data={**base, "birth_date": tomorrow})
    assert future.status_code == 400
    assert "There is a problem" in future.text and "The date of birth is in the future." in future.text
    assert 'href="#birth_date"' in future.text and 'value="Robin"' in future.text
    empty = client.post("/youth", data={**base, "given_name": "  ", "birth_date": "2010-02-30"})
    assert empty.status_code == 400
    assert "Enter the given name." in empty.text and "Enter the date of birth as a real date" in empty.text
    assert 'aria-invalid="true"' in empty.text and 'value="Example"' in empty.text
    assert "No youth have been added yet." in client.get("/youth").text
    add_youth(client, csrf, case_number="NS-7")
    duplicate = client.post("/youth", data={**base, "birth_date": "2010-01-01", "case_number": "ns-7"})
    assert duplicate.status_code == 400 and "already has a youth with that case number" in duplicate.text


def test_find_a_youth_by_case_number(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    youth_id = add_youth(client, csrf, case_number="NS-0042")
    found = client.get("/youth", params={"case_number": " ns-0042 "}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/youth/{youth_id}"
    missing = client.get("/youth", params={"case_number": "NS-9999"})
    assert missing.status_code == 200 and "Not found" in missing.text and "NS-9999" in missing.text
    detail = client.get(f"/youth/{youth_id}").text
    assert "2010-04-02" in detail and "NS-0042" in detail and "Start a screening" in detail


def test_names_are_escaped_everywhere(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    youth_id = add_youth(client, csrf, given_name="<script>alert(1)</script>")
    start(client, csrf, youth_id)
    for path in (f"/youth/{youth_id}", "/youth", "/"):
        html = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html


def test_another_agency_sees_nothing(client: TestClient, world: World) -> None:
    north, south = world.agency("North"), world.agency("South", "shelter")
    csrf = sign_in(client, world.user(north))
    youth_id = add_youth(client, csrf, case_number="N-1")
    screening_id = start(client, csrf, youth_id)
    save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "clear_concern"})
    _complete(client, csrf, screening_id)
    other = sign_in(client, world.user(south))
    for path in (
        f"/youth/{youth_id}",
        f"/screenings/{screening_id}",
        f"/screenings/{screening_id}/result",
        f"/screenings/{screening_id}/review",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Clear concern" not in response.text and "Avery" not in response.text
    posted = client.post(f"/youth/{youth_id}/screenings", data={"csrf_token": other, "instrument": "x|1|practitioner"})
    assert posted.status_code == 404
    assert "Not found" in client.get("/youth", params={"case_number": "N-1"}).text
    assert "Avery" not in client.get("/").text


def test_dashboard_filters_by_level(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    flagged = start(client, csrf, add_youth(client, csrf, given_name="Flagged", case_number="A-1"))
    save_page(
        client, csrf, flagged, 7, {"rate_coercion_debt": "clear_concern", "rate_coercion_threats": "clear_concern"}
    )
    _complete(client, csrf, flagged)
    calm = start(client, csrf, add_youth(client, csrf, given_name="Calm", case_number="A-2"))
    save_page(client, csrf, calm, 1, {"rate_housing_unstable": "no_concern"})
    _complete(client, csrf, calm)
    pending = start(client, csrf, add_youth(client, csrf, given_name="Pending", case_number="A-3"))
    assert pending

    everything = client.get("/").text
    assert all(name in everything for name in ("Flagged", "Calm", "Pending"))
    clear = client.get("/", params={"level": "clear_concern"}).text
    assert "Flagged" in clear and "Calm" not in clear and "Pending" not in clear
    assert '<option value="clear_concern" selected>' in clear
    none = client.get("/", params={"level": "no_concern"}).text
    assert "Calm" in none and "Flagged" not in none
    in_progress = client.get("/", params={"status": "in_progress", "level": ""}).text
    assert "Pending" in in_progress and "Calm" not in in_progress
    future = (date.today() + timedelta(days=2)).isoformat()
    assert "No screenings match." in client.get("/", params={"date_from": future}).text
    bad = client.get("/", params={"level": "purple", "date_to": "someday"})
    assert bad.status_code == 400 and "There is a problem" in bad.text
    past = (date.today() - timedelta(days=2)).isoformat()
    window = client.get("/", params={"date_from": past, "date_to": future, "status": "completed"}).text
    assert "Flagged" in window and "Calm" in window and "Pending" not in window
    assert "No screenings match." in client.get("/", params={"date_to": past}).text
    # The same filters from a user of another agency (the statement is built once per user and filters used):
    # none of the first agency's screenings.
    sign_in(client, world.user(world.agency("Second Agency")))
    for params in ({}, {"level": "clear_concern"}, {"date_from": past, "date_to": future, "status": "completed"}):
        assert "No screenings match." in client.get("/", params=params).text, params


def test_dashboard_names_each_screener_and_offers_only_its_own_agency_s_staff(client: TestClient, world: World) -> None:
    """Each row names who started the screening; the screener filter lists the agency's own staff (a disabled
    account still names the screenings it started) and never another agency's, and filtering by one works."""
    home, other = world.agency(), world.agency("Second Agency")
    names = {"Robin Okafor": world.user(home), "Sam Lindqvist": world.user(home, "supervisor")}
    outsider = world.user(other)
    for name, user in (*names.items(), ("Kit Outsider", outsider)):
        user.display_name = name
        world.session.add(user)
    world.session.commit()
    for name, case in (("Robin Okafor", "N-1"), ("Sam Lindqvist", "N-2")):
        csrf = sign_in(client, names[name])
        start(client, csrf, add_youth(client, csrf, given_name=f"Youth of {name.split()[0]}", case_number=case))
    names["Sam Lindqvist"].is_active = False  # gone since, but still who started that screening
    world.session.add(names["Sam Lindqvist"])
    world.session.commit()

    sign_in(client, names["Robin Okafor"])
    page = client.get("/").text
    for name, user in names.items():
        assert f'<option value="{user.id}" >{name}</option>' in page, name
        assert f"<td>{name}</td>" in page, name
    assert "Kit Outsider" not in page and outsider.id not in page
    robin = client.get("/", params={"screener_id": names["Robin Okafor"].id}).text
    assert "Youth of Robin" in robin and "Youth of Sam" not in robin


def test_every_page_is_no_store_with_a_neutral_title(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.user(world.agency()))
    youth_id = add_youth(client, csrf)
    screening_id = start(client, csrf, youth_id)
    save_page(client, csrf, screening_id, 1, {"rate_housing_unstable": "possible_concern"})
    pages = [
        "/",
        "/youth",
        "/youth/new",
        f"/youth/{youth_id}",
        f"/screenings/{screening_id}?page=1",
        f"/screenings/{screening_id}/review",
    ]
    _complete(client, csrf, screening_id)
    pages.append(f"/screenings/{screening_id}/result")
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
        title = response.text.split("<title>")[1].split("</title>")[0].lower()
        assert title.endswith("· tellonce") and "traffick" not in title and "exploit" not in title, title
        assert "<script" not in response.text and "style=" not in response.text, path
