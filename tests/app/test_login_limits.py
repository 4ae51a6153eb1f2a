"""Sign-in and resume-code limits under concurrency, and lockout that cannot lock out staff (ASVS 6.1, 6.3).

What was evaluated is counted from the audit log: every password checked leaves a `login` event
with outcome `failed` (or `ok`); a refused attempt leaves one with `rate_limited` only when it is
the first refusal of its bucket's window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from app import ratelimit
from app.accounts import passwords
from app.models import AuditEvent, RateLimit, utcnow
from app.settings import get_settings
from tests.app.accounts_support import login, reload, token_request
from tests.app.conftest import PASSWORD, World
from tests.app.test_portal import issue_link, self_screening

WRONG = "not the right password at all"
DEVICE_COOKIE = "tellonce_device"
OFFICE, ELSEWHERE, FAR = "192.0.2.10", "203.0.113.66", "198.51.100.23"
T = TypeVar("T")


def _at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0..count-1)` from `count` threads released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _events(session: Session, action: str, outcome: str) -> int:
    reload(session)
    query = (
        select(AuditEvent)
        .order_by(col(AuditEvent.seq))
        .where(AuditEvent.action == action, AuditEvent.outcome == outcome)
    )
    return len(session.exec(query).all())


def _refusals(session: Session) -> list[AuditEvent]:
    reload(session)
    query = select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.outcome == "rate_limited")
    return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


def _windows_pass(session: Session) -> None:
    """Every rate-limit window started long enough ago to have ended."""
    earlier = utcnow() - timedelta(minutes=get_settings().login_window_minutes, seconds=1)
    session.exec(update(RateLimit).values(window_started_at=earlier))  # type: ignore[call-overload]
    session.commit()


def _rows(session: Session) -> int:
    reload(session)
    return len(session.exec(select(RateLimit)).all())


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture
def behind_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app trusts X-Forwarded-For, so a test can speak from several addresses."""
    monkeypatch.setattr(get_settings(), "trust_proxy_headers", True)


def _browser(client: TestClient) -> TestClient:
    """Another browser on the same app, with its own cookies."""
    return TestClient(client.app, base_url="http://testserver")


# --- atomic counting --------------------------------------------------------------------------------


def test_forty_concurrent_wrong_passwords_evaluate_only_the_limit(
    client: TestClient, world: World, session: Session
) -> None:
    user = world.user(world.agency())
    limit = get_settings().login_attempts_per_account_address

    def attempt(index: int) -> int:
        # half through the sign-in page, half through the API's token endpoint
        response = login(client, user.email, WRONG) if index % 2 else token_request(client, user.email, WRONG)
        return int(response.status_code)

    statuses = _at_once(40, attempt)
    assert set(statuses) <= {401, 429}, statuses  # no server error
    assert statuses.count(401) == limit
    assert _events(session, "login", "failed") == limit  # only `limit` passwords were hashed and checked
    failed = session.exec(
        select(AuditEvent)
        .order_by(col(AuditEvent.seq))
        .where(AuditEvent.action == "login", AuditEvent.outcome == "failed")
    ).all()
    assert {e.chain for e in failed} == {user.agency_id}  # in the account's agency's chain, not the shared one
    # every attempt was counted, none lost to a race: the stored counts are what was evaluated, and the
    # refusals are counted on their own (they do not inflate the shared account and address buckets)
    assert ratelimit.current_count(session, "login-pair", f"{user.email}|testclient") == limit
    assert ratelimit.current_count(session, "login-account", user.email) == limit
    assert ratelimit.current_count(session, "login-address", "testclient") == limit
    assert ratelimit.refused_count(session, "login-pair", f"{user.email}|testclient") == 40 - limit
    [refused] = _refusals(session)  # one event for the closed bucket, not one per refusal
    assert (refused.object_type, refused.object_id, refused.agency_id) == ("user", user.id, user.agency_id)
    assert refused.detail == {"limits": ["login-pair"]}


def test_concurrent_first_attempts_do_not_collide(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency())
    emails = [user.email.upper(), *(f"nobody{n}@example.org" for n in range(7))]
    for email in emails:  # each pair of attempts is the first for its account
        statuses = _at_once(2, lambda _i, email=email: int(token_request(client, email, WRONG).status_code))
        assert statuses == [401, 401]
        assert ratelimit.current_count(session, "login-account", email.lower()) == 2
    assert _events(session, "login", "failed") == 2 * len(emails)


# --- lockout that cannot lock out a legitimate user -----------------------------------------------------


def test_a_known_browser_signs_in_while_the_account_is_under_attack(
    client: TestClient, world: World, session: Session, behind_proxy: None
) -> None:
    user = world.user(world.agency())
    staff = _browser(client)
    assert login(staff, user.email, headers=_from(OFFICE)).status_code == 303
    device = staff.cookies[DEVICE_COOKIE]
    assert user.id in device and PASSWORD not in device

    # an attacker with many addresses (a botnet): 8 addresses x 5 tries, under each (account, address) limit
    attacker = _browser(client)
    per_account = get_settings().login_attempts_per_account

    def guess(index: int) -> int:
        return int(login(attacker, user.email, WRONG, headers=_from(f"198.18.0.{index % 8}")).status_code)

    statuses = _at_once(40, guess)
    assert statuses.count(401) == per_account and statuses.count(429) == 40 - per_account
    # browsers the account does not know are refused, even with the right password, from anywhere
    assert login(attacker, user.email, headers=_from(ELSEWHERE)).status_code == 429
    assert token_request(client, user.email, headers=_from(FAR)).status_code == 429
    # the browser that signed in before is not: from the office, or from the attacker's network
    assert login(staff, user.email, headers=_from(OFFICE)).status_code == 303
    assert login(staff, user.email, headers=_from("198.18.0.1")).status_code == 303
    assert _events(session, "login", "ok") == 3
    # what an admin sees: the failures, and one refusal event naming the account; the count stays at the limit
    assert ratelimit.current_count(session, "login-account", user.email) == per_account
    assert [(e.object_id, e.detail) for e in _refusals(session)] == [(user.id, {"limits": ["login-account"]})]


def test_one_address_hammering_an_account_does_not_close_it_for_others(
    client: TestClient, world: World, session: Session, behind_proxy: None
) -> None:
    """Refused attempts give their slot back: one address can spend only its own small share."""
    user = world.user(world.agency())
    for _ in range(60):
        assert token_request(client, user.email, WRONG, headers=_from(ELSEWHERE)).status_code in (401, 429)
    limit = get_settings().login_attempts_per_account_address
    assert ratelimit.current_count(session, "login-account", user.email) == limit  # not 60
    assert ratelimit.current_count(session, "login-address", ELSEWHERE) == limit
    assert ratelimit.refused_count(session, "login-pair", f"{user.email}|{ELSEWHERE}") == 60 - limit
    assert token_request(client, user.email, headers=_from(FAR)).status_code == 200  # an unknown browser elsewhere


def test_a_shared_address_full_of_failures_does_not_block_known_browsers(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, behind_proxy: None
) -> None:
    monkeypatch.setattr(get_settings(), "login_attempts_per_address", 10)
    agency = world.agency()
    staff_user, colleague = world.user(agency), world.user(agency, "supervisor")
    staff = _browser(client)
    assert login(staff, staff_user.email, headers=_from(OFFICE)).status_code == 303

    # someone behind the agency's one public address sprays passwords at many accounts
    sprayer = _browser(client)
    for n in range(12):
        login(sprayer, f"someone{n}@example.org", WRONG, headers=_from(OFFICE))
    assert login(sprayer, "someone.else@example.org", WRONG, headers=_from(OFFICE)).status_code == 429
    # a browser new to its account waits out the window (and an API client has no cookie) ...
    assert login(_browser(client), colleague.email, headers=_from(OFFICE)).status_code == 429
    assert token_request(client, colleague.email, headers=_from(OFFICE)).status_code == 429
    # ... but staff on the browsers they use are not locked out
    assert login(staff, staff_user.email, headers=_from(OFFICE)).status_code == 303


def test_a_borrowed_or_altered_device_cookie_counts_as_an_unknown_browser(
    client: TestClient, world: World, behind_proxy: None
) -> None:
    agency = world.agency()
    owner, target = world.user(agency), world.user(agency, "supervisor")
    staff = _browser(client)
    assert login(staff, owner.email, headers=_from(OFFICE)).status_code == 303
    cookie = staff.cookies[DEVICE_COOKIE]
    limit = get_settings().login_attempts_per_account_address

    borrowed = _browser(client)  # the owner's entry does not make it known to another account
    borrowed.cookies.set(DEVICE_COOKIE, cookie)
    for _ in range(limit):
        assert login(borrowed, target.email, WRONG, headers=_from(ELSEWHERE)).status_code == 401
    assert login(borrowed, target.email, headers=_from(ELSEWHERE)).status_code == 429

    altered = _browser(client)  # a changed signature is no entry at all
    altered.cookies.set(DEVICE_COOKIE, cookie[:-1] + ("0" if cookie[-1] != "0" else "1"))
    for _ in range(limit):
        assert login(altered, owner.email, WRONG, headers=_from(FAR)).status_code == 401
    assert login(altered, owner.email, headers=_from(FAR)).status_code == 429
    assert login(staff, owner.email, headers=_from(FAR)).status_code == 303


def test_a_known_browser_has_its_own_small_limit(client: TestClient, world: World, session: Session) -> None:
    user = world.user(world.agency())
    assert login(client, user.email).status_code == 303
    for _ in range(get_settings().login_attempts_per_device):
        assert login(client, user.email, WRONG).status_code == 401
    refused = login(client, user.email)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # another browser on the same address is not held back by it
    assert login(_browser(client), user.email).status_code == 303


# --- what unauthenticated requests leave behind ---------------------------------------------------------


def test_random_emails_leave_a_bounded_number_of_rows_and_one_audit_event(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 10
    monkeypatch.setattr(get_settings(), "login_attempts_per_address", limit)
    for n in range(60):  # the probe's flood, smaller: every email new, from one address
        assert token_request(client, f"random{n}@example.org", WRONG).status_code in (401, 429)
    # refused attempts leave no rows: a pair and an account row per evaluated attempt, the address, its refusals
    assert _rows(session) == 2 * limit + 2
    assert ratelimit.refused_count(session, "login-address", "testclient") == 60 - limit
    [refused] = _refusals(session)
    assert refused.object_type is None and refused.object_id is None  # no such account; no email stored
    assert refused.detail == {"limits": ["login-address"]}
    assert "random" not in str(refused.model_dump())

    _windows_pass(session)
    assert token_request(client, "one.more@example.org", WRONG).status_code == 401
    assert _rows(session) == 3  # the expired rows went; only the new attempt's pair, account and address
    for n in range(limit + 5):
        token_request(client, f"again{n}@example.org", WRONG)
    assert len(_refusals(session)) == 2  # a new window, a new first refusal


def test_a_refused_sign_in_is_audited_once_per_bucket_window(
    client: TestClient, world: World, session: Session
) -> None:
    user = world.user(world.agency())
    limit = get_settings().login_attempts_per_account_address
    for _ in range(limit + 10):
        token_request(client, user.email, WRONG)
    assert _events(session, "login", "failed") == limit
    assert [(e.object_type, e.object_id) for e in _refusals(session)] == [("user", user.id)]
    assert user.email not in str([e.model_dump() for e in _refusals(session)])

    _windows_pass(session)
    for _ in range(limit + 3):
        token_request(client, user.email, WRONG)
    assert [e.object_id for e in _refusals(session)] == [user.id, user.id]
    assert ratelimit.refused_count(session, "login-pair", f"{user.email}|testclient") == 3


# --- bounded hashing --------------------------------------------------------------------------------


def test_when_every_hashing_slot_is_taken_sign_in_answers_503_and_counts_nothing(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "password_hash_wait_seconds", 0.05)
    user = world.user(world.agency())
    with ExitStack() as held:
        for _ in range(settings.password_hash_slots):
            held.enter_context(passwords.hashing_slot(settings))
        api = token_request(client, user.email)
        page = login(client, user.email)
    assert api.status_code == 503 and api.json()["error"] == "busy" and int(api.headers["Retry-After"]) >= 1
    assert page.status_code == 503 and "busy" in page.text and int(page.headers["Retry-After"]) >= 1
    assert _events(session, "login", "busy") == 2
    assert ratelimit.current_count(session, "login-pair", f"{user.email}|testclient") == 0  # given back
    assert token_request(client, user.email).status_code == 200


# --- resume codes -------------------------------------------------------------------------------------


def test_forty_concurrent_wrong_codes_on_one_link_evaluate_only_the_limit(
    client: TestClient, world: World, session: Session
) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    youth = _browser(client)
    limit = get_settings().resume_attempts_per_link

    def attempt(index: int) -> int:
        return int(youth.post("/go", data={"code": f"WRNG-{index:04d}", "link_token": link}).status_code)

    statuses = _at_once(40, attempt)
    assert set(statuses) <= {400, 429}, statuses
    assert statuses.count(400) == limit
    assert _events(session, "youth_access.open", "failed") == limit
    assert ratelimit.current_count(session, "resume-link", link) == limit  # evaluated
    assert ratelimit.refused_count(session, "resume-link", link) == 40 - limit
    assert youth.post("/go", data={"code": code, "link_token": link}).status_code == 429  # until the window ends
    assert _events(session, "youth_access.open", "rate_limited") == 1  # 36 refusals, one audit row


def test_a_right_code_without_its_link_fails_like_a_wrong_code(
    client: TestClient, world: World, session: Session
) -> None:
    screening_id, _, csrf = self_screening(client, world)
    link, code = issue_link(client, screening_id, csrf)
    other_link, _other_code = issue_link(client, screening_id, csrf)
    youth = _browser(client)
    wrong = youth.post("/go", data={"code": "WRNG-CODE", "link_token": link})
    without_link = youth.post("/go", data={"code": code})
    other = youth.post("/go", data={"code": code, "link_token": other_link})
    for refused in (without_link, other):
        assert refused.status_code == wrong.status_code == 400
        assert _error_of(refused.text) == _error_of(wrong.text)
    assert "tellonce_y" not in youth.cookies
    assert _events(session, "youth_access.open", "failed") == 3
    assert ratelimit.current_count(session, "resume-address", "testclient") == 3  # each one counted
    assert youth.post("/go", data={"code": code, "link_token": link}).status_code == 200


def _error_of(html: str) -> Any:
    start = html.index('<div class="error-summary"')
    return html[start : html.index("</div>", start)]


def test_unlocking_a_handed_over_device_is_limited(client: TestClient, world: World, session: Session) -> None:
    screening_id, _, csrf = self_screening(client, world)
    client.post(f"/screenings/{screening_id}/self/handoff", data={"csrf_token": csrf})
    statuses = _at_once(12, lambda _i: int(client.post("/unlock", data={"password": WRONG}).status_code))
    limit = get_settings().login_attempts_per_device
    assert sorted(statuses) == [403] * limit + [429] * (12 - limit)
    refused = client.post("/unlock", data={"password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert _events(session, "unlock", "failed") == limit
    assert _events(session, "unlock", "rate_limited") == 1  # one per closed window, not one per refusal
