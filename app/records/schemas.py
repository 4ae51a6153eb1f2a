"""Youth record shapes, shared by pages and API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import IsoDate
from app.versions import Version


class YouthCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: IsoDate
    case_number: str = Field(min_length=1, max_length=64)


class CaseNumberQuery(BaseModel):
    case_number: str = Field(min_length=1, max_length=64)


class YouthSearch(BaseModel):
    """A search of the caller's agency's youth: words of a name, or part of a case number."""

    q: str = Field(max_length=200, description="Every word must match a name part or part of a case number.")


class YouthPublic(BaseModel):
    id: str
    given_name: str
    family_name: str
    birth_date: date
    case_number: str | None
    created_at: datetime
    version: Version


class YouthFound(BaseModel):
    """The youth a search found, by name; `more` when more matched than are listed (search more narrowly)."""

    youth: list[YouthPublic]
    more: bool
