"""Instrument performance on small fixed tables, worked by hand [issue 17, "Done when" 1 and 2].

The cohort is written straight into the tables the report reads (stored levels, totals, outcomes):
what is tested here is the reference standard, the counting, the suppression and what each surface
shows; the statistics themselves are checked in test_evaluation_stats.py and scoring elsewhere.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import random
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import cli
from app.evaluation import performance
from app.evaluation.performance import UNKNOWN, WITH, WITHOUT, PerformanceFilter, _Row, condition
from app.main import loaded_instruments
from app.models import Agency, Screening, User, Youth, new_id
from app.models_evaluation import Outcome
from app.reports.aggregate import Scope
from tests.app.conftest import World, bearer, sign_in
from tests.app.performance_support import cells_by_row, pairs_by_row, random_cohort

BRIEF, VERSION = "tellonce-brief-screen", "1.3.0"
SCREENED = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LEARNED = date(2026, 9, 1)
# level: (total score, people with the condition, people without), for agency A (a youth program).
TABLE = {
    "clear_concern": (3, 30, 12),
    "possible_concern": (1, 15, 20),
    "no_concern": (0, 11, 100),
}
INSUFFICIENT_PEOPLE = (5, 9)  # with and without: never counted as negatives
LOST = 13  # possible concern, lost to follow-up: outcome unknown


def _youth(db: Session, person: str, user: User) -> Youth:
    """A record of a person (the report never reads its encrypted identifiers)."""
    youth = Youth(
        given_name_enc="-",
        family_name_enc="-",
        birth_date_enc="-",
        name_index=new_id(),
        birth_date_index=new_id(),
        person_id=person,
        created_by=user.id,
    )
    db.add(youth)
    db.flush()
    return youth


def _person(
    db: Session,
    agency: Agency,
    user: User,
    level: str | None,
    total: float | None,
    outcome: str | None,
    months: int | None = 12,
    when: datetime = SCREENED,
    also: tuple[str, str, int] | None = None,
) -> str:
    """A person screened with the brief screen (and, with `also`, another instrument at a level, days later)."""
    person = new_id()
    youth = _youth(db, person, user)
    db.add(
        Screening(
            youth_id=youth.id,
            agency_id=agency.id,
            instrument_id=BRIEF,
            instrument_version=VERSION,
            content_hash="-",
            mode="self",
            language="en",
            status="completed",
            started_by=user.id,
            started_at=when,
            completed_at=when,
            overall_level=level,
            total_score=total,
        )
    )
    if also is not None:
        other, other_level, days = also
        later = when + timedelta(days=days)
        db.add(
            Screening(
                youth_id=youth.id,
                agency_id=agency.id,
                instrument_id=other,
                instrument_version="1.3.0",
                content_hash="-",
                mode="practitioner",
                language="en",
                status="completed",
                started_by=user.id,
                started_at=later,
                completed_at=later,
                overall_level=other_level,
            )
        )
    if outcome is not None:
        db.add(
            Outcome(
                youth_id=youth.id,
                agency_id=agency.id,
                kind=outcome,
                source="later_assessment",
                learned_on=LEARNED,
                follow_up_months=months if outcome == "not_indicated" else None,
                recorded_by=user.id,
            )
        )
    return person


def _cohort(world: World) -> tuple[Agency, dict[str, User]]:
    agency = world.agency("Northside Youth Services", "youth_program")
    users = {role: world.user(agency, role) for role in ("screener", "supervisor")}
    db = world.session
    for level, (total, with_, without) in TABLE.items():
        for _ in range(with_):
            _person(db, agency, users["screener"], level, total, "confirmed")
        for _ in range(without):
            _person(db, agency, users["screener"], level, total, "not_indicated")
    for outcome, count in zip(("confirmed", "not_indicated"), INSUFFICIENT_PEOPLE, strict=True):
        for _ in range(count):
            _person(db, agency, users["screener"], "insufficient_information", 0, outcome)
    for _ in range(LOST):
        _person(db, agency, users["screener"], "possible_concern", 1, "lost_to_follow_up")
    db.commit()
    return agency, users


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval, from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _report(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(
        "/api/v1/reports/performance", headers=headers, params={"instrument": f"{BRIEF}|{VERSION}"} | params
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_each_cut_off_matches_the_table_worked_by_hand(client: TestClient, world: World) -> None:
    _agency, users = _cohort(world)
    report = _report(client, bearer(client, users["supervisor"]))
    everyone = report["groups"][0]
    assert (everyone["group"], everyone["screenings"]) == ("all", 56 + 132 + 14 + LOST)
    # 14 of 215 results had too little information; they are in no 2x2 table below.
    share = everyone["insufficient_share"]
    assert (share["numerator"], share["denominator"]) == (14, 215)
    assert everyone["outcomes"] == {"with_condition": 56, "without_condition": 132, "outcome_unknown": LOST}
    clear, possible = everyone["accuracy"]
    # Cut-off "clear": positive = clear. TP 30, FN 15 + 11, FP 12, TN 20 + 100.
    assert (clear["cutoff"], clear["counts"]) == ("clear_concern", {"tp": 30, "fp": 12, "fn": 26, "tn": 120})
    # Cut-off "possible": positive = clear or possible. TP 45, FN 11, FP 32, TN 100.
    assert possible["counts"] == {"tp": 45, "fp": 32, "fn": 11, "tn": 100}
    expected = [
        (clear, "sensitivity", 30, 56),
        (clear, "specificity", 120, 132),
        (clear, "ppv", 30, 42),
        (clear, "npv", 120, 146),
        (possible, "sensitivity", 45, 56),
        (possible, "specificity", 100, 132),
        (possible, "ppv", 45, 77),
        (possible, "npv", 100, 111),
    ]
    for row, measure, k, n in expected:
        figure = row[measure]
        low, high = _wilson(k, n)
        assert (figure["numerator"], figure["denominator"]) == (k, n), measure
        assert math.isclose(figure["value"], k / n) and math.isclose(figure["low"], low, abs_tol=1e-9), measure
        assert math.isclose(figure["high"], high, abs_tol=1e-9), measure


def test_the_roc_curve_and_auc_worked_by_hand(client: TestClient, world: World) -> None:
    _agency, users = _cohort(world)
    roc = _report(client, bearer(client, users["supervisor"]))["roc"]
    # Scores: with the condition 30x3, 15x1, 11x0; without 12x3, 20x1, 100x0 (insufficient and unknown left out).
    # Pairs ranked right: 30*(20+100) + 15*100 = 5100; ties count half: (30*12 + 15*20 + 11*100) / 2 = 880.
    assert math.isclose(roc["auc"], (5100 + 880) / (56 * 132))
    assert (roc["positives"], roc["negatives"]) == (56, 132)
    steps = [(p["threshold"], p["tp"], p["fp"]) for p in roc["points"]]
    assert steps == [(None, 0, 0), (3, 30, 12), (1, 45, 32), (0, 56, 132)]
    assert roc["low"] < roc["auc"] < roc["high"]


def test_the_reference_standard() -> None:
    """Confirmed wins; "no indication" needs the follow-up; anything learned before the screening is no follow-up."""
    row = _Row("no_concern", 0, date(2026, 3, 10), "youth_program", "p")
    after, before = date(2026, 9, 1), date(2026, 3, 9)
    assert condition(row, [("not_indicated", after, 12), ("confirmed", after, 0)], 6) == WITH
    assert condition(row, [("not_indicated", after, 12)], 6) == WITHOUT
    assert condition(row, [("not_indicated", after, 3)], 6) == UNKNOWN  # followed too briefly
    assert condition(row, [("confirmed", before, 0)], 6) == UNKNOWN  # already known: the screening found nothing new
    assert condition(row, [("lost_to_follow_up", after, 0)], 6) == UNKNOWN
    assert condition(row, [], 6) == UNKNOWN


def test_withdrawn_and_other_agencies_outcomes_do_not_count_for_an_agency(client: TestClient, world: World) -> None:
    agency, users = _cohort(world)
    db = world.session
    other = world.agency("Harbor County Probation", "probation")
    other_user = world.user(other, "screener")
    # Youth of A with no outcome of A's: B's confirmed outcomes about them count only for the deployment.
    for _ in range(11):
        person = _person(db, agency, users["screener"], "no_concern", 0, None)
        youth_b = _youth(db, person, other_user)
        db.add(
            Outcome(
                youth_id=youth_b.id,
                agency_id=other.id,
                kind="confirmed",
                source="investigation",
                learned_on=LEARNED,
                recorded_by=other_user.id,
            )
        )
    withdrawn = [_person(db, agency, users["screener"], "no_concern", 0, "confirmed") for _ in range(11)]
    mine = (
        select(Outcome).join(Youth, col(Youth.id) == col(Outcome.youth_id)).where(col(Youth.person_id).in_(withdrawn))
    )
    for outcome in db.exec(mine):
        outcome.withdrawn_at = datetime.now(UTC)
    db.commit()
    everyone = _report(client, bearer(client, users["supervisor"]))["groups"][0]
    assert everyone["outcomes"]["outcome_unknown"] == LOST + 22
    assert everyone["accuracy"][1]["counts"]["fn"] == 11


def _published_counts(value: Any, key: str = "") -> list[tuple[str, int]]:
    """Every count a report's JSON publishes (shares, figures and bounds are fractions; thresholds are scores)."""
    if isinstance(value, dict):
        return [
            found for k, v in value.items() if k not in ("filter", "threshold") for found in _published_counts(v, k)
        ]
    if isinstance(value, list):
        return [found for v in value for found in _published_counts(v, key)]
    return [(key, value)] if isinstance(value, int) and not isinstance(value, bool) else []


def test_no_count_from_1_to_10_is_published_or_left_to_subtract(client: TestClient, world: World) -> None:
    """Probation adds 4 confirmed people with a clear result. Its own group would hold that small cell, and
    beside everyone's and the youth program's figures any of its counts would give the 4 back by subtraction
    (as would a year beside everyone): so the breakdown by agency kind is not shown at all, and time is merged
    into periods with no small count."""
    _cohort(world)
    db = world.session
    other = world.agency("Harbor County Probation", "probation")
    staff = world.user(other, "screener")
    for _ in range(4):
        _person(db, other, staff, "clear_concern", 3, "confirmed", when=SCREENED - timedelta(days=400))
    for _ in range(30):
        _person(db, other, staff, "no_concern", 0, "not_indicated", when=SCREENED - timedelta(days=400))
    db.commit()
    admin = world.user(world.agency("Deployment", "other"), "system_admin")
    report = _report(client, bearer(client, admin), scope="deployment")
    assert [g["group"] for g in report["groups"]] == ["all"]  # neither kinds nor years: each would hold the 4
    assert report["groups"][0]["accuracy"][0]["counts"]["tp"] == 34  # 4 is no small cell inside 34
    assert report["notes"][0].startswith("Not shown by agency kind")
    assert [r["period"] for r in report["rates"]] == ["2025-H1 to 2026-H1"]  # 2025-H1 alone has 4 clear results
    small = [(key, n) for key, n in _published_counts(report) if 1 <= n <= 10]
    assert small == []

    # Six more confirmed clear results at probation make its group complete: then both kinds are shown, and
    # everyone's figures are the sum of theirs.
    for _ in range(7):
        _person(db, other, staff, "clear_concern", 3, "confirmed", when=SCREENED - timedelta(days=400))
    for level in ("possible_concern", "no_concern"):
        for _ in range(11):
            _person(db, other, staff, level, 0, "confirmed", when=SCREENED - timedelta(days=400))
    db.commit()
    report = _report(client, bearer(client, admin), scope="deployment")
    kinds = [g for g in report["groups"] if g["group"] == "agency_kind"]
    assert [g["value"] for g in kinds] == ["probation", "youth_program"]
    everyone = report["groups"][0]
    for cut in (0, 1):
        for cell in ("tp", "fp", "fn", "tn"):
            assert sum(g["accuracy"][cut]["counts"][cell] for g in kinds) == everyone["accuracy"][cut]["counts"][cell]
    assert [(key, n) for key, n in _published_counts(report) if 1 <= n <= 10] == []


def test_the_page_shows_each_figure_with_its_interval_and_counts_and_nobody(client: TestClient, world: World) -> None:
    _agency, users = _cohort(world)
    sign_in(client, users["screener"])
    assert client.get("/reports/performance").status_code == 403
    sign_in(client, users["supervisor"])
    page = client.get("/reports/performance")  # the default: the most screened version
    assert page.status_code == 200, page.text
    text = page.text
    low, high = _wilson(30, 56)
    assert f"53.6% ({low * 100:.1f}%–{high * 100:.1f}%), 30/56" in text  # sensitivity at the clear cut-off
    assert "AUC 0.809" in text and 'id="roc-chart"' in text and 'id="accuracy-chart"' in text
    assert text.count('role="img"') == 3 and "<desc" in text
    for hidden in [users["screener"].id, users["screener"].display_name]:
        assert hidden not in text
    with Session(world.session.get_bind()) as fresh:
        ids = [i for y in fresh.exec(select(Youth)) for i in (y.id, y.person_id)]
    assert not [i for i in ids if i in text]

    exported = client.get("/reports/performance.csv")
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    sensitivity = next(r for r in rows if r["measure"] == "sensitivity" and r["cutoff"] == "clear_concern")
    assert (sensitivity["numerator"], sensitivity["denominator"]) == ("30", "56")
    bad = client.get("/reports/performance", params={"window_days": "0", "reference_clear": "140"})
    assert bad.status_code == 400 and "Enter a whole number from 1 to 365" in bad.text


def test_the_evaluate_command_writes_the_same_figures(client: TestClient, world: World, tmp_path: Path) -> None:
    _agency, users = _cohort(world)
    runner = CliRunner()
    chosen = ["--instrument", f"{BRIEF}|{VERSION}", "--from", "2026-03", "--to", "2026-03"]
    out = tmp_path / "performance.json"
    done = runner.invoke(
        cli, ["evaluate", "--as", users["supervisor"].email, *chosen, "--format", "json", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    written = json.loads(out.read_text(encoding="utf-8"))
    params = {"date_from": "2026-03", "date_to": "2026-03"}
    assert written["groups"] == _report(client, bearer(client, users["supervisor"]), **params)["groups"]

    summary = runner.invoke(cli, ["evaluate", "--as", users["supervisor"].email, *chosen])
    assert summary.exit_code == 0, summary.output
    low, high = _wilson(30, 56)
    assert f"sensitivity  53.6% ({low * 100:.1f}%–{high * 100:.1f}%), 30/56" in summary.output
    assert "AUC 0.809" in summary.output

    refused = runner.invoke(cli, ["evaluate", "--as", users["screener"].email])
    assert refused.exit_code == 1 and "Your role does not allow this." in refused.output
    bad = runner.invoke(cli, ["evaluate", "--as", users["supervisor"].email, "--from", "March"])
    assert bad.exit_code == 2 and "--date-from: Enter a month" in bad.output


def test_agreement_with_another_instrument_worked_by_hand(client: TestClient, world: World) -> None:
    agency = world.agency("Northside Youth Services", "youth_program")
    users = {role: world.user(agency, role) for role in ("screener", "supervisor")}
    rating = "tellonce-practitioner-indicators"
    # brief screen's level, the staff rating's level (10 days later): how many people
    pairs = {
        ("clear_concern", "clear_concern"): 12,
        ("possible_concern", "possible_concern"): 15,
        ("no_concern", "no_concern"): 20,
        ("possible_concern", "clear_concern"): 11,
    }
    for (mine, theirs), count in pairs.items():
        for _ in range(count):
            _person(world.session, agency, users["screener"], mine, 0, None, also=(rating, theirs, 10))
    for level in ("clear_concern", "possible_concern", "no_concern"):  # 11 of each level with no rating at all
        for _ in range(11):
            _person(world.session, agency, users["screener"], level, 0, None)
    _person(world.session, agency, users["screener"], "clear_concern", 0, None, also=(rating, "no_concern", 45))
    _person(
        world.session, agency, users["screener"], "no_concern", 0, None, also=(rating, "insufficient_information", 2)
    )
    world.session.commit()
    headers = bearer(client, users["supervisor"])
    (item,) = _report(client, headers)["agreement"]
    assert (item["other_instrument"], item["pairs"]) == (rating, 58)  # 45 days apart is outside the 30-day window
    assert item["table"]["possible_concern"] == {"clear_concern": 11, "possible_concern": 15, "no_concern": 0}
    # p_o = 47/58; rows 12, 26, 20 and columns 23, 15, 20 give p_e = (12*23 + 26*15 + 20*20) / 58^2.
    p_o, p_e = 47 / 58, (12 * 23 + 26 * 15 + 20 * 20) / 58**2
    assert math.isclose(item["kappa"]["value"], (p_o - p_e) / (1 - p_e))
    assert item["positive_table"] == {
        "positive": {"positive": 38, "negative": 0},
        "negative": {"positive": 0, "negative": 20},
    }
    assert item["positive_kappa"]["value"] == 1.0

    # One more pair in an empty cell: that cell is 1, so the three-level table and its kappa are suppressed
    # whole, while the screen-positive table (all its cells 0 or over 10) stays.
    _person(world.session, agency, users["screener"], "clear_concern", 0, None, also=(rating, "possible_concern", 3))
    world.session.commit()
    (item,) = _report(client, headers)["agreement"]
    assert (item["table"], item["kappa"]) == (None, None)
    assert item["positive_table"]["positive"]["positive"] == 39
    wider = _report(client, headers, window_days="60")["agreement"][0]
    assert wider["pairs"] == 60 and wider["positive_table"] is None  # the 45-day pair: clear vs no concern, 1


def test_the_pages_downloads_ask_for_the_same_report(client: TestClient, world: World) -> None:
    """The CSV and JSON links carry the filter as typed: a 30% reference stays 30%, not 0.3%."""
    _agency, users = _cohort(world)
    sign_in(client, users["supervisor"])
    page = client.get("/reports/performance", params={"reference_clear": "30", "window_days": "14"})
    assert page.status_code == 200
    (link,) = re.findall(r'href="(/reports/performance\.json\?[^"]+)"', page.text)
    report = client.get(html.unescape(link)).json()
    assert (report["filter"]["reference_clear"], report["filter"]["window_days"]) == (30, 14)
    (link,) = re.findall(r'href="(/reports/performance\.csv\?[^"]+)"', page.text)
    rows = list(csv.DictReader(io.StringIO(client.get(html.unescape(link)).content.decode("utf-8-sig"))))
    assert {r["value"] for r in rows if r["measure"] == "reference_clear"} == {"0.3"}


def test_filters_out_of_range_are_located_errors(client: TestClient, world: World, tmp_path: Path) -> None:
    _agency, users = _cohort(world)
    headers = bearer(client, users["supervisor"])
    bad = {
        "window_days": "\u00b2",  # a superscript two: a digit to str.isdigit, not to int()
        "min_follow_up_months": "\u0663",  # an Arabic-Indic three
        "reference_clear": "1_0",
        "reference_possible": "-0",
        "date_to": "9999-12",  # a month with no month after it
    }
    for name, value in bad.items():
        response = client.get("/api/v1/reports/performance", headers=headers, params={name: value})
        assert response.status_code == 400, (name, response.text)
        assert name in response.json()["detail"], (name, response.json())
    aggregate = client.get("/api/v1/reports/aggregate", headers=headers, params={"date_to": "9999-12"})
    assert aggregate.status_code == 400 and "date_to" in aggregate.json()["detail"]
    unwritable = tmp_path / "no such folder" / "report.csv"
    result = CliRunner().invoke(cli, ["evaluate", "--as", users["supervisor"].email, "--out", str(unwritable)])
    assert result.exit_code == 1 and "Cannot write" in result.output and "Traceback" not in result.output


def test_the_report_speaks_spanish_with_spanish_numbers(client: TestClient, world: World) -> None:
    _agency, users = _cohort(world)
    csrf = sign_in(client, users["supervisor"])
    client.post("/account/language", data={"csrf_token": csrf, "language": "es", "next": "/"})
    text = html.unescape(client.get("/reports/performance").text)
    assert "Todas las personas evaluadas" in text and "Everyone screened" not in text
    assert "53,6%" in text and "30/56" in text  # sensitivity at the clear cut-off, as Spanish writes it
    assert "AUC 0,809" in text
    descriptions = " ".join(re.findall(r"<desc[^>]*>(.*?)</desc>", text, re.S))
    assert ("Sensibilidad" in descriptions and "umbral" in descriptions.lower()) or "puntuación" in descriptions
    assert "Sensitivity" not in descriptions and "score at least" not in descriptions
    assert "Clear concern" not in descriptions and "Preocupación clara o un nivel más preocupante" in descriptions
    assert "Exactitud: Revisión breve 1.3.0" in text and "Brief check-in" not in text


def test_the_roc_curve_never_isolates_a_few_people_or_outlives_a_thin_group(client: TestClient, world: World) -> None:
    """Five confirmed people have a clear result with a total of 2 (the others with clear results have 3): a point
    at 3 would set those five apart from the clear cut-off's table, so the curve shows 2, 1 and the ends. Then
    five people with no concern and no outcome make a thin atom: the group's figures are withheld, and so is the
    curve (its positives and a point equal to a cut-off table would give the atoms back beside the rates)."""
    _agency, users = _cohort(world)
    db, screener = world.session, users["screener"]
    agency = db.get(Agency, screener.agency_id)
    assert agency is not None
    for _ in range(5):
        _person(db, agency, screener, "clear_concern", 2, "confirmed")
    db.commit()
    headers = bearer(client, users["supervisor"])
    roc = _report(client, headers)["roc"]
    assert [(p["threshold"], p["tp"], p["fp"]) for p in roc["points"]] == [
        (None, 0, 0),
        (2, 35, 12),
        (1, 50, 32),
        (0, 61, 132),
    ]
    for _ in range(5):
        _person(db, agency, screener, "no_concern", 0, None)
    db.commit()
    report = _report(client, headers)
    assert (report["roc"], report["groups"][0]["accuracy"]) == (None, None)
    assert report["roc_note"].startswith("Suppressed")
    assert [(key, n) for key, n in _published_counts(report) if 1 <= n <= 10] == []


@pytest.mark.parametrize("seed", [1, 2])
def test_counting_in_the_database_gives_what_classifying_each_screening_gives(world: World, seed: int) -> None:
    """The report classifies and counts in the database (`_cells`, `_pairs`) and computes its figures from the
    counts: on a random cohort full of edge cases (see `random_cohort`), for agency and deployment scope, month
    ranges, follow-ups and windows, the counts are those of each screening classified and paired on its own, and
    the report is the one computed with one count per screening."""
    db = world.session
    agencies = [
        world.agency("Northside Youth Services", "youth_program"),
        world.agency("Harbor County Probation", "probation"),
        world.agency("Eastside Youth Center", "youth_program"),
    ]
    random_cohort(db, agencies, [world.user(agency) for agency in agencies], random.Random(seed), 500)  # noqa: S311 (synthetic data)
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14: a day is still the UTC day
    registry = loaded_instruments()
    reports = [
        (PerformanceFilter(BRIEF, VERSION), agencies[0].id),
        (PerformanceFilter(BRIEF, VERSION, Scope.deployment), None),
        (PerformanceFilter(BRIEF, VERSION, Scope.deployment, min_follow_up_months=0, window_days=0), None),
        (
            PerformanceFilter(
                BRIEF, VERSION, Scope.deployment, date(2025, 3, 1), date(2026, 2, 1), 3, min_follow_up_months=12
            ),
            None,
        ),
        (PerformanceFilter(BRIEF, VERSION, window_days=12), agencies[1].id),
    ]
    shown = Counter[str]()
    for report, agency_id in reports:
        counted = {
            (c.level, c.total, c.kind, c.period, c.condition): c.count
            for c in performance._cells(db, report, agency_id)
        }
        by_row = {
            (c.level, c.total, c.kind, c.period, c.condition): c.count for c in cells_by_row(db, report, agency_id)
        }
        assert counted == by_row, report
        pairs = pairs_by_row(db, report, agency_id)
        assert performance._pairs(db, report, agency_id) == pairs, report
        one_by_one = cells_by_row(db, report, agency_id, one_per_screening=True)
        expected = performance.figures(report, True, one_by_one, pairs)
        got = performance.measure(db, registry, report, agency_id)
        assert got == expected, report
        shown.update(g.dimension for g in got.groups if g.accuracy is not None)
        shown.update(["roc"] if got.roc else [])
        shown.update("agreement" for a in got.agreement if a.kappa or a.positive_kappa)
    assert shown["all"] and shown["period"] and shown["agreement"], shown  # figures were compared, not only blanks


def test_the_auc_from_counts_is_the_mann_whitney_probability() -> None:
    """The ROC curve is computed from how many people have each score (`stats.roc_counts`): its AUC is exactly
    scipy's Mann–Whitney U over the people listed one by one, ties counting half, divided by the pairs."""
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

    from app.evaluation import stats

    rng = random.Random(5)  # noqa: S311 (synthetic data, not security)
    for _ in range(200):
        positives = [float(rng.randint(0, 4)) for _ in range(rng.randint(1, 80))]
        negatives = [float(rng.randint(0, 4)) for _ in range(rng.randint(1, 80))]
        u = float(mannwhitneyu(positives, negatives, alternative="two-sided", method="asymptotic").statistic)
        curve = stats.roc(positives, negatives)
        assert curve is not None and curve.auc == u / (len(positives) * len(negatives))
        assert curve.points[-1].tp == len(positives) and curve.points[-1].fp == len(negatives)
