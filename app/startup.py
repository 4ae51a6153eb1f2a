"""Checks run once at start-up (`tellonce serve` and the app's lifespan), before any request is served.

- The encryption keys are configured (in production TellOnce never makes its own).
- In production, the public https address links are built from is configured (TELLONCE_BASE_URL).
- No loaded instrument file differs from the version screenings were taken under.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import Engine

from app import instrument_versions
from app.crypto import get_key_ring
from app.errors import KeyConfigurationError, MissingKeys, StartupRefused
from app.settings import get_settings
from instruments.loader import Registry

if TYPE_CHECKING:
    from fastapi import FastAPI


def check_keys() -> None:
    """Refuse to start without usable keys: needs no database, so it runs before one is created or migrated."""
    try:
        get_key_ring()
    except (MissingKeys, KeyConfigurationError) as exc:
        raise StartupRefused(str(exc)) from None


def check_base_url() -> None:
    """In production, refuse to start without a public https address: behind a proxy the address the server
    listens on is not the one a youth can open, so every link would be dead."""
    settings = get_settings()
    if settings.environment != "production":
        return
    if not settings.base_url:
        raise StartupRefused(
            "In production, set TELLONCE_BASE_URL to the public https address people reach TellOnce at "
            "(for example https://tellonce.example.org): every link given to a youth is built from it."
        )
    address = urlsplit(settings.base_url)
    if address.scheme != "https" or not address.hostname:
        raise StartupRefused(
            f"In production, TELLONCE_BASE_URL must be an https address (https://...), not {settings.base_url!r}."
        )


def check_configuration() -> None:
    """The checks that need no database: keys, and the public address."""
    check_keys()
    check_base_url()


def check(engine: Engine, registry: Registry) -> None:
    """Refuse to start without keys or (in production) a public address, or with an instrument file changed
    under a published version."""
    check_configuration()
    with engine.begin() as connection:
        changed = instrument_versions.check(connection, registry)
    if changed:
        raise StartupRefused("\n".join(c.message() for c in changed))


def worker_app() -> FastAPI:
    """The app of one worker of `tellonce serve --workers N` (uvicorn's factory): the command has migrated
    the database and run the start-up work once before starting the workers, so a worker only checks."""
    from app.main import create_app

    return create_app(upgrade_database=False)
