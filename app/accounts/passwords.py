"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.i18n import _

_hasher = PasswordHasher()  # argon2id with the library's current defaults
MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON = frozenset(
    [
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty123",
        "qwertyuiop",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome",
        "welcome1",
        "letmein",
        "abc12345",
        "admin123",
        "passw0rd",
        "trustno1",
        "11111111",
        "00000000",
        "monkey123",
        "dragon123",
        "master123",
        "changeme",
        "tellonce",
    ]
)
# A dummy hash to verify against when no such user exists, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; constant work whether or not the user exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters and should be upgraded at login."""
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None. No composition rules, by design."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)d characters (15 or more is better).") % {"count": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("Use at most %(count)d characters.") % {"count": MAX_LENGTH}
    if password.lower() in COMMON:
        return _("That password is too common. Choose another.")
    return None
