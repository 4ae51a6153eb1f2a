"""The demo's evaluation cohort, end to end [issue 17, "Done when" 1 and 2].

The synthetic demo (800 invented people, their screenings through the real services, outcomes drawn
from the model in docs/evaluation.md) must show each figure with its interval and counts, nobody, small
cells suppressed, and figures whose intervals hold the sensitivity and specificity the model implies.
`today` is fixed so the draw, and so this test, is the same every day.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app import demo
from app.crypto import get_key_ring
from app.evaluation import cohort
from app.evaluation.charts import interval
from app.evaluation.stats import Estimate
from app.main import loaded_instruments
from tests.app.test_evaluation_performance import _published_counts

TODAY = date(2026, 5, 1)
BRIEF = f"{cohort.BRIEF_SCREEN}|1.4.0"  # the newest, which the demo screens with


def _estimate(figure: dict[str, Any]) -> Estimate:
    return Estimate(figure["value"], figure["low"], figure["high"], figure["numerator"], figure["denominator"])


def test_the_demo_shows_the_figures_its_model_implies(client: TestClient, session: Session) -> None:
    registry = loaded_instruments()
    assert demo.seed(session, get_key_ring(), registry)
    people = demo.seed_cohort(session, get_key_ring(), registry, cohort.DEMO_PEOPLE, TODAY)
    session.commit()
    drawn = cohort.generate(registry, cohort.Model(), people, TODAY, cohort.DEMO_SEED)
    signed = client.post(
        "/login",
        data={"email": "system.admin@riverbend.example.org", "password": demo.DEMO_PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    query = {"instrument": BRIEF, "scope": "deployment"}
    report = client.get("/reports/performance.json", params=query).json()
    page = html.unescape(client.get("/reports/performance", params=query).text)

    everyone = report["groups"][0]
    assert everyone["screenings"] == people  # one brief screen each
    implied = cohort.implied(registry, cohort.BRIEF_SCREEN, cohort.Model())
    for row in everyone["accuracy"]:
        sensitivity, specificity = implied[row["cutoff"]]
        for name, expected in (("sensitivity", sensitivity), ("specificity", specificity)):
            figure = row[name]
            assert figure["low"] <= expected <= figure["high"], (row["cutoff"], name, expected, figure)
            assert str(interval(_estimate(figure))) in page  # the figure, its interval and its counts
        counts = row["counts"]
        assert f'<td class="n">{counts["tp"]}</td><td class="n">{counts["fp"]}</td>' in page

    # No count from 1 to 10 is published, or left to subtract: each breakdown is a partition of everyone
    # shown only where every part is complete (by agency kind here; over time, half-years merged as needed).
    assert [(key, n) for key, n in _published_counts(report) if 1 <= n <= 10] == []
    kinds = [g for g in report["groups"] if g["group"] == "agency_kind"]
    assert len(kinds) == 2 and sum(g["screenings"] for g in kinds) == people
    assert len(report["rates"]) >= 3 and sum(r["total"] for r in report["rates"]) == people
    assert 'id="rates-chart"' in page
    assert report["roc"]["positives"] >= 11 and 'id="roc-chart"' in page
    assert [a["other_instrument"] for a in report["agreement"]] == [cohort.PRACTITIONER, cohort.SELF_REPORT]
    assert all(a["positive_kappa"]["value"] is not None for a in report["agreement"])  # shown out of the box

    # Nothing identifying: no invented name or case number of anyone in the cohort.
    for person in drawn[:60]:
        assert person.case_number not in page and f"{person.given_name} {person.family_name}" not in page
