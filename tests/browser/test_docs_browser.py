"""The API docs and the sign-in form in a real Chromium, under the app's own Content-Security-Policy.

/docs is Swagger UI served from the swagger-ui-bundle package's files with an external start-up script:
it must render the operations with no CSP violation and without any request leaving the server (it used
to load from a CDN and need 'unsafe-inline'). Sign-in must still work now that POST /login refuses
`Origin: null`: the sign-in page asks the browser (Referrer-Policy: same-origin) to send its real origin.
"""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Page, Request, expect

from app.demo import logins
from tests.browser import LiveServer, login, watch_console


def _requests_of(page: Page) -> list[Request]:
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    return sent


def test_docs_render_the_operations_from_local_files_under_the_csp(page: Page, live_server: LiveServer) -> None:
    errors = watch_console(page)
    sent = _requests_of(page)
    response = page.goto(live_server.at("/docs"))
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "cdn" not in csp
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/youth/{youth_id}").first).to_be_visible()
    expect(page.locator(".opblock")).not_to_have_count(0)
    youth = page.locator(".opblock-summary-path", has_text="/api/v1/youth").first
    assert youth.is_visible()
    page.wait_for_load_state("networkidle")
    servers = {urlparse(r.url).netloc for r in sent if urlparse(r.url).scheme in ("http", "https")}
    assert servers == {urlparse(live_server.url).netloc}, servers
    assert not errors, errors


def test_sign_in_still_works_and_its_form_posts_the_real_origin(page: Page, live_server: LiveServer) -> None:
    errors = watch_console(page)
    posts: list[dict[str, str]] = []
    page.on("request", lambda r: posts.append(r.headers) if r.method == "POST" and r.url.endswith("/login") else None)
    _agency, _role, email = next(entry for entry in logins() if entry[1] == "screener")
    login(page, live_server, email)
    assert urlparse(page.url).path != "/login"
    assert posts and posts[0].get("origin") == live_server.url, posts
    assert not errors, errors
