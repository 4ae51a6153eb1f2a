"""schemathesis against the app's own OpenAPI, in-process, signed in with data to act on.

Every operation of /openapi.json gets generated requests (valid and invalid) from a signed-in system
admin whose agency holds a youth with a screening; the path parameters are sometimes the ids of those
real objects, so the handlers past the "not found" check are reached too. The checks: no server error,
every status answered is one the schema documents for that operation, with the documented content type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from sqlmodel import Session

from app.main import create_app
from app.models import User
from tests.app.api_support import PRACTITIONER, api_auth, youth_with_screening
from tests.app.conftest import World

EXAMPLES = 30  # per operation and engine: ~45 operations, well under a minute per engine
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


class Seeded:
    """The signed-in caller and the real objects that path parameters sometimes name."""

    def __init__(self, session: Session, world: World) -> None:
        agency = world.agency()
        self.session = session
        self.caller = world.user(agency, "system_admin")
        self.other = world.user(agency, "screener")
        self.token = self.mint(self.caller)
        with TestClient(create_app(upgrade_database=False)) as client:
            youth, screening = youth_with_screening(client, {"Authorization": f"Bearer {self.token}"}, "Sam", "SP-1")
        self.real = {
            "youth_id": youth["id"],
            "screening_id": screening["id"],
            "user_id": self.other.id,
            "instrument_id": PRACTITIONER,
            "version": "1.3.0",
            "number": 1,
        }

    def mint(self, user: User) -> str:
        """A bearer token without the password flow (no argon2 per operation)."""
        return api_auth(self.session, user)["Authorization"].removeprefix("Bearer ")

    def with_real_ids(self, path_parameters: dict[str, Any]) -> dict[str, Any]:
        return {name: self.real.get(name, value) for name, value in path_parameters.items()}


@pytest.fixture
def seeded(session: Session, world: World) -> Iterator[Seeded]:
    yield Seeded(session, world)


def described(exc: BaseException) -> str:
    """An error with what its group holds (schemathesis reports each failure with the request that caused it)."""
    text = str(exc)
    for inner in getattr(exc, "exceptions", ()):
        text += "\n" + described(inner)
    return text


@pytest.fixture
def api_schema(seeded: Seeded) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(upgrade_database=False))


def test_api_answers_every_generated_request_as_documented(api_schema: Any, seeded: Seeded) -> None:
    """No 500, and every status and content type is the one the schema documents, for every operation."""
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40, "every API route is in the schema"
    for operation in operations:
        valid, invalid = (operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
        cases = st.one_of(valid, invalid)

        @given(case=cases, real_ids=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the app's state moves on between calls
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: Any, real_ids: bool) -> None:
            if real_ids:
                case.path_parameters = seeded.with_real_ids(case.path_parameters or {})
            token = seeded.token
            if case.path.endswith("/auth/logout"):
                token = seeded.mint(seeded.caller)  # ending a throwaway token keeps the caller signed in
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            statuses.append(response.status_code)

        try:
            answers_as_documented()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, then report them all
            failures.append(f"{operation.label}: {described(exc)[:4000]}")
    assert not failures, "\n\n".join(failures)
    assert len(statuses) >= 10 * len(operations), len(statuses)  # generated requests, not a vacuous pass
    assert sum(200 <= s < 300 for s in statuses) >= len(operations), sorted(statuses)  # real objects reached
    print(f"schemathesis: {len(statuses)} requests, {sum(s < 300 for s in statuses)} answered 2xx")
