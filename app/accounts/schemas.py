"""Input and output shapes shared by the account pages and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from app.accounts.passwords import MAX_LENGTH, too_long_message
from app.fields import Id
from app.models import AgencyKind, Role
from app.versions import Version


class AgencyCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    kind: AgencyKind
    # A partner outside TellOnce: no accounts; referrals to it go out as a PDF and a FHIR bundle.
    external: bool = False
    contact: str | None = Field(default=None, max_length=500, description="how to reach its intake")


class AgencyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str
    external: bool = False
    contact: str | None = None


def _policy_length(value: object, handler: ValidatorFunctionWrapHandler) -> str:
    """The schema's bound is the policy's, and so is its message."""
    try:
        return str(handler(value))
    except ValidationError as exc:
        if any(error["type"] == "string_too_long" for error in exc.errors()):
            raise PydanticCustomError("password_too_long", too_long_message(), {"max_length": MAX_LENGTH}) from None
        raise


# The password policy's bounds, declared in the OpenAPI too (the policy itself runs in the service).
NewPassword = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH), WrapValidator(_policy_length)]


class UserCreate(BaseModel):
    agency_id: Id
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: NewPassword


class UserUpdate(BaseModel):
    version: Version
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


class UserPreferences(BaseModel):
    """What people choose for themselves: the language they read TellOnce in."""

    language: Literal["en", "es"]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agency_id: str
    email: str
    display_name: str
    role: str
    is_active: bool
    last_login_at: datetime | None
    version: Version
    language: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
