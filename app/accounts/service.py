"""Agencies, users and signing in.

Sign-in limits, so that guessing is slow but a legitimate user is never locked out (OWASP's device
cookie pattern; ASVS 6.1, 6.3). Every attempt is counted before the password is hashed
(app/ratelimit.py); an attempt over any of its limits is refused with 429 and Retry-After and
nothing is hashed. Which limits apply depends on the browser:

- a browser that signed in to this account before (a valid device cookie, app/accounts/devices.py):
  only its own bucket, `login_attempts_per_device` per window for that (account, browser);
- any other browser, and every API token request (no cookie): `login_attempts_per_account_address`
  for that (account, address), plus the looser `login_attempts_per_account` for the account from
  all such browsers and `login_attempts_per_address` for the address across all accounts.

So an attacker hammering an account from elsewhere, or a neighbour spraying passwords behind an
agency's shared address, fills buckets that never apply to staff on browsers they signed in on
before. No lockout is permanent: every window ends on its own. A success starts the (account,
address) and (account, browser) buckets again from zero and gives its slot back in the shared ones;
a refused attempt gives its slot back everywhere, so one address cannot spend more than its own
share of an account's limit. The residual cost, stated in the README: an account attacked from many
addresses is closed for the window to browsers it does not know and to API token requests. Only the
first refusal of each limit's window is audited, naming the account.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app import audit, ratelimit
from app.accounts import devices, passwords, sessions
from app.accounts.schemas import AgencyCreate, UserCreate, UserPreferences, UserUpdate
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, ServerBusy, TooManyAttempts
from app.i18n import _
from app.models import Agency, Role, User, utcnow
from app.settings import Settings


def _login_buckets(
    email: str, address: str, user: User | None, device: str | None, settings: Settings
) -> list[ratelimit.Bucket]:
    if user is not None and device is not None:
        return [ratelimit.Bucket("login-device", f"{user.id}|{device}", settings.login_attempts_per_device, True)]
    return [
        ratelimit.Bucket("login-pair", f"{email}|{address}", settings.login_attempts_per_account_address, True),
        ratelimit.Bucket("login-account", email, settings.login_attempts_per_account),
        ratelimit.Bucket("login-address", address, settings.login_attempts_per_address),
    ]


def authenticate(
    db: Session,
    email: str,
    password: str,
    address: str,
    settings: Settings,
    *,
    keys: KeyRing | None = None,
    device_cookie: str | None = None,
) -> User:
    """The user for these credentials; attempts are counted first (see the module docstring) and audited."""
    email = email.strip().lower()
    user = db.exec(select(User).where(User.email == email)).first()
    device = devices.known_device(keys, device_cookie, user.id) if user and keys and device_cookie else None
    window = timedelta(minutes=settings.login_window_minutes)
    attempt = ratelimit.count_attempt(db, _login_buckets(email, address, user, device, settings), window)
    if attempt.retry_after:
        if attempt.first_refusal:  # once per closed bucket and window: refusals cost no audit row each
            audit.record(
                db,
                "login",
                agency_id=user.agency_id if user else None,
                object_type="user" if user else None,
                object_id=user.id if user else None,  # the account, never the email someone typed
                outcome="rate_limited",
                detail={"limits": list(attempt.refused_by)},
            )
        raise TooManyAttempts(_("Too many sign-in attempts. Wait a few minutes and try again."), attempt.retry_after)
    try:
        matches = passwords.verify_password(user.password_hash if user else None, password)
    except ServerBusy:
        attempt.give_back()  # never evaluated: it does not count against anyone
        audit.record(db, "login", outcome="busy")
        raise
    if not matches or user is None:
        # A known account's failures go to its agency's chain: guessing at one agency never queues another's commits.
        agency = user.agency_id if user else None
        audit.record(db, "login", actor_id=user.id if user else None, agency_id=agency, outcome="failed")
        raise NotAuthenticated(_("That email and password do not match an account."), keep_writes=True)
    attempt.succeeded()
    if not user.is_active:
        audit.record(db, "login", actor_id=user.id, agency_id=user.agency_id, outcome="disabled")
        raise NotAuthenticated(_("That email and password do not match an account."), keep_writes=True)
    upgraded = passwords.upgraded_hash(user.password_hash, password)
    if upgraded is not None:
        user.password_hash = upgraded
    user.last_login_at = utcnow()
    db.add(user)
    audit.record(db, "login", actor_id=user.id, agency_id=user.agency_id)
    return user


def create_agency(db: Session, data: AgencyCreate, actor: User | None) -> Agency:
    """Add an agency (system admins only)."""
    if db.exec(select(Agency).where(Agency.name == data.name)).first():
        raise InvalidInput(_("An agency named '%(name)s' already exists.") % {"name": data.name}, {"field": "name"})
    agency = Agency.model_validate(data)
    db.add(agency)
    db.flush()
    audit.record(
        db,
        "agency.create",
        actor_id=actor.id if actor else None,
        agency_id=agency.id,
        object_type="agency",
        object_id=agency.id,
    )
    return agency


def create_user(db: Session, data: UserCreate, actor: User | None, *, enforce_password_policy: bool = True) -> User:
    """Add a user; agency admins may only add users to their own agency, and not system admins.
    Only the demo's synthetic users skip the password policy (they share the printed demo password)."""
    outside_own_agency = data.agency_id != actor.agency_id or data.role == Role.system_admin if actor else False
    if actor is not None and actor.role != Role.system_admin and outside_own_agency:
        raise NotFound(_("No such agency."))
    agency = db.get(Agency, data.agency_id)
    if agency is None:
        raise InvalidInput(_("No such agency."), {"field": "agency_id"})
    if agency.external:
        raise InvalidInput(
            _("%(agency)s is a partner outside TellOnce: it has no accounts.") % {"agency": agency.name},
            {"field": "agency_id"},
        )
    problem = enforce_password_policy and passwords.password_problem(
        data.password, email=data.email, display_name=data.display_name, agency_name=agency.name
    )
    if problem:
        raise InvalidInput(problem, {"field": "password"})
    email = data.email.strip().lower()
    if db.exec(select(User).where(User.email == email)).first():
        raise InvalidInput(_("An account with that email already exists."), {"field": "email"})
    user = User(
        agency_id=data.agency_id,
        email=email,
        display_name=data.display_name,
        role=data.role,
        password_hash=passwords.hash_password(data.password),
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        "user.create",
        actor_id=actor.id if actor else None,
        agency_id=user.agency_id,
        object_type="user",
        object_id=user.id,
    )
    return user


def get_user_for(db: Session, actor: User, user_id: str) -> User:
    """A user the actor may manage: anyone for system admins; for agency admins, their own agency's
    users other than system admins (an agency admin may not disable or demote a system admin)."""
    user = db.get(User, user_id)
    if user is None or (
        actor.role != Role.system_admin and (user.agency_id != actor.agency_id or user.role == Role.system_admin)
    ):
        raise NotFound(_("No such user."))
    return user


def update_user(db: Session, actor: User, user_id: str, data: UserUpdate) -> User:
    """Change role, name or active state, refusing stale writes; disabling ends every session."""
    user = get_user_for(db, actor, user_id)
    if user.version != data.version:
        raise Conflict(
            _("Someone else changed this user since you opened it. Reload to see their changes."),
            {"current_version": user.version},
        )
    if data.role == Role.system_admin and actor.role != Role.system_admin:
        raise NotFound(_("No such user."))
    if user.id == actor.id and (data.is_active is False or (data.role and data.role != actor.role)):
        raise InvalidInput(_("You cannot disable yourself or change your own role."))
    # explicit nulls mean "no change" (role, name and active state are never empty)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"version"})
    for field, value in changes.items():
        setattr(user, field, value)
    user.version += 1
    db.add(user)
    if data.is_active is False:
        sessions.end_all_for(db, user.id)
    audit.record(
        db,
        "user.update",
        actor_id=actor.id,
        agency_id=user.agency_id,
        object_type="user",
        object_id=user.id,
        detail={"fields": sorted(changes)},
    )
    return user


def set_preferences(db: Session, user: User, data: UserPreferences) -> User:
    """Save a person's own choices. No version check: only they change these, and admins' edits never touch them."""
    user.language = data.language
    db.add(user)
    db.flush()
    return user


def list_users(db: Session, actor: User) -> list[User]:
    """The users the actor may manage."""
    query = select(User).order_by(col(User.display_name))
    if actor.role != Role.system_admin:
        query = query.where(User.agency_id == actor.agency_id)
    return list(db.exec(query))


# Built once: the dashboard names the screeners of its agency on every load (names only, not whole accounts).
_NAMES_AT = select(col(User.id), col(User.display_name)).where(col(User.agency_id) == bindparam("agency_id"))


def names_at_agency(db: Session, agency_id: str) -> dict[str, str]:
    """User id -> display name of every account at the agency (disabled ones too: they started screenings)."""
    return {user_id: name for user_id, name in db.exec(_NAMES_AT, params={"agency_id": agency_id})}


def list_agencies(db: Session, actor: User) -> list[Agency]:
    """Agencies the actor may see: all for system admins, their own otherwise."""
    query = select(Agency).order_by(col(Agency.name))
    if actor.role != Role.system_admin:
        query = query.where(Agency.id == actor.agency_id)
    return list(db.exec(query))
