"""A request goes to the thread pool only for blocking work [issue 14].

FastAPI runs a sync dependency, a sync endpoint and that endpoint's response validation each in the thread pool:
a round trip between threads, which costs more than the work it carries when that work is reading what was loaded
at start-up (the settings, the key ring, the instruments). Those dependencies are async (app/deps.py); what is
left is a request's blocking work: its database session opened and committed, the signed-in user looked up, the
endpoint, and an API endpoint's response validated. Before, a list page made 6 trips and an API request 8.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from tests.app.accounts_support import create_youth
from tests.app.api_support import PRACTITIONER
from tests.app.conftest import World, bearer, sign_in


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The functions the app sends to the thread pool, in order."""
    sent: list[str] = []
    to_pool = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "__qualname__", repr(func)))
        return await to_pool(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    yield sent


def test_a_page_and_an_api_request_go_to_the_thread_pool_only_for_blocking_work(
    client: TestClient, world: World, trips: list[str]
) -> None:
    user = world.user(world.agency())
    sign_in(client, user)
    trips.clear()
    assert client.get("/youth").status_code == 200
    assert len(trips) <= 4, trips  # the session opened, the signed-in user, the page, the session committed

    headers = bearer(client, user)
    youth = create_youth(client, headers)
    trips.clear()
    started = client.post(
        "/api/v1/screenings",
        headers=headers,
        json={"youth_id": youth["id"], "instrument_id": PRACTITIONER, "mode": "practitioner"},
    )
    assert started.status_code == 201, started.text
    assert len(trips) <= 5, trips  # as a page's, and the response validated
