"""Staff pages with tables stay usable at 360 px and at 200% zoom [issue 16: at 200% zoom the consents table pushed
its actions off-screen].

200% zoom of a 1,280 px window is a 640 px wide viewport at device scale 2; a phone is 360 px. On each staff page
below that holds a table, at both sizes: the page never scrolls sideways, every table sits in its own scroll box
(templates/macros.html's scroll_table: focusable, named), and every link, button and field in a table is on screen
or inside its scroll box's scrollable area, with the box able to scroll. The demo data gives every page its table:
RB-1001 has a screening and two releases to Harbor, and Harbor's HC-2001 is linked to it.

One server and one browser for the module; one signed-in page per login and size, reused across pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from app.demo import DEMO_PASSWORD
from tests.browser import LiveServer, api, login, screenshot

SIZES = {
    "360px": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True},
    "200pct-zoom": {"viewport": {"width": 640, "height": 800}, "device_scale_factor": 2},
}
RIVERBEND = "supervisor@riverbend.example.org"
RIVERBEND_ADMIN = "agency.admin@riverbend.example.org"
SYSTEM_ADMIN = "system.admin@riverbend.example.org"
EVALUATOR = "evaluator@riverbend.example.org"  # sees the aggregate report
HARBOR = "screener@harbor.example.org"

# (name, login, path); {RB-1001} and {HC-2001} stand for those youths' record ids.
PAGES = [
    ("dashboard", RIVERBEND, "/"),
    ("youth-list", RIVERBEND, "/youth"),
    ("youth-record-with-consents", RIVERBEND, "/youth/{RB-1001}"),
    ("youth-record-with-link", HARBOR, "/youth/{HC-2001}"),
    ("referrals-sent", RIVERBEND, "/referrals?box=sent"),
    ("referrals-received", HARBOR, "/referrals"),
    ("users", RIVERBEND_ADMIN, "/admin/users"),
    ("agencies", SYSTEM_ADMIN, "/admin/agencies"),
    ("aggregate-report", EVALUATOR, "/reports"),
    ("performance-report", SYSTEM_ADMIN, "/reports/performance?scope=deployment"),
]

# Problems a person would meet: the page scrolling sideways, a table outside a scroll box, a control no one can reach.
PROBLEMS = """() => {
  const problems = [];
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page > width) problems.push(`the page scrolls sideways: ${page}px wide in a ${width}px window`);
  for (const table of document.querySelectorAll("main table")) {
    const box = table.closest(".table-scroll");
    const name = table.caption ? table.caption.textContent.trim().slice(0, 50) : "a table";
    if (!box) { problems.push(`"${name}" is not in a scroll box`); continue; }
    const label = document.getElementById(box.getAttribute("aria-labelledby") || "");
    if (box.getAttribute("role") !== "region" || box.tabIndex !== 0 || !label) {
      problems.push(`the scroll box of "${name}" is not a focusable region named by its caption`);
    }
  }
  for (const control of document.querySelectorAll(
      "main table a, main table button, main table select, main table input:not([type=hidden])")) {
    const box = control.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const what = `${control.tagName.toLowerCase()} "${(control.innerText || control.name || "").trim().slice(0, 40)}"`;
    if (box.left >= -0.5 && box.right <= width + 0.5) continue;  // on screen
    if (control.closest("table.table-stack")) {  // rows with actions reflow below 40rem: no sideways scroll at all
      problems.push(`${what} in a reflowing table is off-screen at [${box.left}, ${box.right}]`);
      continue;
    }
    const scroller = control.closest(".table-scroll");
    if (!scroller) { problems.push(`${what} is off-screen at [${box.left}, ${box.right}]`); continue; }
    const frame = scroller.getBoundingClientRect();
    const style = getComputedStyle(scroller);
    const scrolls = ["auto", "scroll"].includes(style.overflowX) && scroller.scrollWidth > scroller.clientWidth;
    const left = box.left - frame.left - scroller.clientLeft + scroller.scrollLeft;
    const inside = left >= -0.5 && left + box.width <= scroller.scrollWidth + 0.5;
    const boxOnScreen = frame.left >= -0.5 && frame.right <= width + 0.5;
    if (!(scrolls && inside && boxOnScreen)) {
      problems.push(`${what} is off-screen at [${box.left}, ${box.right}] and its table's box cannot scroll to it`);
    }
  }
  return problems;
}"""


def _record_id(page: Page, live_server: LiveServer, case_number: str) -> str:
    """The id of the youth record with this case number, found through the youth list's search."""
    page.goto(live_server.at(f"/youth?q={case_number}"))
    href = page.locator("main table tr", has_text=case_number).locator("a[href^='/youth/']").first.get_attribute("href")
    assert href, f"no record {case_number} in the youth list"
    return href.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer) -> Iterator[Any]:
    """`get(size, login)`: a page in a context of that size, signed in once and reused."""
    contexts: dict[tuple[str, str], Page] = {}
    opened = []

    def get(size: str, email: str) -> Page:
        if (size, email) not in contexts:
            context = browser.new_context(base_url=live_server.url, locale="en-US", **SIZES[size])  # type: ignore[arg-type]
            context.set_default_timeout(15_000)
            context.set_default_navigation_timeout(30_000)
            opened.append(context)
            page = context.new_page()
            login(page, live_server, email)
            contexts[(size, email)] = page
        return contexts[(size, email)]

    yield get
    for context in opened:
        context.close()


def _token(live_server: LiveServer, email: str) -> str:
    return str(
        api(live_server, "POST", "/api/v1/auth/token", body={"username": email, "password": DEMO_PASSWORD})[
            "access_token"
        ]
    )


@pytest.fixture(scope="module")
def record_ids(signed_in: Any, live_server: LiveServer) -> dict[str, str]:
    """The demo youths' record ids, as each owning agency sees them; Riverbend refers RB-1001 to Harbor first, so
    the referral lists have a row with its links."""
    page = signed_in("200pct-zoom", RIVERBEND)
    ids = {"RB-1001": _record_id(page, live_server, "RB-1001")}
    page.goto(live_server.at(f"/youth/{ids['RB-1001']}"))
    screening = page.locator("main a[href^='/screenings/']").first.get_attribute("href")
    assert screening, "RB-1001 shows no screening to refer with"
    harbor = api(live_server, "GET", "/api/v1/me", _token(live_server, HARBOR))["agency_id"]
    referral = {
        "youth_id": ids["RB-1001"],
        "to_agency_id": harbor,
        "screening_ids": [screening.split("/")[2]],
        "reason": "Needs housing support near school; the youth agreed to the referral.",
        "preparer_contact": "Riverbend front desk, 555-0100",
    }
    api(live_server, "POST", "/api/v1/referrals", _token(live_server, RIVERBEND), referral)
    ids["HC-2001"] = _record_id(signed_in("200pct-zoom", HARBOR), live_server, "HC-2001")
    return ids


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("name", "email", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_staff_tables_fit_and_their_actions_stay_reachable(
    signed_in: Any, record_ids: dict[str, str], live_server: LiveServer, name: str, email: str, path: str, size: str
) -> None:
    """No sideways page scroll; each table in a named, focusable scroll box; every control in a table reachable."""
    page = signed_in(size, email)
    for case_number, record_id in record_ids.items():
        path = path.replace("{" + case_number + "}", record_id)
    response = page.goto(live_server.at(path))
    assert response is not None and response.ok, f"{name}: {path} answered {response and response.status}"
    assert page.locator("main table").count() > 0, f"{name} at {size}: the page shows no table to check"
    problems = page.evaluate(PROBLEMS)
    if problems:
        screenshot(page, f"FAILED-staff-tables-{name}-{size}")
    assert not problems, f"{name} at {size}:\n" + "\n".join(problems)
