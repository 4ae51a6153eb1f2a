"""The de-identified aggregate report: SQL counts, small-cell suppression, roles, page, CSV, JSON and API.

Screenings are seeded directly as rows (synthetic youth, no answers), with counts chosen to exercise
every branch of the suppression rule documented in `app.reports.aggregate`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Agency, Screening, User, Youth
from app.reports.aggregate import CATEGORIES, FIELDS, THRESHOLD, ReportRow, suppress
from app.reports.pages import csv_text
from tests.app.conftest import World, bearer, sign_in

BRIEF = "tellonce-brief-screen"
PRACT = "tellonce-practitioner-indicators"
LEVEL = {
    "clear": "clear_concern",
    "possible": "possible_concern",
    "none": "no_concern",
    "insufficient": "insufficient_information",
}
S = None  # a suppressed cell

# (agency, month, day, instrument) -> counts by category
SEED: dict[tuple[str, int, int, str], dict[str, int]] = {
    ("A", 1, 10, BRIEF): {"clear": 12, "possible": 3, "none": 30},  # possible, then clear, suppressed
    ("A", 1, 11, PRACT): {"clear": 2, "possible": 1, "none": 4},  # total 7: the whole row
    ("A", 2, 3, BRIEF): {"clear": 11, "possible": 14, "none": 20},  # nothing suppressed
    ("A", 2, 4, PRACT): {"clear": 5, "possible": 6, "none": 25, "insufficient": 2},  # three small cells
    ("A", 3, 31, BRIEF): {"possible": 4, "none": 7},  # two small cells adding up to 11; zero shown
    ("B", 1, 20, BRIEF): {"clear": 6, "none": 10},
    ("C", 1, 21, BRIEF): {"clear": 5, "possible": 2, "none": 8},
}
AGENCY_A = [
    ("2026-01", BRIEF, "youth_program", 45, S, S, 30, 0, S, S, 0.6667, 0.0),
    ("2026-01", PRACT, "youth_program", S, S, S, S, S, S, S, S, S),
    ("2026-02", BRIEF, "youth_program", 45, 11, 14, 20, 0, 0.2444, 0.3111, 0.4444, 0.0),
    ("2026-02", PRACT, "youth_program", 38, S, S, 25, S, S, S, 0.6579, S),
    ("2026-03", BRIEF, "youth_program", 11, 0, S, S, 0, 0.0, S, S, 0.0),
]
AGENCY_B = [("2026-01", BRIEF, "shelter", 16, S, 0, S, 0, S, 0.0, S, 0.0)]
SHELTERS = [("2026-01", BRIEF, "shelter", 31, S, S, 18, 0, S, S, 0.5806, 0.0)]  # B + C: 11 / 2 / 18


@dataclass
class Seeded:
    agencies: dict[str, Agency]
    users: dict[str, User]
    secrets: list[str] = field(default_factory=list)  # ids and names that must never appear in a report


def seed(world: World, session: Session) -> Seeded:
    agencies = {
        "A": world.agency("Northside Youth Services", "youth_program"),
        "B": world.agency("Harbor Shelter", "shelter"),
        "C": world.agency("Eastgate Shelter", "shelter"),
    }
    users = {
        "system_admin": world.user(agencies["A"], "system_admin"),
        "supervisor": world.user(agencies["A"], "supervisor"),
        "screener": world.user(agencies["A"], "screener"),
        "agency_admin_b": world.user(agencies["B"], "agency_admin"),
        "supervisor_c": world.user(agencies["C"], "supervisor"),
    }
    starter = {"A": users["screener"], "B": users["agency_admin_b"], "C": users["supervisor_c"]}
    youth = {}
    for key in agencies:
        youth[key] = Youth(
            given_name_enc="x",
            family_name_enc="x",
            birth_date_enc="x",
            name_index=f"name-{key}",
            birth_date_index=f"birth-{key}",
            person_id=f"person{key}" * 4,
            created_by=starter[key].id,
        )
        session.add(youth[key])
    session.commit()
    rows: list[Screening] = []

    def screening(key: str, instrument: str, at: datetime | None, level: str | None) -> Screening:
        return Screening(
            youth_id=youth[key].id,
            agency_id=agencies[key].id,
            instrument_id=instrument,
            instrument_version="1.0.0",
            content_hash="0" * 64,
            mode="practitioner",
            language="en",
            status="completed" if at else "in_progress",
            started_by=starter[key].id,
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            completed_at=at,
            overall_level=level,
        )

    for (key, month, day, instrument), counts in SEED.items():
        for category, n in counts.items():
            at = datetime(2026, month, day, 23, 59, 59, tzinfo=UTC)  # late in the UTC day: months are UTC
            rows += [screening(key, instrument, at, LEVEL[category]) for _ in range(n)]
    rows += [screening("A", BRIEF, None, None) for _ in range(3)]  # in progress: never counted
    session.add_all(rows)
    session.commit()
    secrets = [a.id for a in agencies.values()] + [a.name for a in agencies.values()]
    secrets += [u.id for u in users.values()] + [u.email for u in users.values()] + ["Test supervisor"]
    secrets += [y.id for y in youth.values()] + [y.person_id for y in youth.values()] + [s.id for s in rows]
    return Seeded(agencies, users, secrets)


def as_tuples(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(row[f] for f in FIELDS) for row in document["rows"]]


def count_cells(rows: list[dict[str, Any]]) -> list[Any]:
    return [row[f] for row in rows for f in ("total", *CATEGORIES)]


def small(value: Any) -> bool:
    return str(value).strip().isdigit() and 1 <= int(value) < THRESHOLD


# The rule, without a database.


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((12, 3, 30, 0), (45, S, S, 30, 0)),
        ((2, 1, 4, 0), (S, S, S, S, S)),
        ((11, 14, 20, 0), (45, 11, 14, 20, 0)),
        ((5, 6, 25, 2), (38, S, S, 25, S)),
        ((0, 4, 7, 0), (11, 0, S, S, 0)),
        ((1, 1, 40, 40), (82, S, S, S, 40)),  # two small cells adding up to 2: a third joins them
        ((0, 10, 0, 1), (11, 0, S, 0, S)),
        ((0, 0, 11, 0), (11, 0, 0, 11, 0)),
    ],
)
def test_suppression_examples(counts: tuple[int, ...], expected: tuple[Any, ...]) -> None:
    row = suppress("2026-01", BRIEF, "shelter", dict(zip(CATEGORIES, counts, strict=True)))
    assert (row.total, *row.counts.values()) == expected
    assert all((row.shares[c] is None) == (row.counts[c] is None) for c in CATEGORIES)


def test_no_suppressed_cell_can_be_recovered_and_no_small_cell_is_shown() -> None:
    for counts in itertools.product(range(15), repeat=4):
        if not sum(counts):
            continue
        row = suppress("2026-01", BRIEF, "shelter", dict(zip(CATEGORIES, counts, strict=True)))
        shown = [row.total, *row.counts.values()]
        assert not any(v is not None and 1 <= v < THRESHOLD for v in shown), counts
        hidden = [counts[i] for i, c in enumerate(CATEGORIES) if row.counts[c] is None]
        if row.total is None:
            assert all(v is None for v in [*row.counts.values(), *row.shares.values()])
        elif hidden:  # the total minus the shown counts gives only their sum: at least 11, over two or more
            assert len(hidden) >= 2 and sum(hidden) >= THRESHOLD and min(hidden) >= 1, counts
        for c in CATEGORIES:
            assert (row.shares[c] is None) == (row.counts[c] is None)


def test_csv_cells_are_formula_safe() -> None:
    row = ReportRow("2026-01", "=HYPERLINK(1)", "@kind", 20, dict.fromkeys(CATEGORIES, 5), dict.fromkeys(CATEGORIES))
    lines = list(csv.reader(io.StringIO(csv_text([row]))))
    assert lines[0] == list(FIELDS)
    assert lines[1][:3] == ["2026-01", "'=HYPERLINK(1)", "'@kind"]


# Through the app, on both databases.


def test_supervisor_gets_the_exact_table_of_their_agency(client: TestClient, world: World, session: Session) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["supervisor"])
    response = client.get("/reports.json")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    document = response.json()
    assert as_tuples(document) == AGENCY_A
    assert document["threshold"] == 11 and "suppressed" in document["suppression"]
    assert not any(small(v) for v in count_cells(document["rows"]))


def test_csv_and_page_show_the_same_table_and_no_small_cell(client: TestClient, world: World, session: Session) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["supervisor"])
    response = client.get("/reports.csv")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["month"] for r in records] == [r[0] for r in AGENCY_A]
    assert [r["total"] for r in records] == ["45", "suppressed", "45", "38", "11"]
    assert [r["possible"] for r in records] == ["suppressed", "suppressed", "14", "suppressed", "suppressed"]
    assert [r["share_none"] for r in records] == ["0.6667", "suppressed", "0.4444", "0.6579", "suppressed"]
    assert not any(small(v) for v in count_cells(records))

    page = client.get("/reports")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    cells = re.findall(r'<td class="n">([^<\s]+)', page.text)
    headers = re.findall(r'<th scope="col">([^<]+)</th>', page.text)[3:]
    assert headers == [
        "Screenings",
        "Clear concern",
        "Possible concern",
        "Not enough information to conclude",
        "No concern",
    ]
    assert dict(zip(headers, cells[:5], strict=True)) == {  # each count under its own heading
        "Screenings": "45",
        "Clear concern": "suppressed",
        "Possible concern": "suppressed",
        "Not enough information to conclude": "0",
        "No concern": "30",
    }
    assert len(cells) == 5 * len(AGENCY_A) and not any(small(v) for v in cells)
    bar_labels = re.findall(r'font-weight="600">([^<]+)</text>', page.text)
    assert bar_labels and all(re.fullmatch(r"\d+%|suppressed", label) for label in bar_labels)


def test_the_page_draws_accessible_svg_charts_within_the_csp(
    client: TestClient, world: World, session: Session
) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["supervisor"])
    page = client.get("/reports").text
    assert '<a href="/reports">Reports</a>' in page
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 2  # one per instrument (one agency kind): brief screen, practitioner indicators
    for svg in svgs:
        assert 'role="img"' in svg and re.search(r"<title id=\"chart-title-\d\">Results by month: ", svg)
        assert "<desc id=" in svg and "The table below gives every figure." in svg
        assert "url(#p-suppressed-" in svg and "<pattern" in svg
    assert "2026-01: all counts suppressed (fewer than 11 screenings)" in page
    assert " style=" not in page and "<style" not in page and "<script" not in page
    assert "<table" in page and "Download CSV" in page


def test_screeners_are_refused_and_only_system_admins_see_the_deployment(
    client: TestClient, world: World, session: Session
) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["screener"])
    for path in ("/reports", "/reports.csv", "/reports.json"):
        assert client.get(path).status_code == 403, path
    assert 'href="/reports"' not in client.get("/youth").text
    screener_api = bearer(client, seeded.users["screener"])
    assert client.get("/api/v1/reports/aggregate", headers=screener_api).status_code == 403
    sign_in(client, seeded.users["supervisor"])
    assert client.get("/reports.json?scope=deployment").status_code == 403
    assert 'name="scope"' not in client.get("/reports").text
    supervisor_api = bearer(client, seeded.users["supervisor"])
    assert client.get("/api/v1/reports/aggregate?scope=deployment", headers=supervisor_api).status_code == 403
    admin_b = bearer(client, seeded.users["agency_admin_b"])
    assert client.get("/api/v1/reports/aggregate?scope=deployment", headers=admin_b).status_code == 403


def test_an_agency_admin_sees_only_their_agency(client: TestClient, world: World, session: Session) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["agency_admin_b"])
    assert as_tuples(client.get("/reports.json").json()) == AGENCY_B
    headers = bearer(client, seeded.users["agency_admin_b"])
    assert as_tuples(client.get("/api/v1/reports/aggregate", headers=headers).json()) == AGENCY_B


def test_the_system_admins_deployment_view_sums_the_agencies(
    client: TestClient, world: World, session: Session
) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["system_admin"])
    assert as_tuples(client.get("/reports.json").json()) == AGENCY_A  # their own agency by default
    deployment = client.get("/reports.json?scope=deployment").json()
    assert as_tuples(deployment) == SHELTERS + AGENCY_A  # shelter sorts before youth_program
    assert deployment["filter"]["scope"] == "deployment"
    page = client.get("/reports?scope=deployment").text
    assert '<option value="deployment" selected>' in page and "Shelter" in page
    headers = bearer(client, seeded.users["system_admin"])
    api = client.get("/api/v1/reports/aggregate", params={"scope": "deployment"}, headers=headers)
    assert api.status_code == 200 and as_tuples(api.json()) == as_tuples(deployment)


def test_filters_take_whole_months_and_an_instrument(client: TestClient, world: World, session: Session) -> None:
    seeded = seed(world, session)
    headers = bearer(client, seeded.users["supervisor"])

    def rows(**params: str) -> list[tuple[Any, ...]]:
        response = client.get("/api/v1/reports/aggregate", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return as_tuples(response.json())

    assert rows(date_from="2026-02") == AGENCY_A[2:]
    assert rows(date_to="2026-02") == AGENCY_A[:4]
    assert rows(date_from="2026-02-15", date_to="2026-02-15") == AGENCY_A[2:4]  # a day stands for its month
    assert rows(date_from="2026-03", date_to="2026-03") == AGENCY_A[4:]  # 31 March 23:59:59 UTC is March
    assert rows(instrument_id=PRACT) == [AGENCY_A[1], AGENCY_A[3]]
    assert rows(date_from="2027-01") == []
    bad = client.get(
        "/api/v1/reports/aggregate", params={"date_from": "March", "instrument_id": "nope"}, headers=headers
    )
    assert bad.status_code == 400 and set(bad.json()["detail"]) == {"date_from", "instrument_id"}
    backwards = client.get(
        "/api/v1/reports/aggregate", params={"date_from": "2026-03", "date_to": "2026-01"}, headers=headers
    )
    assert backwards.status_code == 400
    sign_in(client, seeded.users["supervisor"])
    page = client.get("/reports?date_from=2026-13")
    assert page.status_code == 400 and "Enter a month, for example 2026-01." in page.text
    assert client.get("/reports.csv?date_from=2026-13").status_code == 400
    filtered = client.get(f"/reports?instrument_id={PRACT}&date_from=2026-02").text
    assert f'href="/reports.csv?scope=agency&amp;date_from=2026-02&amp;instrument_id={PRACT}"' in filtered


def test_reports_carry_no_ids_or_names(client: TestClient, world: World, session: Session) -> None:
    seeded = seed(world, session)
    sign_in(client, seeded.users["system_admin"])
    headers = bearer(client, seeded.users["system_admin"])
    outputs = [
        client.get(f"/reports.{fmt}", params={"scope": scope}).text
        for fmt in ("csv", "json")
        for scope in ("agency", "deployment")
    ]
    outputs.append(client.get("/api/v1/reports/aggregate", params={"scope": "deployment"}, headers=headers).text)
    for output in outputs:
        leaked = [secret for secret in seeded.secrets if secret.lower() in output.lower()]
        assert leaked == []
    chart_and_table = client.get("/reports?scope=deployment").text.split('<main id="main"', 1)[1]
    assert [s for s in seeded.secrets if s in chart_and_table] == []
