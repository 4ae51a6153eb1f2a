"""Password hashing (argon2id), bounded per process, and the password policy (ASVS 6.2).

Each argon2id hash or verification holds `password_hash_memory_kib` of memory (64 MiB at the
library's defaults) for as long as it runs. Every one of them takes a slot from one process-wide
semaphore of `password_hash_slots`, so however many sign-ins arrive at once, a process never holds
more than slots x 64 MiB for hashing; a request that waits longer than `password_hash_wait_seconds`
for a slot is refused with 503 and Retry-After instead of queueing without bound.

The policy has no composition rules. A new password needs 8 to 128 characters and must not be
easy to guess: zxcvbn estimates the guesses needed against its frequency lists (about 30,000 common
passwords, names and English words, with l33t substitutions, repeats, sequences, keyboard patterns
and dates) and against the person's own email and name; fewer than 10^8 guesses is refused.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from app.errors import ServerBusy
from app.i18n import _
from app.settings import Settings, get_settings

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_GUESSES_LOG10 = 8  # zxcvbn's score 3: "safely unguessable", beyond an online attack's reach
_ESTIMATED_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters decide
_APP_WORDS = ("tellonce", "tell once")


_pools_lock = threading.Lock()
_pools: dict[int, threading.BoundedSemaphore] = {}


def _pool(slots: int) -> threading.BoundedSemaphore:
    with _pools_lock:
        return _pools.setdefault(slots, threading.BoundedSemaphore(slots))


@contextmanager
def hashing_slot(settings: Settings | None = None) -> Iterator[None]:
    """Hold one of the process's hashing slots, or raise ServerBusy when none frees up in time."""
    settings = settings or get_settings()
    pool = _pool(settings.password_hash_slots)
    if not pool.acquire(timeout=settings.password_hash_wait_seconds):
        raise ServerBusy(
            _("The server is busy. Wait a few seconds and try again."),
            max(1, math.ceil(settings.password_hash_wait_seconds)),
        )
    try:
        yield
    finally:
        pool.release()


@lru_cache
def _hasher_for(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)  # argon2id, p=4


def _hasher(settings: Settings) -> PasswordHasher:
    return _hasher_for(settings.password_hash_time_cost, settings.password_hash_memory_kib)


@lru_cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    """A hash to verify against when no such user exists, so timing does not reveal accounts.
    Made on first use (inside a slot), not at import."""
    return _hasher_for(time_cost, memory_kib).hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    """An argon2id hash of the password (waits for a hashing slot)."""
    settings = get_settings()
    with hashing_slot(settings):
        return _hasher(settings).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; constant work whether or not the user exists (waits for a slot)."""
    settings = get_settings()
    with hashing_slot(settings):
        stored = password_hash or _dummy_hash(settings.password_hash_time_cost, settings.password_hash_memory_kib)
        try:
            return _hasher(settings).verify(stored, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the configured ones and should be upgraded."""
    return _hasher(get_settings()).check_needs_rehash(password_hash)


def upgraded_hash(password_hash: str, password: str) -> str | None:
    """A hash with the current parameters when the stored one is older; None when it is current, or
    when the server is too busy right now (the upgrade then happens at a later sign-in)."""
    if not needs_rehash(password_hash):
        return None
    try:
        return hash_password(password)
    except ServerBusy:
        return None


def _user_inputs(email: str, display_name: str) -> list[str]:
    email = email.strip().lower()
    local = email.partition("@")[0]
    words = [*re.split(r"[._+\-@\s]+", email), *display_name.lower().split()]
    return [w for w in {email, local, display_name.strip().lower(), *words, *_APP_WORDS} if len(w) >= 3]


def password_problem(password: str, *, email: str = "", display_name: str = "") -> str | None:
    """Why a new password is not acceptable, in plain words, or None. No composition rules, by design."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)d characters (15 or more is better).") % {"count": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("Use at most %(count)d characters.") % {"count": MAX_LENGTH}
    estimate = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=_user_inputs(email, display_name))
    if estimate["guesses_log10"] >= MIN_GUESSES_LOG10:
        return None
    words = [m for m in estimate["sequence"] if m.get("pattern") == "dictionary"]
    dictionaries = {m["dictionary_name"] for m in words if m.get("matched_word") not in _APP_WORDS}
    if "user_inputs" in dictionaries:
        return _("That password is too close to your email or name. Choose another.")
    if "passwords" in dictionaries or any(m.get("matched_word") in _APP_WORDS for m in words):
        return _("That password is too common. Choose another.")
    return _("That password is too easy to guess. Try a few words that do not belong together, like a short sentence.")
