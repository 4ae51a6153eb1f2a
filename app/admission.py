"""Admission: at most as many requests inside the app at once as there are threads to run their blocking work.

FastAPI runs a sync endpoint in the thread pool (anyio's default limiter, `Settings.threads` threads), then,
in a second call to the pool, validates its response; the request's database session is committed after
both (`app.db.get_session`). So a request that holds SQLite's writer turn (`app.sqlite_writes`), a PostgreSQL
connection of the pool or a row lock needs a free thread once more before it lets go. With more requests in
flight than threads, every thread could be taken by requests waiting for that turn or connection, none left for
the one holding it: all wait until SQLite's 30 s busy timeout and fail ("database is locked"). `bench/web.py
--clients 64` showed it: 40 API requests answered 500 after 30 s.

Admitting at most `threads` requests leaves a thread for any admitted request that needs one: each runs one
blocking call at a time (endpoint, response validation, a streamed body's next chunk), and the session's
commit runs on a thread of its own (FastAPI's exit limiter). The others wait here for a place, first come first
served, in the event loop: holding no thread, connection or lock. A pure ASGI middleware (see `app.headers`).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class Admission:
    """Lets at most `limit` HTTP requests into the app at once; the rest wait their turn."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._places: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waited = 0  # requests that found every place taken (for tests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        places = self._places_of_this_loop()
        if places.locked():
            self.waited += 1
        async with places:
            await self.app(scope, receive, send)

    def _places_of_this_loop(self) -> asyncio.Semaphore:
        """The semaphore of the running event loop (one app may be served by several loops one after another,
        as the tests' clients do; an asyncio semaphore belongs to the loop it was first used in)."""
        loop = asyncio.get_running_loop()
        if self._places is None or self._loop is not loop:
            self._places, self._loop = asyncio.Semaphore(self.limit), loop
        return self._places
