"""API: tokens, the signed-in user, users and agencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.accounts import service, sessions
from app.accounts.schemas import (
    AgencyCreate,
    AgencyPublic,
    Token,
    UserCreate,
    UserPreferences,
    UserPublic,
    UserUpdate,
)
from app.db import SessionDep
from app.deps import ADMINS, ApiUserDep, SettingsDep, client_address, require_role
from app.errors import Conflict, InvalidInput, NotFound, ServerBusy, TooManyAttempts, responses
from app.models import Role

router = APIRouter(tags=["accounts"])


@router.post("/auth/token", response_model=Token, responses=responses(TooManyAttempts, ServerBusy))
def issue_token(
    request: Request, db: SessionDep, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: trade an email and password for a bearer token."""
    user = service.authenticate(db, form.username, form.password, client_address(request, settings), settings)
    token = sessions.start(db, user, "api", settings)
    return Token(access_token=token, expires_in=settings.api_token_hours * 3600)


@router.post("/auth/logout", status_code=204, responses=responses())
def revoke_token(request: Request, db: SessionDep, user: ApiUserDep) -> None:
    """End the token used for this request."""
    sessions.end(db, request.headers["authorization"].partition(" ")[2].strip())


@router.get("/me", response_model=UserPublic, responses=responses())
def me(user: ApiUserDep) -> UserPublic:
    """The signed-in user."""
    return UserPublic.model_validate(user)


@router.patch("/me", response_model=UserPublic, responses=responses())
def update_me(data: UserPreferences, db: SessionDep, user: ApiUserDep) -> UserPublic:
    """Change your own preferences: the language the pages are shown to you in."""
    return UserPublic.model_validate(service.set_preferences(db, user, data))


@router.get("/users", response_model=list[UserPublic], responses=responses())
def list_users(db: SessionDep, user: ApiUserDep) -> list[UserPublic]:
    """Users the caller may manage."""
    require_role(user, *ADMINS)
    return [UserPublic.model_validate(u) for u in service.list_users(db, user)]


@router.post(
    "/users", response_model=UserPublic, status_code=201, responses=responses(InvalidInput, NotFound, ServerBusy)
)
def create_user(data: UserCreate, db: SessionDep, user: ApiUserDep) -> UserPublic:
    """Add a user."""
    require_role(user, *ADMINS)
    return UserPublic.model_validate(service.create_user(db, data, user))


@router.patch("/users/{user_id}", response_model=UserPublic, responses=responses(InvalidInput, NotFound, Conflict))
def update_user(user_id: str, data: UserUpdate, db: SessionDep, user: ApiUserDep) -> UserPublic:
    """Change a user's name, role or active state; send the version you last read."""
    require_role(user, *ADMINS)
    return UserPublic.model_validate(service.update_user(db, user, user_id, data))


@router.get("/agencies", response_model=list[AgencyPublic], responses=responses())
def list_agencies(db: SessionDep, user: ApiUserDep) -> list[AgencyPublic]:
    """Agencies the caller may see."""
    return [AgencyPublic.model_validate(a) for a in service.list_agencies(db, user)]


@router.post("/agencies", response_model=AgencyPublic, status_code=201, responses=responses(InvalidInput))
def create_agency(data: AgencyCreate, db: SessionDep, user: ApiUserDep) -> AgencyPublic:
    """Add an agency (system admins)."""
    require_role(user, Role.system_admin)
    return AgencyPublic.model_validate(service.create_agency(db, data, user))
