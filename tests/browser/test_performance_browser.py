"""The instrument performance page and its charts in a real Chromium, on a desktop (1,280 px) and on a phone
(360 px) [issue 17, "Done when" 3].

The live server's demo holds the synthetic evaluation cohort (docs/evaluation.md). The page must show each
chart as an accessible image whose description states its figures, every figure with its interval and
counts, and fit the screen: the page never scrolls sideways, and only tables may scroll, inside their box.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import LiveServer, check_accessibility, login, screenshot, watch_console

EVALUATOR = "system.admin@riverbend.example.org"
CHARTS = ("accuracy-chart", "roc-chart", "rates-chart")
# Elements past the viewport's edge, other than inside a box that scrolls on its own (a table) or hidden text.
OUTSIDE = """(width) => {
  const found = [];
  for (const element of document.querySelectorAll("body *")) {
    if (element.closest(".skip-link, .visually-hidden, .table-scroll")) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) found.push(`${element.tagName} ${box.left}..${box.right}`);
  }
  return found;
}"""


@pytest.mark.parametrize("device", ["page", "phone"])
def test_the_performance_page_and_its_charts_fit_and_explain_themselves(
    device: str, request: pytest.FixtureRequest, live_server: LiveServer
) -> None:
    page: Page = request.getfixturevalue(device)
    width = (page.viewport_size or {"width": 0})["width"]
    assert width in (1280, 360)
    errors = watch_console(page)
    login(page, live_server, EVALUATOR)
    page.goto(live_server.at("/reports/performance?scope=deployment"))
    expect(page.locator("h1")).to_have_text("Instrument performance")
    for chart in CHARTS:
        svg = page.locator(f"#{chart} svg")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        assert svg.get_attribute("role") == "img"
        description = page.locator(f"#{chart} desc").text_content() or ""
        assert "%" in description and len(description) > 80, (chart, description)
    everyone = page.locator("section.group").first
    expect(everyone.locator("caption")).to_contain_text("95% Wilson intervals")
    first_figure = everyone.locator("tbody tr").first.locator("td").first.inner_text()
    assert "%–" in first_figure and "/" in first_figure, first_figure  # 71.9% (59.9%–81.4%), 46/64
    expect(page.get_by_text("Small numbers are suppressed so that no youth can be singled out")).to_be_visible()

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways at {width} px ({scroll_width} px)"
    assert page.evaluate(OUTSIDE, width) == []
    if device == "page":
        check_accessibility(page, f"the performance page at {width} px")
    screenshot(page, f"performance-{device}")

    # The staff rating's own page: no total, so no ROC curve; agreement with the check-in by kappa.
    page.select_option("#f-instrument", value="tellonce-practitioner-indicators|1.3.0")
    with page.expect_navigation():
        page.get_by_role("button", name="Measure").click()
    expect(page.locator("#roc-heading + p")).to_contain_text("declares no total score")
    expect(page.locator("#agreement-heading ~ section").first).to_contain_text("Kappa")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == [], errors
