"""Device cookies (OWASP's "slow down online guessing" pattern): browsers known to an account.

After a successful sign-in the browser keeps a long-lived, HttpOnly cookie naming (account,
device id), signed with an HMAC keyed by the key ring's index key (purpose "device-cookie"). It is
not a credential: it only decides which sign-in limits apply. A browser that shows a valid entry
for the account it signs in to is counted in its own bucket only, so an attacker hammering that
account from elsewhere, or a neighbour behind the agency's shared address, cannot lock it out. One
cookie holds the entries of the last few accounts signed in on that browser (a shared computer).
"""

from __future__ import annotations

import hmac
import secrets

from app.crypto import KeyRing
from app.settings import Settings

MAX_ENTRIES = 5  # accounts remembered per browser, newest first


def cookie_name(settings: Settings) -> str:
    """`__Host-` prefixed where cookies are Secure, like the session cookie."""
    return "__Host-tellonce_device" if settings.secure_cookies else "tellonce_device"


def _mac(keys: KeyRing, user_id: str, device_id: str) -> str:
    return keys.blind_index("device-cookie", f"{user_id}.{device_id}")[:32]


def _entries(cookie: str | None) -> list[tuple[str, str, str]]:
    entries = []
    for entry in (cookie or "").split("~")[:MAX_ENTRIES]:
        parts = entry.split(".")
        if len(parts) == 3 and all(parts):
            entries.append((parts[0], parts[1], parts[2]))
    return entries


def known_device(keys: KeyRing, cookie: str | None, user_id: str) -> str | None:
    """The id of this browser for the account when its cookie carries a valid entry for it, else None."""
    for owner, device_id, mac in _entries(cookie):
        if owner == user_id and hmac.compare_digest(mac, _mac(keys, user_id, device_id)):
            return device_id
    return None


def remember(keys: KeyRing, cookie: str | None, user_id: str) -> str:
    """The cookie's new value after `user_id` signed in on this browser (keeping its device id if known)."""
    device_id = known_device(keys, cookie, user_id) or secrets.token_urlsafe(16)
    others = [e for e in _entries(cookie) if e[0] != user_id and known_device(keys, ".".join(e), e[0])]
    entries = [(user_id, device_id, _mac(keys, user_id, device_id)), *others][:MAX_ENTRIES]
    return "~".join(".".join(entry) for entry in entries)
