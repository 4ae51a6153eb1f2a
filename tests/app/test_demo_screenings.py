"""The demo's two years of check-ins [issue 16, "Demo data large enough ... nothing suppressed at the deployment
level, while small cells elsewhere still are"].

A newcomer runs `tellonce demo` (as `tellonce serve --demo` does) on an empty database, signs in as the demo's
system admin and chooses the whole deployment: every chart of Riverbend's and Harbor's check-ins shows every
share, none hatched; a small group (a dozen people screened at two other programs) is still suppressed. Seeding
a few hundred screenings takes seconds, so it is done once here, in one test, and every other test's demo
leaves the check-ins out (TELLONCE_DEMO_CHECKINS=0 in tests/app/conftest.py).
"""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app import demo
from app.cli import cli
from app.crypto import get_key_ring
from app.evaluation.cohort import FAMILY_NAMES, GIVEN_NAMES
from app.main import loaded_instruments
from app.models import Screening, User
from app.records import service as records
from tests.app.ops_support import Env, env  # noqa: F401 (the `env` fixture)

WAVE_KINDS = ("youth_program", "probation")  # Riverbend and Harbor
SMALL_KINDS = ("shelter", "child_welfare")  # Cedar Hill and Lakeview: the evaluation cohort, here a dozen people


def _sign_in(client: TestClient, email: str) -> None:
    signed = client.post(
        "/login", data={"email": email, "password": demo.DEMO_PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert signed.status_code == 303


def _screenings(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Screening)).one()


def _months_apart(first: str, last: str) -> int:
    return (int(last[:4]) * 12 + int(last[5:7])) - (int(first[:4]) * 12 + int(first[5:7]))


def _charts(page: str) -> dict[str, int]:
    """Each chart's title and how many of its bars have a hatched (suppressed) part."""
    found = {}
    for figure in page.split('<figure class="chart">')[1:]:
        figure = figure.split("</figure>")[0]
        title = figure.split("<strong>")[1].split("</strong>")[0]
        legend = figure.rsplit("<g transform=", 1)[0]  # the legend's swatch shows the hatching once per chart
        found[title] = legend.count('fill="url(#p-suppressed-')
    return found


def test_a_fresh_demo_shows_charts_with_nothing_suppressed_and_a_rerun_adds_nothing(
    client: TestClient,
    session: Session,
    env: Env,  # noqa: F811 (the fixture imported above)
) -> None:
    env(TELLONCE_DEMO_CHECKINS="1", TELLONCE_DEMO_COHORT_PEOPLE="12")
    first = CliRunner().invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "Adding two years of synthetic check-ins at Riverbend and Harbor" in first.output
    stored = _screenings(session)
    assert 300 <= stored <= 900  # a few hundred
    added = int(first.output.split(" check-ins added.")[0].rsplit(maxsplit=1)[-1])
    assert f"{added} of {added}" in first.output and added >= 300

    _sign_in(client, "system.admin@riverbend.example.org")
    rows = client.get("/reports.json", params={"scope": "deployment"}).json()["rows"]
    waves = [r for r in rows if r["agency_kind"] in WAVE_KINDS]
    assert len(waves) >= 10  # two programs, a wave every six months over two years
    assert [r for r in waves if r["suppressed"]] == []
    months = sorted(r["month"] for r in waves)
    assert _months_apart(months[0], months[-1]) >= 23
    small = [r for r in rows if r["agency_kind"] in SMALL_KINDS]
    assert small and all(r["suppressed"] for r in small)  # a few people a month at one program stay hidden

    # What the page shows for the Check-in: a chart per program kind; Riverbend's and Harbor's have no hatched bar.
    page = client.get("/reports", params={"scope": "deployment", "instrument_id": demo.SELF_REPORT}).text
    charts = _charts(page)
    assert {"Results by month: Check-in, Youth program", "Results by month: Check-in, Probation"} <= set(charts)
    for title, hatched in charts.items():
        if title.endswith(("Youth program", "Probation")):
            assert hatched == 0, title
    assert [t for t, hatched in charts.items() if hatched] != []  # a smaller program's chart still is

    # Realistic shares over all of it: most no concern, some possible, fewer clear, some not enough information.
    totals = Counter({c: sum(r[c] for r in waves) for c in ("none", "possible", "clear", "insufficient")})
    everyone = sum(totals.values())
    assert 0.4 <= totals["none"] / everyone <= 0.65
    assert totals["clear"] < totals["possible"] < totals["none"]
    assert 0.03 <= totals["insufficient"] / everyone <= 0.2

    # Everyone is invented: every youth at the two programs has a name from the demo's lists.
    invented = {(g, f) for g in GIVEN_NAMES for f in FAMILY_NAMES} | {(g, f) for g, f, *_ in demo.YOUTH}
    invented.add(("Avery", "Lindquist"))  # Harbor's spelling of Avery
    keys = get_key_ring()
    for slug in ("riverbend", "harbor"):
        screener = session.exec(select(User).where(User.email == f"screener@{slug}.example.org")).one()
        listed = records.list_for(session, keys, screener, size=1000).items
        assert len(listed) >= 100
        assert [(y.given_name, y.family_name) for y in listed if (y.given_name, y.family_name) not in invented] == []
    riverbend = session.exec(select(User).where(User.email == "screener@riverbend.example.org")).one()
    newest = records.list_for(session, keys, riverbend, size=3).items
    assert {y.case_number for y in newest} == {"RB-1001", "RB-1002", "RB-1003"}  # the story's youth stay first

    # Running it again adds nothing.
    again = CliRunner().invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert "already there" in again.output and "check-ins" not in again.output
    assert demo.seed_screenings(session, keys, loaded_instruments()) == 0
    assert _screenings(session) == stored
