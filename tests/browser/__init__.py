"""Real-browser tests: Playwright for Python driving Debian's Chromium against a live TellOnce server.

Set-up (idempotent, silent when done): `scripts/ensure-browser-test-deps` installs Debian's chromium
and axe-core (npm, into tests/browser/node_modules); `scripts/setup-venv test` installs playwright.
Never run `playwright install`: its browser download does not work here; the tests drive
/usr/bin/chromium (or the browser named by TELLONCE_CHROMIUM).

Fixtures (conftest.py):
    live_server   session: `tellonce serve --demo` in a subprocess on 127.0.0.1, own data dir
                  (fresh SQLite DB and key file); `.url`, `.data_dir`, `.at(path)`, `.log()`.
                  It holds the synthetic demo data: logins from `app.demo.logins()`, password
                  `app.demo.DEMO_PASSWORD`, youth RB-1001..RB-1003 (RB-1001 has a completed screening).
                  Tests share this one database: create what you change, don't rely on counts.
    browser       session: headless Chromium.
    page          a new context per test, 1280x800, locale en-US, base_url = live_server.url.
    phone         a new context per test, 360x740, is_mobile, has_touch.
    no_js_page    a new context per test, 1280x800, JavaScript disabled.
    A failed test using page/phone/no_js_page leaves a screenshot named FAILED-<test>.png.

Helpers (here): login, logout, check_accessibility, screenshot, watch_console.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from weakref import WeakSet

from playwright.sync_api import BrowserContext, ConsoleMessage, Page

from app.demo import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("TELLONCE_CHROMIUM", "/usr/bin/chromium")
AXE_PATH = HERE / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING_IMPACTS = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}

# Contexts made with java_script_enabled=False (axe cannot run in them; see check_accessibility).
NO_JS_CONTEXTS: WeakSet[BrowserContext] = WeakSet()


@dataclass
class LiveServer:
    """A running `tellonce serve --demo` (see conftest.live_server)."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def at(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.url + path

    def log(self) -> str:
        """What the server has printed so far (stdout and stderr; uvicorn logs warnings and errors)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def login(page: Page, live_server: LiveServer, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form at /login (demo password by default); fails unless it leaves /login."""
    page.goto(live_server.at("/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator('form[action="/login"] [type="submit"]').click()
    if urlparse(page.url).path == "/login":
        alert = page.locator('[role="alert"]')
        reason = alert.inner_text() if alert.count() else "no error shown"
        raise AssertionError(f"sign-in as {email} failed (still on /login): {reason}")


def logout(page: Page) -> None:
    """Press the header's Sign out button; fails unless it lands on /login."""
    with page.expect_navigation():
        page.locator('form[action="/logout"] [type="submit"]').click()
    path = urlparse(page.url).path
    assert path == "/login", f"sign-out went to {page.url}, not /login"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as <dir>/<name>.png; dir: $TELLONCE_SCREENSHOT_DIR or test-artifacts/screenshots."""
    folder = Path(os.environ.get("TELLONCE_SCREENSHOT_DIR") or REPO / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def watch_console(page: Page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions from now on.

    CSP violations show up here ("... violates the following Content Security Policy directive ...").
    Chromium's own request for /favicon.ico is left out: the app serves none, and no page asks for it.
    """
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        source = message.location.get("url") or ""
        if message.type == "error" and not source.endswith("/favicon.ico"):
            seen.append(f"console.error: {message.text}" + (f" ({source})" if source else ""))

    page.on("console", on_console)
    page.on("pageerror", lambda e: seen.append(f"uncaught: {e}"))
    return seen


@functools.cache
def _axe_source() -> str:
    if not AXE_PATH.is_file():
        raise AssertionError(f"axe-core is missing ({AXE_PATH}): run scripts/ensure-browser-test-deps")
    return AXE_PATH.read_text()


_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return {
    version: axe.version,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
      nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
    })),
  };
}"""


def _run_axe(page: Page, tags: tuple[str, ...]) -> dict[str, Any]:
    # page.evaluate runs through the DevTools protocol, which the page's CSP (script-src 'self',
    # no inline scripts) does not govern; add_script_tag injects an inline <script> and is refused.
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(_axe_source())
        assert page.evaluate("typeof window.axe?.run") == "function", "axe-core did not load into the page"
    result: dict[str, Any] = page.evaluate(_RUN_AXE, list(tags))
    return result


def _run_axe_on_snapshot(page: Page, tags: tuple[str, ...]) -> dict[str, Any]:
    """axe needs timers, which a JavaScript-disabled page never fires: check a copy of its DOM instead.

    The copy is served at the same URL in a scripting context whose own scripts are blocked, with
    <noscript> turned into <div> so what a no-JS visitor sees is what gets checked.
    """
    html = re.sub(r"<(/?)noscript\b", r"<\1div", page.content(), flags=re.IGNORECASE)
    url = page.url
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(viewport=page.viewport_size or DESKTOP, locale="en-US")

    def handle(route: Any) -> None:
        if route.request.url == url:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        elif route.request.resource_type == "script":
            route.abort()
        else:
            route.continue_()

    try:
        context.route("**/*", handle)
        copy = context.new_page()
        copy.goto(url)
        return _run_axe(copy, tags)
    finally:
        context.close()


def check_accessibility(
    page: Page,
    label: str,
    *,
    tags: tuple[str, ...] = WCAG_TAGS,
    fail_on: tuple[str, ...] = BLOCKING_IMPACTS,
) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now; fail on serious or critical violations.

    Returns every violation (moderate and minor too) as dicts: id, impact, help, helpUrl, tags, nodes
    (each with target, html, summary). Works on no_js_page too (checks a copy of its DOM).
    """
    run = _run_axe_on_snapshot if page.context in NO_JS_CONTEXTS else _run_axe
    result = run(page, tags)
    violations: list[dict[str, Any]] = result["violations"]
    blocking = [v for v in violations if v["impact"] in fail_on]
    if blocking:
        raise AssertionError(_describe(label, page.url, result["version"], blocking, fail_on))
    return violations


def _describe(label: str, url: str, version: str, violations: list[dict[str, Any]], impacts: tuple[str, ...]) -> str:
    lines = [
        f"axe-core {version} found {len(violations)} {'/'.join(impacts)} accessibility violation(s) on {label} ({url}):"
    ]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']}  ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:160]}")
            summary = " / ".join(s.strip() for s in (node["summary"] or "").splitlines() if s.strip())
            lines.append(f"       {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def api(live_server: LiveServer, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    """Call the live server's JSON API (with no token: the OAuth2 password flow, which takes a form)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if token is None:  # the OAuth2 password flow takes a form
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode() if body is not None else None
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(live_server.at(path), data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the test's own local server)
        return json.loads(response.read())
