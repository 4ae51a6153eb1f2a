"""The demo's two years of check-ins [issue 16, "Demo data large enough ... nothing suppressed at the deployment
level, while small cells elsewhere still are"].

A newcomer runs `tellonce demo` (as `tellonce serve --demo` does) on an empty database, signs in as the demo's
system admin and chooses the whole deployment: every chart of Riverbend's and Harbor's check-ins shows every
share, none hatched; a small group (a dozen people screened at two other programs) is still suppressed. Seeding
a few hundred screenings takes seconds, so it is done once here, in one test, and every other test's demo
leaves the check-ins out (TELLONCE_DEMO_CHECKINS=0 in tests/app/conftest.py).

The same seeding then checks what an outside tester following the README noticed: each round's shares differ,
and Harbor's probation intakes show more concern than Riverbend's youth program; this month's round holds every
level at least THRESHOLD times at each program, so a newcomer's own two check-ins leave nothing suppressed; only
this month's round leaves follow-ups due (in the future), and Avery's screenings open the Riverbend dashboards;
and the README's walk-through (steps 3, 5 and 6) names logins, buttons and headings the pages show.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app import demo
from app.cli import cli
from app.crypto import get_key_ring
from app.evaluation.cohort import FAMILY_NAMES, GIVEN_NAMES
from app.main import loaded_instruments
from app.models import Screening, ScreeningStatus, User
from app.records import service as records
from app.reports.aggregate import CATEGORIES, THRESHOLD
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from tests.app.ops_support import Env, env  # noqa: F401 (the `env` fixture)

WAVE_KINDS = ("youth_program", "probation")  # Riverbend and Harbor
SMALL_KINDS = ("shelter", "child_welfare")  # Cedar Hill and Lakeview: the evaluation cohort, here a dozen people
README = Path(__file__).resolve().parents[2] / "README.md"


def _sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
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

    _check_rounds(rows)
    _check_follow_ups_and_dashboards(client, session)
    _check_readme_reports(client)

    # Running it again adds nothing.
    again = CliRunner().invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert "already there" in again.output and "check-ins" not in again.output
    assert demo.seed_screenings(session, keys, loaded_instruments()) == 0
    assert _screenings(session) == stored

    _check_a_newcomers_check_ins(client, session)
    _check_readme_revoking(client, session)


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _check_rounds(rows: list[dict]) -> None:
    """Each round's shares differ, by program and by round; this month's holds every level at least THRESHOLD
    times at each program; Avery's rating this month has a mix of its own, not one level topped up."""
    check_ins = [r for r in rows if r["instrument"] == demo.SELF_REPORT]
    concern = {}
    for kind in WAVE_KINDS:
        rounds = sorted((r for r in check_ins if r["agency_kind"] == kind), key=lambda r: r["month"])
        assert len(rounds) == 5, kind  # every six months over two years, this month the newest
        assert len({tuple(r[c] for c in CATEGORIES) for r in rounds}) == len(rounds), kind  # no two alike
        for category in CATEGORIES:  # no level the same in every round (not "exactly 11 clear concern" each time)
            assert len({r[category] for r in rounds}) >= 2, (kind, category)
            assert all(r[category] == 0 or r[category] >= THRESHOLD for r in rounds), (kind, category)
        newest = rounds[-1]
        assert newest["month"] == _this_month()
        assert all(newest[c] >= THRESHOLD for c in CATEGORIES), newest
        counted = Counter({c: sum(r[c] for r in rounds) for c in CATEGORIES})
        concern[kind] = (counted["clear"] + counted["possible"]) / sum(counted.values())
    assert concern["probation"] >= concern["youth_program"] + 0.05  # a probation intake sees more concern
    (rating,) = [
        r
        for r in rows
        if r["instrument"] == demo.PRACTITIONER and r["agency_kind"] == "youth_program" and r["month"] == _this_month()
    ]
    assert all(rating[c] >= THRESHOLD for c in CATEGORIES), rating
    assert rating["none"] > rating["clear"]


def _check_follow_ups_and_dashboards(client: TestClient, session: Session) -> None:
    """Only this month's round leaves follow-ups due, all in the future; the older rounds' were settled. The
    Riverbend screener's and supervisor's dashboards show Avery's two screenings on their first page."""
    programs = [
        session.exec(select(User).where(User.email == f"screener@{slug}.example.org")).one().agency_id
        for slug in ("riverbend", "harbor")
    ]
    due = session.exec(
        select(Screening.completed_month, Screening.rescreen_due_on).where(
            col(Screening.agency_id).in_(programs), col(Screening.rescreen_due_on).is_not(None)
        )
    ).all()
    today = datetime.now(UTC).date()
    assert due  # this month's possible concerns ask for a check-in again within 30 days
    assert {month.strftime("%Y-%m") for month, _on in due if month} == {_this_month()}
    assert all(on is not None and on > today for _month, on in due)
    older_possible = session.exec(
        select(func.count())
        .select_from(Screening)
        .where(col(Screening.agency_id).in_(programs), Screening.overall_level == "possible_concern")
        .where(col(Screening.completed_month) < today.replace(day=1))
    ).one()
    assert older_possible > 50  # results whose next steps ask for a date: settled, not deleted
    for email in ("screener@riverbend.example.org", "supervisor@riverbend.example.org", "screener@harbor.example.org"):
        _sign_in(client, email)
        page = client.get("/").text
        assert 'class="overdue"' not in page, email
        if "riverbend" in email:
            recent = page.split("<h1>Recent screenings</h1>")[1].split("</table>")[0]
            assert recent.count("Avery Lindqvist") == 2, email  # the check-in and the rating, no paging


def _steps() -> dict[int, str]:
    """The README's demo walk-through, step by step."""
    walk = README.read_text(encoding="utf-8").split("## Trying the demo")[1].split("\n## ")[0]
    return {int(n): text for n, text in re.findall(r"^(\d)\. (.*?)(?=^\d\. |\Z)", walk, re.S | re.M)}


def _shown(step: str, pages: list[str]) -> None:
    """Every name the step quotes ("..." stands for what varies) is on one of the pages it leads through."""
    shown = " ".join(re.sub(r"\s+", " ", page) for page in pages).replace("&#34;", '"').replace("&#39;", "'")
    quoted = re.findall(r'"([^"]+)"', re.sub(r"\s+", " ", step))
    assert quoted
    for name in quoted:
        for part in filter(None, (p.strip() for p in name.split("..."))):
            assert part in shown, name


def _check_readme_reports(client: TestClient) -> None:
    """Steps 5 and 6: the login they name sees the whole deployment (an evaluator does not), and the names
    they quote are on the pages; "Measure" with the whole deployment and the Brief check-in measures it."""
    steps = _steps()
    (login,) = set(re.findall(r"`([a-z.]+@[a-z]+\.example\.org)`", steps[5]))
    assert login.startswith("system.admin@") and login in {email for *_, email in demo.logins()}
    _sign_in(client, "evaluator@riverbend.example.org")
    assert 'value="deployment"' not in client.get("/reports").text  # "My agency" only
    _sign_in(client, login)
    reports = client.get("/reports").text
    assert 'value="deployment"' in reports
    deployment = client.get("/reports", params={"scope": "deployment", "instrument_id": demo.SELF_REPORT}).text
    _shown(steps[5], [reports, deployment])

    assert login in steps[6]
    performance = client.get("/reports/performance").text
    assert "Accuracy: Check-in" in performance  # Riverbend's most used instrument, as the step says
    (brief,) = re.findall(
        r'<option value="([^"]+)"[^>]*>Brief check-in 1\.4\.0 \(',
        client.get("/reports/performance", params={"scope": "deployment"}).text,
    )
    measured = client.get("/reports/performance", params={"scope": "deployment", "instrument": brief}).text
    assert "Accuracy: Brief check-in 1.4.0" in measured and '<h2 id="roc-heading">ROC curve</h2>' in measured
    _sign_in(client, "evaluator@cedarhill.example.org")
    cedar = client.get("/reports/performance").text
    assert 'value="deployment"' not in cedar and "Accuracy: Brief check-in" in cedar
    _shown(steps[6], [reports, performance, measured, cedar])


def _check_a_newcomers_check_ins(client: TestClient, session: Session) -> None:
    """Two check-ins a newcomer completes at Riverbend this month (one of concern, one with everything skipped)
    leave the deployment's rows of this month unsuppressed."""
    keys, registry = get_key_ring(), loaded_instruments()
    screener = session.exec(select(User).where(User.email == "screener@riverbend.example.org")).one()
    for case, answers in (("RB-1002", demo.CHECK_IN), ("RB-1003", {})):
        youth = records.find_by_case_number(session, keys, screener, case)
        data = ScreeningCreate(youth_id=youth.id, instrument_id=demo.SELF_REPORT, mode="interview")
        started = screenings.start(session, keys, registry, screener, data)
        saved = screenings.save_answers(
            session, keys, registry, screener, started.id, AnswersSave(version=started.version, answers=answers)
        )
        done = screenings.complete(session, keys, registry, screener, started.id, saved.version)
        assert done.status == ScreeningStatus.completed
    session.commit()
    _sign_in(client, "system.admin@riverbend.example.org")
    rows = client.get("/reports.json", params={"scope": "deployment", "date_from": _this_month()}).json()["rows"]
    mine = [r for r in rows if r["agency_kind"] in WAVE_KINDS]
    assert len(mine) == 3 and [r for r in mine if r["suppressed"]] == []


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("<h3")[0]


def _check_readme_revoking(client: TestClient, session: Session) -> None:
    """Step 3: Harbor keeps seeing Riverbend's screenings until both of Avery's releases to it are revoked."""
    keys = get_key_ring()
    riverbend, harbor = (
        session.exec(select(User).where(User.email == f"screener@{slug}.example.org")).one()
        for slug in ("riverbend", "harbor")
    )
    ours = records.find_by_case_number(session, keys, riverbend, "RB-1001").id
    theirs = records.find_by_case_number(session, keys, harbor, "HC-2001").id
    pages = []

    def revoke(purpose: str) -> None:
        _sign_in(client, riverbend.email)
        record = client.get(f"/youth/{ours}").text
        (consent,) = [
            c for c, row in re.findall(r'<tr id="consent-([^"]+)">(.*?)</tr>', record, re.S) if f">{purpose}<" in row
        ]
        form = client.get(f"/youth/{ours}/consents/{consent}/revoke").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        done = client.post(
            f"/youth/{ours}/consents/{consent}/revoke",
            data={"reason": "Avery asked to stop sharing.", "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert done.status_code == 303
        pages.extend([record, form])

    def harbor_sees() -> str:
        _sign_in(client, harbor.email)
        page = client.get(f"/youth/{theirs}").text
        pages.append(page)
        return page

    assert "Riverbend Youth Services" in _section(harbor_sees(), "timeline")
    revoke("Referral")
    page = harbor_sees()
    timeline, linked = _section(page, "timeline"), _section(page, "links")
    assert "Riverbend Youth Services" in timeline and "Check-in" in timeline  # the other release still covers it
    assert "Revoked on" in linked and "Shared now for: Care coordination" in linked  # linked under Referral
    revoke("Care coordination")
    page = harbor_sees()
    assert "Riverbend Youth Services" not in _section(page, "timeline")
    assert "Nothing is shared now" in _section(page, "links")
    assert "stopped sharing on" in page
    _shown(_steps()[3], pages)
