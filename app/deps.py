"""Request dependencies: who is signed in, CSRF on forms, roles, and shared singletons."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from app.access import require_role as require_role  # routes take it from here with the other checks
from app.accounts import sessions
from app.crypto import KeyRing, get_key_ring
from app.db import SessionDep
from app.errors import DeviceLocked, Forbidden, LoginRequired, NotAuthenticated
from app.i18n import _
from app.models import AuthSession, Role, User
from app.settings import Settings, get_settings
from instruments.loader import Registry


# Dependencies that only read what is already loaded are `async def`: FastAPI runs those in the event loop, and
# each sync one in the thread pool, a round trip between threads on every request that uses it.
async def current_settings() -> Settings:
    """The settings (read once, then cached)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


def cookie_name(settings: Settings) -> str:
    """`__Host-` prefixed where cookies are Secure (browsers refuse the prefix otherwise)."""
    return "__Host-tellonce" if settings.secure_cookies else "tellonce_session"


def client_address(request: Request, settings: Settings) -> str:
    """The client's address, trusting a proxy's X-Forwarded-For only when configured to."""
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


@dataclass
class WebAuth:
    """The signed-in user of a page request, with their session (for CSRF tokens)."""

    user: User
    session: AuthSession

    @property
    def csrf_token(self) -> str:
        """The token every form of this session must carry."""
        return sessions.csrf_token(self.session)


def web_auth(request: Request, db: SessionDep, settings: SettingsDep) -> WebAuth:
    """The signed-in user of a page, or a redirect to sign in."""
    token = request.cookies.get(cookie_name(settings))
    resolved = sessions.resolve(db, token, "web", settings) if token else None
    if resolved is None:
        raise LoginRequired(_("Please sign in."), keep_writes=True)
    record, user = resolved
    # Plain values for error pages: a failed request's rollback expires (and closing detaches) the
    # ORM user, so rendering it after the error would fail.
    request.state.user = SimpleNamespace(
        id=user.id, agency_id=user.agency_id, role=user.role, display_name=user.display_name, language=user.language
    )
    request.state.csrf_token = sessions.csrf_token(record)
    if record.locked_for is not None:
        raise DeviceLocked(_("This device was handed to a youth. Enter your password to continue."))
    return WebAuth(user, record)


def api_user(request: Request, db: SessionDep, settings: SettingsDep) -> User:
    """The user of an API request, from its bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    resolved = sessions.resolve(db, token.strip(), "api", settings) if scheme.lower() == "bearer" and token else None
    if resolved is None:
        raise NotAuthenticated("A valid bearer token is required.", keep_writes=True)
    request.state.user = resolved[1]
    return resolved[1]


def same_site(request: Request, *, allow_null: bool = False) -> bool:
    """False when the browser says the request comes from another site (the Origin header).

    `Origin: null` is what a browser sends from a page under `Referrer-Policy: no-referrer` (every page
    here but sign-in), and also from a sandboxed frame or a page of any site that asks for it: only a
    form that also carries this session's CSRF token may come with it (`allow_null`). The sign-in page
    is served with `same-origin` so its form sends the real origin.
    """
    origin = request.headers.get("origin")
    if origin == "null":
        return allow_null
    if not origin:
        return True
    try:
        return urlsplit(origin).netloc == request.headers.get("host")
    except ValueError:  # not a URL (e.g. "http://["): no browser sends that for this site
        return False


async def csrf_checked(request: Request, auth: Annotated[WebAuth, Depends(web_auth)]) -> WebAuth:
    """A form post from this session: its CSRF token matches and it comes from this site."""
    if not same_site(request, allow_null=True):
        raise Forbidden(_("This form was sent from another site."))
    form = await request.form()
    submitted = form.get("csrf_token")
    if not sessions.csrf_valid(auth.session, submitted if isinstance(submitted, str) else None):
        await form.close()  # a refused upload's temporary file is closed here: no route will close it
        raise Forbidden(_("This form has expired. Go back, reload the page and try again."))
    return auth


async def get_registry(request: Request) -> Registry:
    """The instruments loaded at start-up."""
    registry: Registry = request.app.state.registry
    return registry


WebAuthDep = Annotated[WebAuth, Depends(web_auth)]
FormAuthDep = Annotated[WebAuth, Depends(csrf_checked)]
ApiUserDep = Annotated[User, Depends(api_user)]
RegistryDep = Annotated[Registry, Depends(get_registry)]

ADMINS = (Role.system_admin, Role.agency_admin)


async def get_keys() -> KeyRing:
    """The encryption key ring (read once, then cached)."""
    return get_key_ring()


KeysDep = Annotated[KeyRing, Depends(get_keys)]
