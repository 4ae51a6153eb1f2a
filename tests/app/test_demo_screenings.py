"""The demo's two years of check-ins [issue 16, "Demo data large enough ... nothing suppressed at the deployment
level, while small cells elsewhere still are"].

A newcomer signing in as the demo's system admin and choosing the whole deployment sees every chart with every
share, none hatched; a small group (a few people screened at one program in one month) is still suppressed.
"""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app import demo
from app.crypto import get_key_ring
from app.evaluation.cohort import FAMILY_NAMES, GIVEN_NAMES
from app.main import loaded_instruments
from app.models import Screening, User
from app.records import service as records


def _sign_in(client: TestClient, email: str) -> None:
    signed = client.post(
        "/login", data={"email": email, "password": demo.DEMO_PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert signed.status_code == 303


def _screenings(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Screening)).one()


def test_the_demo_shows_the_whole_deployment_with_nothing_suppressed(client: TestClient, session: Session) -> None:
    registry = loaded_instruments()
    assert demo.seed(session, get_key_ring(), registry)
    session.commit()
    stored = _screenings(session)
    assert 300 <= stored <= 900  # a few hundred

    _sign_in(client, "system.admin@riverbend.example.org")
    report = client.get("/reports.json", params={"scope": "deployment"}).json()
    rows = report["rows"]
    assert len(rows) >= 10  # two programs, a wave every six months over two years
    assert [r for r in rows if r["suppressed"]] == []
    months = sorted({r["month"] for r in rows})
    assert (int(months[-1][:4]) * 12 + int(months[-1][5:])) - (int(months[0][:4]) * 12 + int(months[0][5:])) >= 23

    page = client.get("/reports", params={"scope": "deployment"}).text
    charts = page.count('<figure class="chart">')
    assert charts == len({(r["instrument"], r["agency_kind"]) for r in rows}) >= 2
    assert page.count('fill="url(#p-suppressed-') == charts  # only each chart's legend swatch: no hatched bar
    assert '<td class="n">suppressed' not in page

    # Realistic shares over all of it: most no concern, some possible, fewer clear, some not enough information.
    totals = Counter({c: sum(r[c] for r in rows) for c in ("none", "possible", "clear", "insufficient")})
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
        page_of, seen = records.list_for(session, keys, screener, size=1000), 0
        for youth in page_of.items:
            assert (youth.given_name, youth.family_name) in invented
            seen += 1
        assert seen >= 100
    first = records.list_for(
        session, keys, session.exec(select(User).where(User.email == "screener@riverbend.example.org")).one(), size=3
    )
    assert {y.case_number for y in first.items} == {"RB-1001", "RB-1002", "RB-1003"}  # the story's youth first

    # Running the demo again adds nothing.
    assert not demo.seed(session, keys, registry)
    assert demo.seed_screenings(session, keys, registry) == 0
    assert _screenings(session) == stored


def test_a_small_group_elsewhere_is_still_suppressed(client: TestClient, session: Session) -> None:
    registry = loaded_instruments()
    assert demo.seed(session, get_key_ring(), registry)
    demo.seed_cohort(session, get_key_ring(), registry, 12)  # a dozen people at two more programs
    session.commit()

    _sign_in(client, "evaluator@cedarhill.example.org")
    own = client.get("/reports.json").json()["rows"]
    assert own and all(r["suppressed"] for r in own)  # one program, a few people a month

    client.post("/logout")
    _sign_in(client, "system.admin@riverbend.example.org")
    rows = client.get("/reports.json", params={"scope": "deployment"}).json()["rows"]
    small = [r for r in rows if r["agency_kind"] in ("shelter", "child_welfare")]
    assert small and all(r["suppressed"] for r in small)
    waves = [r for r in rows if r["agency_kind"] in ("youth_program", "probation")]
    assert waves and not any(r["suppressed"] for r in waves)
