"""Fixtures for the real-browser tests; see tests/browser/__init__.py for the whole API.

One server and one Chromium per test session; a fresh browser context (cookies, storage) per test.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser import (
    CHROMIUM,
    DESKTOP,
    NO_JS_CONTEXTS,
    PHONE,
    REPO,
    LiveServer,
    screenshot,
)

STARTUP_SECONDS = 300  # migrations, the demo and its 800-person cohort, imports: minutes when the machine is busy

# Keep Chromium quiet on a closed network: without these it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("tellonce")
    args = ["serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'tellonce'; from app.cli import main; main()", *args]


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`tellonce serve --demo` in a subprocess on a free 127.0.0.1 port, with its own data dir and no configured
    public address.

    A fresh SQLite database and key file in a temp dir, TELLONCE_ENVIRONMENT=test, the synthetic demo
    data (logins: `app.demo.logins()`, password: `app.demo.DEMO_PASSWORD`). Stopped at the end.
    """
    data_dir = tmp_path_factory.mktemp("live-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # Drop any TELLONCE_* the other test packages set in this process (their database URL, say).
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELLONCE_")}
    env.update(
        TELLONCE_DATA_DIR=str(data_dir),
        TELLONCE_ENVIRONMENT="test",
        # No TELLONCE_BASE_URL: links carry the address serve was started on (a free port, never the default
        # 8000), so every test that follows a youth link follows the address a new user's server gives out.
        # Cheap argon2id, as in tests/app/conftest.py: the demo hashes a password per login it creates and
        # every test signs in; no browser test is about hashing strength (tests/app/test_password_memory.py is).
        TELLONCE_PASSWORD_HASH_TIME_COST="1",  # noqa: S106 (a cost, not a password)
        TELLONCE_PASSWORD_HASH_MEMORY_KIB="1024",  # noqa: S106 (a cost, not a password)
        # The demo's two years of check-ins (the aggregate report's charts) take seconds to store and no browser
        # test reads that report's charts: tests/app/test_demo_screenings.py checks them.
        TELLONCE_DEMO_CHECKINS="0",
        PYTHONUNBUFFERED="1",
    )
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _serve_command(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = LiveServer(url=url, data_dir=data_dir, log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(server.at("/login")):
            if process.poll() is not None:
                why = f"the live server exited ({process.returncode}) before answering"
                pytest.fail(f"{why}:\n{server.log()}", pytrace=False)
            if time.monotonic() > deadline:
                why = f"the live server did not answer {url}/login in {STARTUP_SECONDS}s"
                pytest.fail(f"{why}:\n{server.log()}", pytrace=False)
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (TELLONCE_CHROMIUM or /usr/bin/chromium), never Playwright's download."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: run scripts/ensure-system-packages chromium "
            "(or scripts/ensure-browser-test-deps), or point TELLONCE_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()


def _context(browser: Browser, live_server: LiveServer, **options: object) -> BrowserContext:
    context = browser.new_context(base_url=live_server.url, locale="en-US", **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(30_000)
    return context


def _page_in(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = context.new_page()
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed and not page.is_closed():
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.nodeid.split("::", 1)[-1])
            screenshot(page, f"FAILED-{name}-{request.fixturename}")
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh desktop context (1280x800)."""
    yield from _page_in(_context(browser, live_server, viewport=DESKTOP), request)


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh phone-sized context (360x740, mobile, touch)."""
    yield from _page_in(_context(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True), request)


@pytest.fixture
def youth_desktop(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A second desktop page with a mouse and keyboard, in its own context (the staff member uses `page`), its
    network guarded as a youth's is (the quick-exit site answered locally, no other host)."""
    from tests.browser.test_youth_browser import guard_network  # the youth's pages' own network rule

    context = _context(browser, live_server, viewport=DESKTOP)
    guard_network(context)
    yield from _page_in(context, request)


@pytest.fixture
def no_js_page(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh desktop context with JavaScript disabled (progressive enhancement checks)."""
    context = _context(browser, live_server, viewport=DESKTOP, java_script_enabled=False)
    NO_JS_CONTEXTS.add(context)
    yield from _page_in(context, request)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keep the call phase's report on the item so the page fixtures can screenshot a failure.
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
