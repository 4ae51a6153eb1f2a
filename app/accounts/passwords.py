"""Password hashing (argon2id), bounded per process, and the password policy (ASVS 6.2).

Each argon2id hash or verification holds `password_hash_memory_kib` of memory (64 MiB at the
library's defaults) for as long as it runs. Every one of them takes a slot from one process-wide
semaphore of `password_hash_slots`, so however many sign-ins arrive at once, a process never holds
more than slots x 64 MiB for hashing; a request that waits longer than `password_hash_wait_seconds`
for a slot is refused with 503 and Retry-After instead of queueing without bound.

The policy has no composition rules. A new password needs 8 to 128 characters and must not be
easy to guess: zxcvbn estimates the guesses needed against its frequency lists (about 30,000 common
passwords, names and English words, with l33t substitutions, repeats, sequences, keyboard patterns
and dates) and against what an attacker knows of this person and this app: the parts of their email
and name (alone and joined in either order), their agency's name and its words, TellOnce's own
words and the published demo password. The estimate is taken as typed and case-folded (zxcvbn
sees "Jjjjjjjj1" as random letters but "jjjjjjjj1" as a repeat); the lower one counts, and fewer
than 10^9 guesses is refused. Measured (log10 guesses): name or agency + digits 4.2-7.7, "Spring2026!"
8.1, "Harbor2026!" 8.6, a repeated letter 4.2, the demo password 1.4; "onlylowercaseletters" 9.8,
a random 12-character string 10.0 or more, "Quiet-Orchard-Lamp-417" 18.0, "correct horse battery
staple" 20.3.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from app.errors import ServerBusy
from app.i18n import _
from app.settings import Settings, get_settings

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_GUESSES_LOG10 = 9  # within zxcvbn's score 3 ("safely unguessable"); see the figures above
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


def too_long_message() -> str:
    """The one message for a password over MAX_LENGTH, from the policy and from the API's schema alike."""
    return _("Use at most %(count)d characters.") % {"count": MAX_LENGTH}


@lru_cache
def _app_words() -> tuple[str, ...]:
    from app.demo import DEMO_PASSWORD  # imported late: the demo seeds users through this package

    return (*_APP_WORDS, DEMO_PASSWORD, *_words(DEMO_PASSWORD))


def _words(text: str) -> list[str]:
    """The words of a name or an email's local part: split on spaces, . _ - + @ and digits."""
    return [w for w in re.split(r"[\s._+\-@,'\d]+", text.strip().lower()) if w]


def _joined(words: Iterable[str]) -> list[str]:
    """Pairs of the words, in either order, run together or joined by a usual separator ("doe.jane")."""
    distinct = list(dict.fromkeys(words))[:4]
    return [a + sep + b for a, b in itertools.permutations(distinct, 2) for sep in ("", ".", "_", "-", " ")]


def _user_inputs(email: str, display_name: str, agency_name: str) -> list[str]:
    email = email.strip().lower()
    local = email.partition("@")[0]
    name, agency = display_name.strip().lower(), agency_name.strip().lower()
    person = [*_words(local), *_words(name)]
    agency_words = _words(agency)
    inputs = [email, local, name, *person, *_joined(person), agency, "".join(agency_words), *agency_words]
    return [w for w in dict.fromkeys([*inputs, *_app_words()]) if len(w) >= 3]


def password_problem(password: str, *, email: str = "", display_name: str = "", agency_name: str = "") -> str | None:
    """Why a new password is not acceptable, in plain words, or None. No composition rules, by design."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)d characters (15 or more is better).") % {"count": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return too_long_message()
    inputs = _user_inputs(email, display_name, agency_name)
    typed = password[:_ESTIMATED_LENGTH]
    estimate = min(
        (zxcvbn(text, user_inputs=inputs) for text in dict.fromkeys((typed, typed.casefold()))),
        key=lambda e: float(e["guesses_log10"]),
    )
    if estimate["guesses_log10"] >= MIN_GUESSES_LOG10:
        return None
    app_words = {*_APP_WORDS, *_app_words()}
    words = [m for m in estimate["sequence"] if m.get("pattern") == "dictionary"]
    if any(m.get("matched_word") in app_words for m in words):
        return _("That password is too common. Choose another.")
    if any(m["dictionary_name"] == "user_inputs" for m in words):
        return _("That password is too close to your email, name or agency. Choose another.")
    if any(m["dictionary_name"] == "passwords" for m in words):
        return _("That password is too common. Choose another.")
    return _("That password is too easy to guess. Try a few words that do not belong together, like a short sentence.")
