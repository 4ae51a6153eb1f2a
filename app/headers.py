"""The security headers every response carries, set by a pure ASGI middleware.

Not `BaseHTTPMiddleware` (what `@app.middleware("http")` builds): that runs each request's app in a task group
and copies the response through a stream, and cost a share of every request's time comparable to the rest of
the middleware, routing and dependencies together (issue 14). Here the response's first message gets the
headers on its way out, and nothing else is touched (streamed bodies pass as they are).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SIGN_IN_PATHS = ("/login",)  # pages whose form must send its real origin (see app.deps.same_site)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a page may set its own Content-Security-Policy)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings  # read on each response: whether cookies are secure follows the environment

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add(self, headers: MutableHeaders, path: str) -> None:
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        # The sign-in form must send its real Origin (browsers send "null" under no-referrer), and the
        # sign-in page links nowhere else, so same-origin reveals nothing to another site.
        headers["Referrer-Policy"] = "same-origin" if path in SIGN_IN_PATHS else "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if self.settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
